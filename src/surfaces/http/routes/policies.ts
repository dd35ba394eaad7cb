import type { FastifyInstance } from 'fastify';
import type { Warden } from '../../../services/warden.js';
import { formatDiagnostic } from '../../../lib/diagnostic.js';
import { principalName } from '../../../auth/principal.js';
import { sendProblem } from '../problem.js';
import { principalOf } from '../authenticate.js';
import { MAX_REPLAY_RECORDS, type ReplayRequest } from '../../../services/policy-replay.js';

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

/** The candidate (as for validate) and which records to replay; at most 50,000, newest first. */
const replayBody = {
  type: 'object',
  required: ['files'],
  additionalProperties: false,
  properties: {
    files: candidateBody.properties.files,
    since: { type: 'string', description: 'ISO 8601, or a duration back from now (default 24h)' },
    until: { type: 'string' },
    tenant: { type: 'string' },
    agent: { type: 'string' },
    tool: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_REPLAY_RECORDS, description: 'records read at most, newest first (default 10,000)' },
    samples: { type: 'integer', minimum: 0, maximum: 20 },
    overlay: { type: 'boolean', description: 'the files replace the policies of the same id in the folder in force (or are added), instead of being the whole candidate' },
  },
} as const;

export function registerPolicyRoutes(app: FastifyInstance, warden: Warden): void {
  const policies = warden.policies;

  app.get('/v1/policies', { config: { auth: 'viewer' }, schema: { summary: 'The policies in force, their versions, the bundle revision and its history', tags: ['policies'] } }, async (req) => {
    const set = policies.current;
    const path = policies.filePathFor(principalOf(req));
    return {
      bundle: set.bundle,
      policies: set.policies.map((p) => ({
        id: p.id,
        version: p.version,
        owner: p.owner,
        description: p.description,
        mode: p.mode,
        file: path(p.file),
        effective: { from: p.from === undefined ? undefined : new Date(p.from).toISOString(), until: p.until === undefined ? undefined : new Date(p.until).toISOString() },
        rules: set.rules.filter((r) => r.policy === p).map((r) => ({ id: r.id, effect: r.effect, actions: r.actions, tools: r.tools, when: r.whenSource })),
      })),
      // Policy data (data/ in the folder): which names conditions can read, from which file.
      data: set.data.files.map((f) => ({ ...f, file: path(f.file) })),
      // Problems of the set in force that did not stop it loading (a reload with them is refused).
      diagnostics: policies.warnings.map((d) => ({ ...d, file: path(d.file) })).map((d) => ({ ...d, text: formatDiagnostic(d) })),
      history: (await policies.history(20)).map((h) => ({ ...h, policies: h.policies.map((p) => ({ ...p, file: path(p.file) })) })),
      ...(warden.cluster ? { replicas: await warden.cluster.replicas().catch(() => []) } : {}),
    };
  });

  app.post('/v1/policies/validate', { config: { auth: 'viewer' }, schema: { summary: 'Validate a candidate policy set without applying it', tags: ['policies'], body: candidateBody } }, (req) =>
    policies.validate((req.body as { files: Array<{ file: string; text: string }> }).files),
  );

  app.post(
    '/v1/policies/replay',
    {
      config: { auth: 'admin' },
      schema: {
        summary: 'Decide the recent logged requests again with a candidate policy set and the one in force; report what would change',
        tags: ['policies'],
        body: replayBody,
      },
    },
    (req) => warden.replay.replay(principalOf(req), req.body as ReplayRequest),
  );

  app.post('/v1/policies/reload', { config: { auth: 'admin' }, schema: { summary: 'Reload the policy folder (an invalid set is refused; the old one keeps serving)', tags: ['policies'] } }, async (req, reply) => {
    const human = req.principal!;
    const result = await policies.reload(`reload requested by ${principalName(human)}`);
    if (!result.ok) return sendProblem(reply, 422, 'the policy folder has errors; the previous policies keep serving', { diagnostics: result.diagnostics }, 'invalid-policies');
    return result;
  });
}
