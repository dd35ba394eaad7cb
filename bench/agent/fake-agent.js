/**
 * FAKE AGENT (no LLM): an obedient stand-in for a compromised model. It replays a task's trace
 * through `POST /v1/tools/call` of a real `warden serve`, and whenever a tool result it was
 * given contains an injected instruction it EXECUTES that instruction — it never refuses, never
 * notices. That is the worst case for Warden: every attack that Warden lets through succeeds.
 *
 * A trace: `steps`, each `{tool, args}`, called in order within one session; a step with
 * `obeys: '<marker>'` is only taken when an earlier result the agent READ (status executed)
 * contained the marker text — the agent found the instruction and follows it. A step may take
 * its args from earlier results (`args` as a function of the results so far).
 */
import { randomUUID } from 'node:crypto';

export function fakeAgent({ gatewayUrl, apiKey, agentId, tenant }) {
  async function call(tool, args, sessionId, userPrompt) {
    const res = await fetch(`${gatewayUrl}/v1/tools/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ agent_id: agentId, request_id: randomUUID(), tool, arguments: args, session_id: sessionId, tenant, context: { userPrompt } }),
    });
    const body = await res.json();
    return { http: res.status, status: body.status ?? 'error', result: body.result, policy: body.decision?.policy, rule: body.decision?.rule, reason: body.decision?.reason ?? body.detail };
  }

  /** Runs one trace; returns what happened to each step. */
  async function run(task) {
    const sessionId = `bench-${task.id}-${randomUUID().slice(0, 8)}`;
    const read = [];
    const results = [];
    const steps = [];
    for (const step of task.steps) {
      if (step.obeys && !read.some((text) => text.includes(step.obeys))) {
        steps.push({ tool: step.tool, status: 'not-reached', harmful: !!step.harmful });
        continue;
      }
      const args = typeof step.args === 'function' ? step.args(results) : step.args;
      const r = await call(step.tool, args, sessionId, task.userPrompt);
      if (r.status === 'executed') {
        const text = typeof r.result === 'string' ? r.result : JSON.stringify(r.result ?? null);
        read.push(text);
        results.push(r.result);
      } else results.push(undefined);
      steps.push({ tool: step.tool, status: r.status, harmful: !!step.harmful, policy: r.policy, rule: r.rule });
    }
    return { task, steps };
  }

  return { run };
}
