/**
 * The benchmark workload: one engine-neutral rule list and request list, and a translation of
 * each into Warden YAML policies, Cedar policies and casbin policy lines.
 *
 * Every rule has the same shape in all three engines:
 *
 *   effect   allow | deny
 *   tool     an exact tool name (tool_0..tool_199) or a trailing-* glob (tool_1[0-9]* or tool_[2-9]*)
 *   role     the agent must hold this role            (or absent: any agent)
 *   tenant   'same': resource tenant == request tenant, 'cross': they differ (or absent: either)
 *   gt, le   args.amount > gt, args.amount <= le     (or absent: unbounded)
 *
 * Combining is the same everywhere: a matching deny wins, otherwise a matching allow, otherwise
 * deny (Warden's default; Cedar's forbid-overrides-permit and default deny; casbin's
 * `some(allow) && !some(deny)` effect).
 */

export const TOOL_COUNT = 200;
export const ROLES = ['support', 'billing', 'finance', 'ops', 'sales', 'admin', 'contractor', 'analyst'];
export const TENANTS = ['acme', 'globex', 'initech', 'umbrella'];
const ALLOW_LIMITS = [100, 500, 1000, 5000];
const ROLE_CAPS = [500, 1000, 2000];
const HARD_CAPS = [5000, 8000];

/** Small, fast, seeded PRNG (mulberry32) so every run uses the same workload. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (rand, list) => list[Math.floor(rand() * list.length)];

/** A glob covering 11 tools: tool_1D* (tool_1D, tool_1D0..tool_1D9) or tool_D* for D in 2..9. */
function randomGlob(rand, toolCount) {
  if (toolCount !== TOOL_COUNT) return `tool_${Math.floor(rand() * toolCount)}_*`; // names no tool, so never a candidate
  return rand() < 0.5 ? `tool_1${Math.floor(rand() * 10)}*` : `tool_${2 + Math.floor(rand() * 8)}*`;
}

function allowCondition(rand) {
  return { role: pick(rand, ROLES), tenant: 'same', le: pick(rand, ALLOW_LIMITS) };
}

function denyCondition(rand) {
  const r = rand();
  // A role with a spending cap ("contractors may not move more than 1000").
  if (r < 0.4) return { role: pick(rand, ROLES), gt: pick(rand, ROLE_CAPS) };
  // Cross-tenant access.
  if (r < 0.7) return { tenant: 'cross' };
  // A hard cap for everyone.
  return { gt: pick(rand, HARD_CAPS) };
}

/**
 * `count` rules over 200 tools: ~80% allow (role + same tenant + amount cap), ~15% deny (role cap,
 * cross tenant, or hard cap), ~5% glob rules (70% allow / 30% deny). Grouped 10 per policy.
 */
export function generateRules(count, seed = 42, toolCount = TOOL_COUNT) {
  const rand = rng(seed ^ count);
  const rules = [];
  for (let i = 0; i < count; i++) {
    const r = rand();
    let rule;
    if (r < 0.05) {
      const effect = rand() < 0.7 ? 'allow' : 'deny';
      rule = { effect, tool: randomGlob(rand, toolCount), ...(effect === 'allow' ? allowCondition(rand) : denyCondition(rand)) };
    } else if (r < 0.2) {
      rule = { effect: 'deny', tool: `tool_${Math.floor(rand() * toolCount)}`, ...denyCondition(rand) };
    } else {
      rule = { effect: 'allow', tool: `tool_${Math.floor(rand() * toolCount)}`, ...allowCondition(rand) };
    }
    rule.policy = `tools-${String(Math.floor(i / 10)).padStart(4, '0')}`;
    rule.id = `r${i % 10}`;
    rules.push(rule);
  }
  return rules;
}

/** Random requests, tools uniform over all 200; ~85% same-tenant resources. */
export function generateRequests(count, seed = 7, toolCount = TOOL_COUNT) {
  const rand = rng(seed);
  const requests = [];
  for (let i = 0; i < count; i++) {
    const tenant = pick(rand, TENANTS);
    const roles = [pick(rand, ROLES)];
    if (rand() < 0.5) {
      const second = pick(rand, ROLES);
      if (second !== roles[0]) roles.push(second);
    }
    const u = rand();
    const amount = u < 0.7 ? Math.floor(rand() * 1000) : u < 0.95 ? 1000 + Math.floor(rand() * 5000) : 6000 + Math.floor(rand() * 14000);
    requests.push({
      n: i,
      agent: `agent-${Math.floor(rand() * 50)}`,
      roles,
      tenant,
      tool: `tool_${Math.floor(rand() * toolCount)}`,
      resourceTenant: rand() < 0.85 ? tenant : pick(rand, TENANTS.filter((t) => t !== tenant)),
      amount,
    });
  }
  return requests;
}

/* ------------------------------------------------------------------ Warden */

function celCondition(rule) {
  const parts = [];
  if (rule.role !== undefined) parts.push(`'${rule.role}' in agent.roles`);
  if (rule.tenant === 'same') parts.push('resource.tenant == tenant');
  if (rule.tenant === 'cross') parts.push('resource.tenant != tenant');
  if (rule.gt !== undefined) parts.push(`args.amount > ${rule.gt}`);
  if (rule.le !== undefined) parts.push(`args.amount <= ${rule.le}`);
  return parts.join(' && ');
}

/** One YAML source per policy (10 rules each). */
export function toWardenSources(rules) {
  const byPolicy = new Map();
  for (const rule of rules) {
    const list = byPolicy.get(rule.policy) ?? [];
    list.push(rule);
    byPolicy.set(rule.policy, list);
  }
  return [...byPolicy].map(([policy, list]) => ({
    file: `${policy}.yaml`,
    text: [
      `id: ${policy}`,
      'version: 1',
      'rules:',
      ...list.flatMap((rule) => [
        `  - id: ${rule.id}`,
        `    effect: ${rule.effect}`,
        '    actions: [tool.call]',
        `    tools: ["${rule.tool}"]`,
        `    when: ${JSON.stringify(celCondition(rule))}`,
      ]),
      '',
    ].join('\n'),
  }));
}

export function toWardenRequest(req) {
  return {
    requestId: `req-${req.n}`,
    tenant: req.tenant,
    actor: { agent: { id: req.agent, roles: req.roles, trust: 'medium' } },
    action: 'tool.call',
    resource: { type: 'tool', id: req.tool, tenant: req.resourceTenant },
    args: { amount: req.amount },
  };
}

/* ------------------------------------------------------------------ Cedar */

function cedarCondition(rule) {
  const parts = [];
  if (rule.tool.endsWith('*')) parts.push(`resource.name like "${rule.tool}"`);
  if (rule.role !== undefined) parts.push(`principal.roles.contains("${rule.role}")`);
  if (rule.tenant === 'same') parts.push('resource.tenant == context.tenant');
  if (rule.tenant === 'cross') parts.push('resource.tenant != context.tenant');
  if (rule.gt !== undefined) parts.push(`context.amount > ${rule.gt}`);
  if (rule.le !== undefined) parts.push(`context.amount <= ${rule.le}`);
  return parts.join(' && ');
}

/**
 * `{policyId: text}`: exact tools go into the policy scope (`resource == Tool::"tool_17"`), globs
 * become `resource.name like "tool_1*"` (Cedar has no wildcard in the scope).
 */
export function toCedarPolicies(rules) {
  const out = {};
  for (const rule of rules) {
    const keyword = rule.effect === 'allow' ? 'permit' : 'forbid';
    const resource = rule.tool.endsWith('*') ? 'resource is Tool' : `resource == Tool::"${rule.tool}"`;
    out[`${rule.policy}/${rule.id}`] =
      `${keyword} (principal, action == Action::"tool.call", ${resource}) when { ${cedarCondition(rule)} };`;
  }
  return out;
}

/** The stateful call minus the policy set id; entities carry the attributes the policies read. */
export function toCedarCall(req, policySetId) {
  return {
    principal: { type: 'Agent', id: req.agent },
    action: { type: 'Action', id: 'tool.call' },
    resource: { type: 'Tool', id: req.tool },
    context: { tenant: req.tenant, amount: req.amount },
    entities: [
      { uid: { type: 'Agent', id: req.agent }, attrs: { roles: req.roles }, parents: [] },
      { uid: { type: 'Tool', id: req.tool }, attrs: { name: req.tool, tenant: req.resourceTenant }, parents: [] },
    ],
    preparsedPolicySetId: policySetId,
  };
}

/* ------------------------------------------------------------------ casbin */

/**
 * ABAC model: the request carries objects (sub.roles, obj.id / obj.tenant, ctx.tenant /
 * ctx.amount); each policy line is one rule. `*` in p.role means any role, 'any' in p.tenant
 * means no tenant condition, and unbounded amounts use -1 / 1e15. keyMatch gives the same
 * trailing-* matching as Warden globs and Cedar `like`.
 */
export const CASBIN_MODEL = `
[request_definition]
r = sub, obj, act, ctx

[policy_definition]
p = id, role, obj, act, tenant, gt, le, eft

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.act == p.act && keyMatch(r.obj.id, p.obj) && hasRole(r.sub.roles, p.role) && (p.tenant == "any" || (p.tenant == "same") == (r.obj.tenant == r.ctx.tenant)) && r.ctx.amount > p.gt && r.ctx.amount <= p.le
`;

/** Custom matcher function registered with the enforcer. */
export const casbinHasRole = (roles, role) => role === '*' || roles.includes(role);

export function toCasbinPolicyText(rules) {
  return rules
    .map((rule) =>
      [
        'p',
        `${rule.policy}/${rule.id}`,
        rule.role ?? '*',
        rule.tool,
        'tool.call',
        rule.tenant ?? 'any',
        rule.gt ?? -1,
        rule.le ?? 1e15,
        rule.effect,
      ].join(', '),
    )
    .join('\n');
}

/** Arguments to enforce(sub, obj, act, ctx). */
export function toCasbinArgs(req) {
  return [
    { id: req.agent, roles: req.roles },
    { id: req.tool, tenant: req.resourceTenant },
    'tool.call',
    { tenant: req.tenant, amount: req.amount },
  ];
}

/** The decision the rules should give, computed directly: the reference for the agreement check. */
export function referenceEffect(rules, req) {
  let allow = false;
  for (const rule of rules) {
    const toolOk = rule.tool.endsWith('*') ? req.tool.startsWith(rule.tool.slice(0, -1)) : rule.tool === req.tool;
    if (!toolOk) continue;
    if (rule.role !== undefined && !req.roles.includes(rule.role)) continue;
    if (rule.tenant === 'same' && req.resourceTenant !== req.tenant) continue;
    if (rule.tenant === 'cross' && req.resourceTenant === req.tenant) continue;
    if (rule.gt !== undefined && !(req.amount > rule.gt)) continue;
    if (rule.le !== undefined && !(req.amount <= rule.le)) continue;
    if (rule.effect === 'deny') return 'deny';
    allow = true;
  }
  return allow ? 'allow' : 'deny';
}
