#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { checkCommand } from './commands/check.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { testCommand } from './commands/test.js';
import { EXIT, UsageError } from './usage-error.js';

const program = new Command('warden')
  .description('Warden: a policy enforcement gateway for AI agents')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError();

program
  .command('check')
  .description('validate every policy in a folder; problems are printed as file:line:column')
  .argument('<dir>', 'policy folder (searched recursively for *.yaml)')
  .option('--tools <file>', 'JSON list of known tool names; report tool patterns that match none')
  .action(async (dir: string, options) => setExit(await checkCommand(dir, options)));

program
  .command('eval')
  .description('decide one request against a policy folder and print the decision')
  .requiredOption('--policies <dir>', 'policy folder')
  .requiredOption('--request <file>', 'ActionRequest as JSON, or - for standard input')
  .option('--explain', 'list every candidate rule, matched or not, and why')
  .option('--json', 'print the Decision as JSON')
  .option('--now <time>', 'decide as of this ISO 8601 instant (default: now)')
  .action(async (options) => setExit(await evalCommand(options)));

program
  .command('test')
  .description('run every *.test.yaml suite in a policy folder')
  .argument('<dir>', 'policy folder')
  .option('--format <format>', 'text or junit', 'text')
  .option('--verbose', 'print each decision')
  .action(async (dir: string, options) => setExit(await testCommand(dir, options)));

program
  .command('demo')
  .description('play the example scenarios and show each decision and its reason')
  .action(async () => setExit(await demoCommand()));

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
