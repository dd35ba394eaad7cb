#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { operatorOptions } from './operator-options.js';
import { EXIT, UsageError } from './usage-error.js';

// Each command's module is loaded when the command runs: `warden check` need not load the
// gateway, the MCP SDK and the store (a CLI start costs what its command uses).
const program = new Command('warden')
  .description('Warden: a policy enforcement gateway for AI agents')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError();

program
  .command('check')
  .description('validate every policy in a folder (or one policy file); problems are printed as file:line:column')
  .argument('<dir>', 'policy folder (searched recursively for *.yaml), or a single policy file')
  .option('--tools <file>', 'JSON list of tool names or {name, input_schema, upstream} entries; report tool patterns that match none')
  .option('--config <file>', 'use the gateway config\'s tool registry (its tools, and the MCP tools its database has seen) instead of --tools')
  .option('--analyze', 'also report rules that can never fire, unknown or mistyped arguments, untested policies, obligations that never apply')
  .option('--json', 'print diagnostics and findings as JSON')
  .option('--no-default-guards', 'leave out the built-in guard policies (as guards.default_policies: false does)')
  .action(async (dir: string, options) => setExit(await (await import('./commands/check.js')).checkCommand(dir, options)));

program
  .command('eval')
  .description('decide one request against a policy folder and print the decision')
  .requiredOption('--policies <dir>', 'policy folder')
  .requiredOption('--request <file>', 'ActionRequest as JSON, or - for standard input')
  .option('--explain', 'list every candidate rule, matched or not, and why')
  .option('--json', 'print the Decision as JSON')
  .option('--now <time>', 'decide as of this ISO 8601 instant (default: now)')
  .option('--no-default-guards', 'leave out the built-in guard policies')
  .action(async (options) => setExit(await (await import('./commands/eval.js')).evalCommand(options)));

program
  .command('test')
  .description('run every *.test.yaml suite in a policy folder')
  .argument('<dir>', 'policy folder')
  .option('--format <format>', 'text or junit', 'text')
  .option('--verbose', 'print each decision')
  .option('--coverage', 'list the rules no case exercises (a rule is exercised when a case\'s decision matched it), per policy and in total')
  .option('--min <percent>', 'fail (exit 1) when rule coverage is below this percentage (implies --coverage)')
  .option('--json', 'print the results (and coverage) as JSON')
  .option('--no-default-guards', 'leave out the built-in guard policies')
  .action(async (dir: string, options) => setExit(await (await import('./commands/test.js')).testCommand(dir, options)));

program
  .command('demo')
  .description('play the example scenarios and show each decision and its reason')
  .action(async () => setExit(await (await import('./commands/demo.js')).demoCommand()));

const CONFIG_HELP = 'warden.yaml to read (default ./warden.yaml)';
const DB_HELP = 'SQLite database file to read instead of the config\'s storage';

program
  .command('serve')
  .description('run the gateway: HTTP API, governance MCP endpoint, decision log')
  .option('--config <file>', 'the configuration', './warden.yaml')
  .option('--port <port>', 'listen on this port (default: server.port of the config)')
  .option('--host <host>', 'listen on this address (default: server.host of the config)')
  .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug', 'info')
  .option('--workers <n>', 'processes serving the port, or auto (one per core); needs Postgres + Redis storage')
  .action(async (options) => setExit(await (await import('./commands/serve.js')).serveCommand(options)));

program
  .command('init')
  .description('write a starter that runs as is: config, policy and tests, an example tool, an agent key and an admin token')
  .argument('[dir]', 'an empty folder to write it in', '.')
  .option('--force', 'write into a folder that is not empty (the starter\'s files are replaced)')
  .option('--port <port>', 'where warden serve will listen', '8080')
  .option('--tool-port <port>', 'where the example tool server will listen', '9000')
  .action(async (dir: string, options) => setExit(await (await import('./commands/init.js')).initCommand(dir, options)));

program
  .command('migrate')
  .description('apply pending schema migrations to the configured Postgres storage (SQLite migrates when opened)')
  .option('--config <file>', CONFIG_HELP)
  .action(async (options) => setExit(await (await import('./commands/migrate.js')).migrateCommand(options)));

const mcp = program
  .command('mcp')
  .description('the MCP gateway over stdio (every upstream\'s tools, governed), for clients that launch their servers; `mcp governance` for the governance tools')
  .option('--config <file>', 'the configuration', './warden.yaml')
  .option('--agent <id>', 'the agent this session acts as (default: mcp.stdio_agent of the config)')
  .option('--user <id>', 'the user it acts for (default: mcp.stdio_user)')
  .action(async (options: { config: string; agent?: string; user?: string }) => setExit(await (await import('../mcp/gateway-stdio.js')).runGatewayStdio(options.config, { agent: options.agent, user: options.user })));
// `mcp governance` takes the options of `mcp` (--config, --agent): commander gives an option the
// parent declares to the parent wherever it stands on the command line, so declaring them here as
// well would leave them always unset. Both `mcp governance --config f --agent a` and
// `mcp --config f governance --agent a` work; --agent is required here (no stdio_agent default).
mcp
  .command('governance')
  .description('the governance tools (validate_action, report_incident, …) for one agent, over stdio; needs --config <file> (default ./warden.yaml) and --agent <id>, before or after "governance"')
  .configureHelp({ showGlobalOptions: true })
  .action(async (_options, command: Command) => {
    const options = command.optsWithGlobals<{ config: string; agent?: string }>();
    if (!options.agent) throw new UsageError("required option '--agent <id>' not specified (the agent this stdio session speaks for)");
    setExit(await (await import('../mcp/governance-stdio.js')).runGovernanceStdio(options.config, options.agent));
  });

program
  .command('replay')
  .description('decide the logged requests again with a candidate policy folder and the current one; report what would change (exit 0: no --fail-on transition; 1: one occurred; 2: could not run)')
  .requiredOption('--policies <dir>', 'the candidate policy folder')
  .option('--current <dir>', "the policies in force (default: the config's policy folder)")
  .option('--config <file>', CONFIG_HELP)
  .option('--db <path>', DB_HELP)
  .option('--since <time>', 'records at or after this ISO 8601 time, or this long ago (24h, 30m, 7d)')
  .option('--from <time>', 'records at or after this time (with --to)')
  .option('--to <time>', 'records at or before this time')
  .option('--tenant <tenant>', 'only this tenant')
  .option('--agent <id>', 'only this agent')
  .option('--tool <name>', 'only this tool')
  .option('--limit <n>', 'read at most this many records (oldest first)')
  .option('--samples <n>', 'example records per transition', '5')
  .option('--fail-on <transitions>', 'exit 1 when one occurs: deny→allow,allow→require_approval (-> works too; * for any effect; undetermined)')
  .option('--dry-runs', 'decide recorded dry runs too (skipped by default)')
  .option('--workers <n>', 'worker threads sharing the window by seq range (default 1; worth it on idle cores)')
  .option('--progress', 'report records/s on standard error (default: when it is a terminal)')
  .option('--json', 'print the report as JSON')
  .option('--no-default-guards', 'leave out the built-in guard policies on both sides')
  .action(async (options) => setExit(await (await import('./commands/replay.js')).replayCommand(options)));

const audit = program.command('audit').description('the hash-chained decision log: verify, export, tail');

audit
  .command('verify')
  .description('walk the hash chain of the decision log and hold its signed checkpoints against it; exit 1 on any problem, each one reported')
  .option('--db <path>', DB_HELP)
  .option('--config <file>', CONFIG_HELP)
  .option('--anchor <file>', 'checkpoints published outside the database (default: the config\'s file anchor)')
  .option('--public-key <pem>', 'a public key checkpoints may be signed with (repeatable; default: the config\'s key)', (value: string, previous: string[] = []) => [...previous, value])
  .action(async (options) => setExit(await (await import('./commands/audit-verify.js')).auditVerifyCommand(options)));

audit
  .command('export')
  .description('write decision records (already redacted) to standard output, oldest first')
  .option('--db <path>', DB_HELP)
  .option('--config <file>', CONFIG_HELP)
  .option('--since <time>', 'only records at or after this ISO 8601 time, or this long ago (1h, 30m, 2d)')
  .option('--until <time>', 'only records at or before this ISO 8601 time, or this long ago')
  .option('--agent <id>', 'only this agent')
  .option('--tool <name>', 'only this tool (resource id)')
  .option('--tenant <tenant>', 'only this tenant')
  .option('--effect <effect>', 'only allow, deny or require_approval')
  .option('--format <format>', 'jsonl or csv', 'jsonl')
  .action(async (options) => setExit(await (await import('./commands/audit.js')).auditExportCommand(options)));

audit
  .command('tail')
  .description('print the last records, one line each; --follow keeps printing new ones')
  .option('--db <path>', DB_HELP)
  .option('--config <file>', CONFIG_HELP)
  .option('-n, --lines <count>', 'how many records', '20')
  .option('-f, --follow', 'keep printing new records until interrupted')
  .action(async (options) => setExit(await (await import('./commands/audit.js')).auditTailCommand(options)));

program
  .command('keys')
  .description('signing keys of the decision log\'s checkpoints')
  .command('generate')
  .description('write an Ed25519 key pair (PEM) for audit.checkpoints.key; the private key is mode 600')
  .option('--out <dir>', 'where to write checkpoint-signing.key and checkpoint-signing.pub', '.')
  .option('--force', 'replace a key pair that exists')
  .action(async (options) => setExit(await (await import('./commands/keys.js')).keysGenerateCommand(options)));

const tools = program.command('tools').description('pinned MCP tool definitions ("rug pull" protection)');
tools
  .command('list')
  .description('every pinned tool definition and whether it is blocked')
  .option('--db <path>', DB_HELP)
  .option('--config <file>', CONFIG_HELP)
  .option('--json', 'print JSON (with both definitions, to review a change)')
  .action(async (options) => setExit(await (await import('./commands/tools.js')).toolsListCommand(options)));
operatorOptions(tools
  .command('approve')
  .description('trust the definition an upstream serves now for <upstream>/<tool> (admins); audited')
  .argument('<tool>', '<upstream>/<tool name at the upstream>')
  .option('--reason <text>', 'why (recorded in the decision log)'))
  .action(async (tool: string, options) => setExit(await (await import('./commands/tools.js')).toolsApproveCommand(tool, options)));

const approvals = program.command('approvals').description('actions held for human approval');

approvals
  .command('list')
  .description('list approvals, newest first')
  .option('--status <status>', 'pending, approved, denied, expired, executing, executed or failed')
  .option('--tenant <tenant>', 'only this tenant')
  .option('--limit <n>', 'at most this many', '100')
  .option('--json', 'print JSON')
  .option('--db <path>', DB_HELP)
  .option('--config <file>', CONFIG_HELP)
  .action(async (options) => setExit(await (await import('./commands/approvals.js')).approvalsListCommand(options)));

for (const vote of ['approve', 'deny'] as const) {
  operatorOptions(approvals
    .command(vote)
    .description(vote === 'approve' ? 'approve a pending action; at quorum it is executed, once' : 'deny a pending action; it will not run')
    .argument('<id>', 'approval id (apr_…)')
    .requiredOption('--reason <text>', 'why (recorded in the decision log)')
    // No longer believed (the voter's roles and tenant come from the token); accepted to say so.
    .addOption(new Option('--roles <roles>').hideHelp())
    .addOption(new Option('--tenant <tenant>').hideHelp()))
    .action(async (id: string, options) => setExit(await (await import('./commands/approvals.js')).approvalsVoteCommand(vote, id, options)));
}

const breakGlass = program.command('break-glass').description('time-boxed emergency overrides of policy denials');

operatorOptions(breakGlass
  .command('grant')
  .description('grant a break-glass override (admins; at most break_glass.max_duration)')
  .requiredOption('--reason <text>', 'why (recorded in the decision log)')
  .requiredOption('--for <duration>', 'how long: 15m, 1h, …')
  .option('--agent <id>', 'only for this agent (default: any)')
  .option('--tool <glob>', 'only for tools matching this glob (default: any)')
  .option('--tenant <tenant>', 'only for this tenant (default: any; a tenant-scoped admin\'s grant is always their tenant\'s)'))
  .action(async (options) => setExit(await (await import('./commands/break-glass.js')).breakGlassGrantCommand(options)));

operatorOptions(breakGlass
  .command('revoke')
  .description('end a break-glass grant now (admins)')
  .argument('<id>', 'grant id (bg_…)')
  .option('--reason <text>', 'why (recorded in the decision log)'))
  .action(async (id: string, options) => setExit(await (await import('./commands/break-glass.js')).breakGlassRevokeCommand(id, options)));

breakGlass
  .command('list')
  .description('list break-glass grants, oldest first')
  .option('--active', 'only grants in force now')
  .option('--json', 'print JSON')
  .option('--db <path>', DB_HELP)
  .option('--config <file>', CONFIG_HELP)
  .action(async (options) => setExit(await (await import('./commands/break-glass.js')).breakGlassListCommand(options)));

const agents = program.command('agents').description('agents, their keys and their status');

agents
  .command('create-key')
  .description('generate an API key for an agent, and the credential line for warden.yaml')
  .argument('<agent-id>', 'the agent the key is for')
  .option('--json', 'print JSON')
  .action(async (agentId: string, options) => setExit(await (await import('./commands/agents.js')).agentsCreateKeyCommand(agentId, options)));

agents
  .command('list')
  .description('list the agents Warden knows')
  .option('--json', 'print JSON')
  .option('--db <path>', DB_HELP)
  .option('--config <file>', CONFIG_HELP)
  .action(async (options) => setExit(await (await import('./commands/agents.js')).agentsListCommand(options)));

operatorOptions(agents
  .command('suspend')
  .description('suspend an agent (admins): every call it makes is denied until it is resumed')
  .argument('<id>', 'agent id')
  .requiredOption('--reason <text>', 'why (shown in every denial and in the decision log)'))
  .action(async (id: string, options) => setExit(await (await import('./commands/agents.js')).agentsSetStatusCommand('suspended', id, options)));

operatorOptions(agents
  .command('resume')
  .description('resume a suspended agent (admins)')
  .argument('<id>', 'agent id')
  .option('--reason <text>', 'why (recorded in the decision log)'))
  .action(async (id: string, options) => setExit(await (await import('./commands/agents.js')).agentsSetStatusCommand('active', id, options)));

function setExit(code: number): void {
  process.exitCode = code;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not errors; anything else commander rejects is a usage error.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (error instanceof UsageError) {
    console.error(`error: ${error.message}`);
    process.exitCode = EXIT.usage;
  } else {
    console.error(`error: ${(error as Error)?.message ?? String(error)}`);
    process.exitCode = EXIT.problems;
  }
}
