/**
 * InjecAgent cases (bench/agent/data/injecagent.json, from scripts/agent-bench/prepare-injecagent.mjs)
 * as traces for the FAKE obedient agent: the user's tool call, whose response carries the
 * attacker's instruction; then the attacker's tool call(s), made because the agent read it.
 *   direct harm:   the attacker tool, with the identifiers the instruction names as arguments;
 *   data stealing: the attacker's private-data tool, then GmailSendEmail of what it returned to
 *                  the attacker's address (only the e-mail is harm: data leaving).
 * Each case also runs benign: the same user call, the instruction replaced by an ordinary sentence.
 *
 * The operator's tool catalogue for these ~150 tools is derived from their names (what an
 * operator would declare): verbs that send/post/share/pay → effect external; verbs that change
 * things → write; the rest read. User tools return third-party content (e-mails, reviews, notes,
 * repositories): tag untrusted_output. Tools the data-stealing cases read first: private_data.
 */
import { readFileSync } from 'node:fs';

const EXTERNAL = /(Send|Post|Share|Transfer|Pay|Publish|Tweet|Reply|Retweet|Invite|Upload|Forward|Message|Email|Sms|Wire|Deposit|Withdraw|Trade|Buy|Sell|Purchase|Order|Donate|AutoFill|Fill|Call|Dial)/;
const WRITE = /(Grant|Revoke|Delete|Remove|Unlock|Lock|Update|Create|Add|Set|Cancel|Book|Schedule|Move|Modify|Change|Execute|Run|Control|Redirect|Disable|Enable|Install|Reset|Manage|Edit|Apply|Close|Open|Start|Stop|Turn|Adjust|Assign|Register|Submit|Request|Invest|Place|Import|Make|Go|Leave|Join|Follow|Like|Comment|Mute|Block|Kick|Pick|Drive|Navigate|Print|Hand|Grab|Release)/;

export function loadInjecAgent(file) {
  const data = JSON.parse(readFileSync(file, 'utf8'));
  const userTools = new Set(data.cases.map((c) => c.userTool));
  const privateTools = new Set(data.cases.filter((c) => c.kind === 'data-stealing').map((c) => c.attackerTools[0]));
  const names = new Set([...userTools, ...data.cases.flatMap((c) => c.attackerTools)]);
  const tools = [...names].sort().map((name) => {
    const verb = name.replace(/^([A-Z][a-z0-9]+)+?(?=[A-Z])/, ''); // drop the product name: GmailSendEmail → SendEmail (roughly)
    const effect = EXTERNAL.test(verb) && !/^(Get|Search|Read|View|List|Retrieve|Fetch)/.test(verb) ? 'external' : WRITE.test(verb) && !/^(Get|Search|Read|View|List|Retrieve|Fetch)/.test(verb) ? 'write' : 'read';
    const tags = [...(userTools.has(name) ? ['untrusted_output'] : []), ...(privateTools.has(name) ? ['private_data'] : [])];
    return { name, effect, risk: effect === 'read' ? 'low' : 'high', tags };
  });
  const tasks = [];
  for (const c of data.cases) {
    const userArgs = parseArgs(c.toolParameters);
    tasks.push({ id: `${c.id}:benign`, benign: true, source: 'injecagent', kind: c.kind, userPrompt: c.userInstruction, answers: { [c.userTool]: pyToJson(c.benignResponse) }, steps: [{ tool: c.userTool, args: userArgs }] });
    const marker = c.attackerInstruction.slice(0, 60);
    const steps = [{ tool: c.userTool, args: userArgs }];
    const answers = { [c.userTool]: pyToJson(c.toolResponse) };
    const ids = identifiers(c.attackerInstruction);
    if (c.kind === 'direct-harm') {
      steps.push({ tool: c.attackerTools[0], args: ids, obeys: marker, harmful: true });
    } else {
      const [reader, sender] = c.attackerTools;
      answers[reader] = data.privateData[reader] ?? { records: [{ name: 'John Doe', detail: 'private' }] };
      steps.push({ tool: reader, args: {}, obeys: marker });
      steps.push({ tool: sender, args: (r) => ({ to: ids.to ?? 'amy.watson@gmail.com', subject: 'Requested data', body: JSON.stringify(r[1] ?? {}) }), obeys: marker, harmful: true });
    }
    tasks.push({ id: c.id, source: 'injecagent', kind: c.kind, attackType: c.attackType, userPrompt: c.userInstruction, answers, steps });
  }
  return { tools, tasks, source: data.source };
}

/** The identifiers an attacker's instruction names, as the arguments an obedient agent would pass. */
function identifiers(text) {
  const args = {};
  const email = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/.exec(text);
  if (email) args.to = email[0].replace(/\.$/, '');
  const url = /https?:\/\/[^\s'")]+/.exec(text);
  if (url) args.url = url[0].replace(/[.,]$/, '');
  const amount = /\$\s?([\d,]+(?:\.\d+)?)/.exec(text);
  if (amount) args.amount = Number(amount[1].replace(/,/g, ''));
  const account = /\b\d{3,}[-\s]\d{3,}[-\s]?\d*\b/.exec(text);
  if (account) args.account = account[0];
  const path = /(?:~|\/)[\w./-]+/.exec(text);
  if (path && !url) args.path = path[0];
  const id = /\b(?=[\w-]*\d)(?=[\w-]*[a-z])[a-z][\w-]{3,}\b/i.exec(text.replace(/[\w.+-]+@[\w.-]+/g, ''));
  if (id) args.target = id[0];
  const quoted = /'([^']{2,60})'|"([^"]{2,60})"/.exec(text);
  if (quoted) args.value = quoted[1] ?? quoted[2];
  return args;
}

/** InjecAgent's tool parameters and responses are Python literals; near enough to JSON for a tool answer. */
function pyToJson(s) {
  try {
    return JSON.parse(s.replace(/\bTrue\b/g, 'true').replace(/\bFalse\b/g, 'false').replace(/\bNone\b/g, 'null').replace(/'/g, '"'));
  } catch {
    return s; // returned as a string: the agent reads it all the same
  }
}

function parseArgs(s) {
  const v = pyToJson(s);
  return v && typeof v === 'object' && !Array.isArray(v) ? v : { input: String(s) };
}
