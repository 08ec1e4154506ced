import type { HostFacts } from '@sysfleet/protocol';
import type { Logger } from './log';
import type { SimulationEnvironment } from './simulation';

/** What command handlers may use of the running agent. */
export interface AgentServices {
  stateDir: string;
  log: Logger;
  /** Set when the agent runs against the host simulator (--simulate). */
  simulation?: SimulationEnvironment;
  collectFacts(): Promise<HostFacts>;
  /** Sends agent.facts now if connected; never throws (the next hello carries them anyway). */
  reportFacts(facts: HostFacts): Promise<void>;
}
