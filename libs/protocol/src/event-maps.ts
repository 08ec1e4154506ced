import type { CommandAck, FactsPayload, HelloPayload, HostStatusPayload, JobCancelPayload, JobCommandPayload, JobProgressPayload, JobResultPayload, ServerAck } from './messages';
import type { VirtualizationReport } from './virtualization';

/**
 * Typed socket.io event maps for `/agent`. Payloads are `unknown` on the receiving side in
 * practice: every receiver runs parsePayload() with the class named here before using them.
 */
export interface AgentToServerEvents {
  'agent.hello': (payload: HelloPayload, ack: (res: HostStatusPayload | ServerAck) => void) => void;
  'agent.facts': (payload: FactsPayload, ack: (res: ServerAck) => void) => void;
  'job.progress': (payload: JobProgressPayload, ack: (res: ServerAck) => void) => void;
  'job.result': (payload: JobResultPayload, ack: (res: ServerAck) => void) => void;
  'agent.virtualization': (payload: VirtualizationReport, ack: (res: ServerAck) => void) => void;
}

export interface ServerToAgentEvents {
  'host.status': (payload: HostStatusPayload) => void;
  'job.command': (payload: JobCommandPayload, ack: (res: CommandAck) => void) => void;
  'job.cancel': (payload: JobCancelPayload, ack: (res: CommandAck) => void) => void;
}
