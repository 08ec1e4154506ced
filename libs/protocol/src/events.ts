/** socket.io namespaces. */
export const AGENT_NAMESPACE = '/agent';
export const UI_NAMESPACE = '/ui';

/** Agent -> server events on `/agent`. */
export const AgentEvent = {
  /** First message after connecting: facts and optional enrolment token; acked with HelloAck. */
  Hello: 'agent.hello',
  /** Facts changed since the last report. */
  Facts: 'agent.facts',
  /** A step of a running job; acked once stored. */
  JobProgress: 'job.progress',
  /** The one final outcome of a job; acked once stored. */
  JobResult: 'job.result',
  /** The hypervisor report (VirtualizationReport), sent after each approved connect. */
  Virtualization: 'agent.virtualization',
} as const;

/** Server -> agent events on `/agent`. */
export const ServerEvent = {
  /** The host's enrolment status changed (approved, rejected, revoked). */
  HostStatus: 'host.status',
  /** Run a command; acked with CommandAck. */
  JobCommand: 'job.command',
  /** Stop a running job at its next safe point; acked with CommandAck. */
  JobCancel: 'job.cancel',
} as const;

/**
 * The one event the server emits on `/ui`: the updates of one event-loop turn as `[UiEvent, payload]`
 * pairs, in order, with each host's and job's `*.updated` only once, in its latest state. Under load
 * thousands of updates a second reach a browser as a few frames (and one Redis PUBLISH each).
 */
export const UI_UPDATES = 'ui.updates';

/** Kinds of update inside a `ui.updates` batch. */
export const UiEvent = {
  HostUpdated: 'host.updated',
  HostPending: 'host.pending',
  HostRemoved: 'host.removed',
  /** A host's hypervisor report was stored: `{ hostId }` (read it with GET /api/hosts/:id/virtualization). */
  HostVirtualization: 'host.virtualization',
  JobUpdated: 'job.updated',
  JobEvent: 'job.event',
} as const;

/** The typed commands an agent runs. Nothing else is ever executed on a host. */
export const Command = {
  InventoryRefresh: 'inventory.refresh',
  VirtualizationCheck: 'virtualization.check',
  VirtualizationInitialize: 'virtualization.initialize',
  VirtualizationConfigureNetwork: 'virtualization.configure-network',
  ChildCreate: 'child.create',
  ChildStart: 'child.start',
  ChildStop: 'child.stop',
  ChildRestart: 'child.restart',
  ChildDelete: 'child.delete',
  ChildList: 'child.list',
} as const;
export type CommandName = (typeof Command)[keyof typeof Command];
export const COMMAND_NAMES: readonly CommandName[] = Object.values(Command);
