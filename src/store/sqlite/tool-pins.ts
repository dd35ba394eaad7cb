import type { ToolPin } from '../records.js';
import type { ToolPinStore } from '../ports.js';
import { toolPinParams, toToolPin } from './rows.js';
import type { ToolPinStatements } from './statements.js';

export class SqliteToolPins implements ToolPinStore {
  constructor(private readonly s: ToolPinStatements) {}

  async getToolPin(tool: string): Promise<ToolPin | undefined> {
    const row = this.s.getToolPin.get(tool);
    return row ? toToolPin(row) : undefined;
  }

  async putToolPin(pin: ToolPin): Promise<void> {
    this.s.putToolPin.run(toolPinParams(pin));
  }

  async listToolPins(): Promise<ToolPin[]> {
    return this.s.listToolPins.all().map(toToolPin);
  }
}
