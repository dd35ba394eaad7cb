import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/** The dashboard: built from src/surfaces/ui into dist/ui, served by `warden serve` at / and /ui/. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../../../dist/ui', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // The page loads nothing from elsewhere, and nothing inline (the server's CSP forbids it).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
