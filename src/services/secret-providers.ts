import { resolveFrom, type WardenConfig } from '../config/load-config.js';
import { EnvSecretProvider, FileSecretProvider, type SecretProvider } from '../upstream/secrets.js';

/** The secret providers warden.yaml's `secrets` names, file folders resolved from the config's folder. */
export function secretProviders(config: WardenConfig): SecretProvider[] {
  return config.secrets.providers.map((p) => (p.type === 'env' ? new EnvSecretProvider(p.prefix) : new FileSecretProvider(resolveFrom(config.baseDir, p.dir))));
}
