export interface ToolServerCall {
  tool: string;
  args: Record<string, unknown>;
  authorization: string | null;
  requestId: string | null;
  idempotencyKey: string | null;
  at: string;
}

export interface ToolServer {
  url: string;
  calls: ToolServerCall[];
  close(): Promise<void>;
}

export function startToolServer(options?: { port?: number; host?: string; token?: string }): Promise<ToolServer>;
