import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import * as w from './workload.js';
const reqs = w.generateRequests(2000);
for (const size of [10, 100, 1000]) {
  const rules = w.generateRules(size);
  const pol = w.toCedarPolicies(rules);
  cedar.preparsePolicySet('rec'+size, { staticPolicies: pol });
  cedar.preparsePolicySet('txt'+size, { staticPolicies: Object.values(pol).join('\n') });
  const t = (label, f) => { for (let i=0;i<300;i++) f(reqs[i%reqs.length]); const t0=process.hrtime.bigint(); const n=1000; for (let i=0;i<n;i++) f(reqs[i%reqs.length]); console.log(size, label, (Number(process.hrtime.bigint()-t0)/n/1000).toFixed(1),'us'); };
  t('stateful record', (r) => cedar.statefulIsAuthorized(w.toCedarCall(r, 'rec'+size)));
  t('stateful text', (r) => cedar.statefulIsAuthorized(w.toCedarCall(r, 'txt'+size)));
  t('isAuthorized (parse every call)', (r) => { const c = w.toCedarCall(r); delete c.preparsedPolicySetId; c.policies = { staticPolicies: pol }; return cedar.isAuthorized(c); });
}
