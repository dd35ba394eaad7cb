import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';

export function registerComplianceRoutes(app: FastifyInstance, warden: Warden): void {
  app.get('/v1/compliance', { config: { auth: 'viewer' }, schema: { summary: 'Compliance status: totals, denial rate, offenders, incidents, policy bundle', tags: ['compliance'] } }, async (req) => {
    const answer = await warden.compliance.forPrincipal(principalOf(req));
    return answer.kind === 'full' ? answer.status : answer.view;
  });
}
