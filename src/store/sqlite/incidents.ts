import type { IncidentRecord, Millis } from '../records.js';
import type { IncidentStore } from '../ports.js';
import { incidentParams, toIncident, type IncidentRow } from './rows.js';
import { filteredSelect, type ShapedStatements, type IncidentStatements } from './statements.js';

export class SqliteIncidents implements IncidentStore {
  constructor(
    private readonly s: IncidentStatements,
    private readonly shaped: ShapedStatements,
  ) {}

  async createIncident(incident: IncidentRecord): Promise<void> {
    this.s.insertIncident.run(incidentParams(incident));
  }

  async listIncidents(filter: { agentId?: string; since?: Millis; limit?: number }): Promise<IncidentRecord[]> {
    const { sql, params } = filteredSelect(
      'incidents',
      [
        ['agent_id', '=', filter.agentId],
        ['time', '>=', filter.since],
      ],
      'ORDER BY time DESC, id DESC',
      filter.limit,
    );
    return (this.shaped.get(sql).all(params) as IncidentRow[]).map(toIncident);
  }
}
