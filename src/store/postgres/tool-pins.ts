import type { ToolPin } from '../records.js';
import type { ToolPinStore } from '../ports.js';
import { insertOf, list, TOOL_PIN_COLUMNS, toolPinParams, toToolPin, upsertOn, type ToolPinRow } from './rows.js';
import type { Sql } from './sql.js';

const TOOL_PIN = list(TOOL_PIN_COLUMNS);

export class PostgresToolPins implements ToolPinStore {
  constructor(private readonly sql: Sql) {}

  async getToolPin(tool: string): Promise<ToolPin | undefined> {
    const [row] = await this.sql.rows<ToolPinRow>(`SELECT ${TOOL_PIN} FROM tool_pins WHERE tool = $1`, [tool]);
    return row ? toToolPin(row) : undefined;
  }

  async putToolPin(pin: ToolPin): Promise<void> {
    const { text, values } = insertOf('tool_pins', TOOL_PIN_COLUMNS, toolPinParams(pin), upsertOn('tool', TOOL_PIN_COLUMNS));
    await this.sql.run(text, values);
  }

  async listToolPins(): Promise<ToolPin[]> {
    return (await this.sql.rows<ToolPinRow>(`SELECT ${TOOL_PIN} FROM tool_pins ORDER BY tool`)).map(toToolPin);
  }
}
