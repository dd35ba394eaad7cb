import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/** What serves one MCP session on a transport: an McpServer or a low-level Server. */
export interface SessionServer {
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
}
