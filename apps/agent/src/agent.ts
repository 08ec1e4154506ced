import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HostFacts } from '@sysfleet/protocol';
import { DEFAULT_BACKOFF } from './backoff';
import { registerCommands } from './commands';
import { buildVirtualizationReport } from './hypervisors/handlers';
import type { AgentConfig } from './config';
import { AgentConnection } from './connection';
import { collectFacts, factsChanged } from './facts/collect';
import { ensureStateDir, Identity, StateStore } from './identity';
import { Journal } from './jobs/journal';
import { Outbox } from './jobs/outbox';
import { HandlerRegistry } from './jobs/registry';
import { JobRunner } from './jobs/runner';
import type { Logger } from './log';
import type { AgentServices } from './services';
import { SimulationEnvironment, startSimulation } from './simulation';
import { AGENT_VERSION } from './version';

export const FACTS_CHECK_INTERVAL_MS = 5 * 60_000;
const PRUNE_INTERVAL_MS = 60 * 60_000;
const OUTBOX_RETRY_MS = 5_000;
export const LOCK_FILE = 'agent.pid';

export interface RunningAgent {
  stop(): void;
}

/** Reads a whole-number test knob from the environment. */
function envMs(name: string): number | undefined {
  const v = process.env[name];
  if (!v) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number of milliseconds, not "${v}"`);
  return Number(v);
}

/**
 * One agent per state dir: a second one would run the same journal twice. The pid file is taken
 * over when the process that wrote it is gone.
 */
function acquireLock(stateDir: string): () => void {
  const file = path.join(stateDir, LOCK_FILE);
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || (isAlive(pid) && looksLikeAgent(pid)))) {
        throw new Error(`another agent (pid ${pid}) is running with state dir ${stateDir}`);
      }
      unlinkSync(file);
    }
  }
  throw new Error(`cannot lock ${file}`);
}

/** After a reboot the pid may belong to another program: where /proc tells, check it is an agent. */
function looksLikeAgent(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sysfleet-agent');
  } catch {
    return true;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts the agent: identity, journal, outbox, job runner and the connection to the server. */
export function startAgent(config: AgentConfig, log: Logger): RunningAgent {
  ensureStateDir(config.stateDir);
  const releaseLock = acquireLock(config.stateDir);
  try {
    return start(config, log, releaseLock);
  } catch (e) {
    releaseLock();
    throw e;
  }
}

function start(config: AgentConfig, log: Logger, releaseLock: () => void): RunningAgent {
  const simulation: SimulationEnvironment | undefined = config.simulate ? startSimulation(config.simulate, path.join(config.stateDir, 'host-sim')) : undefined;
  if (simulation) log.warn('running against the host simulator', { kind: config.simulate, platform: simulation.platform, hostRoot: simulation.hostRoot });
  const identity = Identity.loadOrCreate(config.stateDir);
  log.info('starting sysfleet-agent', { version: AGENT_VERSION, stateDir: config.stateDir, fingerprint: identity.fingerprint });

  const journal = new Journal(path.join(config.stateDir, 'journal'), log);
  const outbox = new Outbox(path.join(config.stateDir, 'outbox'), log);
  const stepDelayMs = envMs('SYSFLEET_AGENT_STEP_DELAY_MS');
  if (stepDelayMs) log.warn('test knob SYSFLEET_AGENT_STEP_DELAY_MS is set: every job step is slowed down', { stepDelayMs });
  const backoffMaxMs = envMs('SYSFLEET_AGENT_BACKOFF_MAX_MS');
  const backoff = backoffMaxMs ? { ...DEFAULT_BACKOFF, initialMs: Math.min(DEFAULT_BACKOFF.initialMs, backoffMaxMs), maxMs: backoffMaxMs } : DEFAULT_BACKOFF;

  let lastReported: HostFacts | undefined;
  const collect = () => collectFacts({ simulation });
  let outboxRetry: NodeJS.Timeout | undefined;
  const flushOutbox = (): void => {
    if (!connection.isReady()) return;
    void outbox.flush(connection.transport).then((outcome) => {
      if (outcome === 'interrupted' && connection.isReady() && !outboxRetry) {
        outboxRetry = setTimeout(() => {
          outboxRetry = undefined;
          flushOutbox();
        }, OUTBOX_RETRY_MS);
      }
    }).catch((e: unknown) => log.error('outbox flush failed', { error: (e as Error).message }));
  };

  const reportFacts = async (facts: HostFacts): Promise<void> => {
    if (await connection.sendFacts(facts)) lastReported = facts;
  };
  // Detection runs on every approved connect, so the server's view of the hypervisors is never stale.
  const reportVirtualization = async (): Promise<void> => {
    try {
      await connection.sendVirtualization(await buildVirtualizationReport());
    } catch (e) {
      log.warn('hypervisor detection failed', { error: (e as Error).message });
    }
  };
  const services: AgentServices = { stateDir: config.stateDir, log, simulation, collectFacts: collect, reportFacts };
  const registry = new HandlerRegistry();
  registerCommands(registry, services);

  const runner = new JobRunner({
    journal, outbox, registry, log, maxConcurrent: config.maxConcurrentJobs, stepDelayMs, onOutbox: flushOutbox,
  });
  const connection: AgentConnection = new AgentConnection({
    server: config.server,
    identity,
    stateStore: new StateStore(config.stateDir),
    enrollmentToken: config.enrollmentToken,
    log,
    backoff,
    collectFacts: async () => (lastReported = await collect()),
    onCommand: (raw) => runner.handleCommand(raw),
    onCancel: (raw) => runner.handleCancel(raw),
    onReady: () => {
      flushOutbox();
      void reportVirtualization();
    },
  });

  const pruned = journal.prune();
  if (pruned) log.info('pruned old journal entries', { count: pruned });
  runner.resumeUnfinished();
  connection.start();

  const factsTimer = setInterval(() => {
    if (!connection.isReady()) return;
    collect()
      .then(async (facts) => {
        if (!lastReported || factsChanged(lastReported, facts)) await reportFacts(facts);
      })
      .catch((e: unknown) => log.warn('facts check failed', { error: (e as Error).message }));
  }, envMs('SYSFLEET_AGENT_FACTS_INTERVAL_MS') ?? FACTS_CHECK_INTERVAL_MS);
  const pruneTimer = setInterval(() => journal.prune(), PRUNE_INTERVAL_MS);

  return {
    stop() {
      clearInterval(factsTimer);
      clearInterval(pruneTimer);
      clearTimeout(outboxRetry);
      connection.stop();
      releaseLock();
    },
  };
}
