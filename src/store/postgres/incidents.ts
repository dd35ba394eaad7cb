import type { IncidentRecord, Millis } from '../records.js';
import type { IncidentStore } from '../ports.js';
import { filteredSelect, INCIDENT_COLUMNS, incidentParams, insertOf, list, toIncident, type IncidentRow } from './rows.js';
import type { Sql } from './sql.js';


export class PostgresIncidents implements IncidentStore {
  constructor(private readonly sql: Sql) {}

  async createIncident(incident: IncidentRecord): Promise<void> {
    const { text, values } = insertOf('incidents', INCIDENT_COLUMNS, incidentParams(incident));
    await this.sql.run(text, values);
  }

  async listIncidents(filter: { agentId?: string; since?: Millis; limit?: number }): Promise<IncidentRecord[]> {
    const { text, values } = filteredSelect(
      list(INCIDENT_COLUMNS),
      'incidents',
      [
        ['agent_id', '=', filter.agentId],
        ['time', '>=', filter.since],
      ],
      'ORDER BY time DESC, id DESC',
      filter.limit,
    );
    return (await this.sql.rows<IncidentRow>(text, values)).map(toIncident);
  }
}
