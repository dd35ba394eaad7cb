import { Option, type Command } from 'commander';

/**
 * The options of every command that changes state (see operator-mode.ts): through the gateway as
 * the person a token stands for, or `--local-admin` on this host's database. The token is read
 * from the environment or a file, never from argv: process listings show argv to every user.
 */
export function operatorOptions(command: Command): Command {
  return command
    .addHelpText('after', AUTHENTICATION_HELP)
    .option('--url <url>', 'the running gateway to act through (default: $WARDEN_URL)')
    .option('--token-file <file>', 'a file holding your token (default: the token in $WARDEN_TOKEN)')
    .option('--local-admin', "act directly on this host's database as local admin, without the gateway (recorded as local-admin and your OS user; refused when the config says cli: { local_admin: false })")
    .option('--as <label>', 'with --local-admin: a name recorded beside your OS user; it grants nothing')
    .option('--config <file>', 'with --local-admin: warden.yaml to read (default ./warden.yaml)')
    // Accepted only to refuse it with a reason: a token in argv shows in process listings.
    .addOption(new Option('--token <token>').hideHelp());
}

const AUTHENTICATION_HELP = `
This command changes state, so it acts as a person:
  through the running gateway (the default), as the person your token stands for; roles and
  tenant come from the token:  WARDEN_URL=https://warden.example WARDEN_TOKEN=… warden …
  or directly on this host's database with --local-admin, as admin of every tenant (recorded
  as local-admin:<OS user>; refused when warden.yaml says cli: { local_admin: false }).`;
