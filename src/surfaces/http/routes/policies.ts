import type { FastifyInstance } from 'fastify';
import { compilePolicies } from '../../../policy/compile.js';
import { runTestSuites } from '../../../policy/test-suite.js';
import type { ServerContext } from '../context.js';
import { sendProblem } from '../problem.js';
import { GUARD_POLICY_IDS } from '../../../guards/default-policies.js';

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

export function registerPolicyRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { warden } = ctx;

  app.get('/v1/policies', { schema: { summary: 'The policies in force, their versions, the bundle revision and its history', tags: ['policies'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const set = warden.policySet;
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
      history: await warden.store.listPolicyBundles(20),
    };
  });

  app.post('/v1/policies/validate', { schema: { summary: 'Validate a candidate policy set without applying it', tags: ['policies'], body: candidateBody } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'viewer');
    if (!human) return reply;
    const files = (req.body as { files: Array<{ file: string; text: string }> }).files;
    const policies = files.filter((f) => !/\.test\.ya?ml$/.test(f.file));
    const tests = files.filter((f) => /\.test\.ya?ml$/.test(f.file));
    const { policySet, diagnostics } = compilePolicies(policies, { knownTools: warden.pipeline.rt.tools.names(), cautionOnly: GUARD_POLICY_IDS });
    const run = policySet && tests.length ? runTestSuites(policySet, tests) : undefined;
    return {
      valid: policySet !== undefined && diagnostics.every((d) => d.severity !== 'error') && (run?.diagnostics.length ?? 0) === 0,
      bundle: policySet?.bundle,
      diagnostics: [...diagnostics, ...(run?.diagnostics ?? [])],
      tests: run?.results.map((r) => ({ suite: r.suite, name: r.name, passed: r.passed, failures: r.failures })),
    };
  });

  app.post('/v1/policies/reload', { schema: { summary: 'Reload the policy folder (an invalid set is refused; the old one keeps serving)', tags: ['policies'] } }, async (req, reply) => {
    const human = await ctx.requireHuman(req, reply, 'admin');
    if (!human) return reply;
    const result = await ctx.reloadPolicies(`reload requested by ${human.id}`);
    if (!result.ok) return sendProblem(reply, 422, 'the policy folder has errors; the previous policies keep serving', { diagnostics: result.diagnostics }, 'invalid-policies');
    return result;
  });
}
