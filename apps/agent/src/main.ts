import { startAgent } from './agent';
import { parseCommandLine, USAGE, UsageError } from './config';
import { Identity } from './identity';
import { createLogger } from './log';
import { AGENT_VERSION } from './version';

/** Exit codes: 0 done, 1 the agent failed, 2 bad command line or configuration. */
function main(argv: string[]): void {
  let cli;
  try {
    cli = parseCommandLine(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`sysfleet-agent: ${e.message}\nRun "sysfleet-agent --help" for usage.\n`);
    process.exit(2);
  }
  switch (cli.command) {
    case 'help':
      process.stdout.write(USAGE);
      return;
    case 'version':
      process.stdout.write(`${AGENT_VERSION}\n`);
      return;
    case 'fingerprint':
      process.stdout.write(`${Identity.loadOrCreate(cli.stateDir).fingerprint}\n`);
      return;
    case 'run': {
      const log = createLogger(cli.config.logLevel);
      const agent = startAgent(cli.config, log);
      const shutdown = (signal: NodeJS.Signals) => {
        // Running jobs stay "running" in the journal and are resumed on the next start.
        log.info('stopping', { signal });
        agent.stop();
        process.exit(0);
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
      return;
    }
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${new Date().toISOString()} ERROR ${(e as Error).message}\n`);
  process.exit(1);
}
