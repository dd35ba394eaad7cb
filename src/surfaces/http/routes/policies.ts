import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';
import { principalName } from '../../../auth/principal.js';
import { sendProblem } from '../problem.js';

const candidateBody = {
  type: 'object',
  required: ['files'],
  additionalProperties: false,
  properties: {
    files: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: { type: 'object', required: ['file', 'text'], additionalProperties: false, properties: { file: { type: 'string', minLength: 1 }, text: { type: 'string', maxLength: 1_048_576 } } },
    },
  },
} as const;

export function registerPolicyRoutes(app: FastifyInstance, warden: Warden): void {
  const policies = warden.policies;

  app.get('/v1/policies', { config: { auth: 'viewer' }, schema: { summary: 'The policies in force, their versions, the bundle revision and its history', tags: ['policies'] } }, async () => {
    const set = policies.current;
    return {
      bundle: set.bundle,
      policies: set.policies.map((p) => ({
        id: p.id,
        version: p.version,
        owner: p.owner,
        description: p.description,
        mode: p.mode,
        file: p.file,
        effective: { from: p.from === undefined ? undefined : new Date(p.from).toISOString(), until: p.until === undefined ? undefined : new Date(p.until).toISOString() },
        rules: set.rules.filter((r) => r.policy === p).map((r) => ({ id: r.id, effect: r.effect, actions: r.actions, tools: r.tools, when: r.whenSource })),
      })),
      history: await policies.history(20),
      ...(warden.cluster ? { replicas: await warden.cluster.replicas().catch(() => []) } : {}),
    };
  });

  app.post('/v1/policies/validate', { config: { auth: 'viewer' }, schema: { summary: 'Validate a candidate policy set without applying it', tags: ['policies'], body: candidateBody } }, (req) =>
    policies.validate((req.body as { files: Array<{ file: string; text: string }> }).files),
  );

  app.post('/v1/policies/reload', { config: { auth: 'admin' }, schema: { summary: 'Reload the policy folder (an invalid set is refused; the old one keeps serving)', tags: ['policies'] } }, async (req, reply) => {
    const human = req.principal!;
    const result = await policies.reload(`reload requested by ${principalName(human)}`);
    if (!result.ok) return sendProblem(reply, 422, 'the policy folder has errors; the previous policies keep serving', { diagnostics: result.diagnostics }, 'invalid-policies');
    return result;
  });
}
