import { UI_UPDATES, UiEvent } from '@sysfleet/protocol';
import type { Namespace } from 'socket.io';
import { UI_MIN_PUSH_INTERVAL_MS, UI_ROOM, UiEvents } from './ui-events.service';

/** A namespace that records what is emitted to which room. */
function fakeNamespace() {
  const sent: { room: string; event: string; batch: unknown }[] = [];
  const ns = { to: (room: string) => ({ emit: (event: string, batch: unknown) => sent.push({ room, event, batch }) }) };
  return { ns: ns as unknown as Namespace, sent };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('UiEvents', () => {
  it('sends the updates of one turn as one batch, each job and host once in its latest state, in order', async () => {
    const { ns, sent } = fakeNamespace();
    const ui = new UiEvents();
    ui.attach(ns);
    ui.publish(UiEvent.JobUpdated, { id: 'j1', status: 'queued' });
    ui.publish(UiEvent.HostPending, { id: 'h1', status: 'pending' });
    ui.publish(UiEvent.JobEvent, { jobId: 'j1', seq: 0, step: 'a' });
    ui.publish(UiEvent.JobEvent, { jobId: 'j1', seq: 1, step: 'b' });
    ui.publish(UiEvent.JobUpdated, { id: 'j1', status: 'succeeded' });
    ui.publish(UiEvent.JobUpdated, { id: 'j2', status: 'queued' });
    expect(sent).toEqual([]);
    await turn();
    expect(sent).toEqual([{
      room: UI_ROOM,
      event: UI_UPDATES,
      batch: [
        [UiEvent.HostPending, { id: 'h1', status: 'pending' }],
        [UiEvent.JobEvent, { jobId: 'j1', seq: 0, step: 'a' }],
        [UiEvent.JobEvent, { jobId: 'j1', seq: 1, step: 'b' }],
        [UiEvent.JobUpdated, { id: 'j1', status: 'succeeded' }],
        [UiEvent.JobUpdated, { id: 'j2', status: 'queued' }],
      ],
    }]);
  });

  it('sends at most one batch per interval, the latest state of each record, and nothing when there is nothing new', async () => {
    const { ns, sent } = fakeNamespace();
    const ui = new UiEvents();
    ui.attach(ns);
    ui.publish(UiEvent.HostUpdated, { id: 'h1', online: true });
    await turn();
    expect(sent).toHaveLength(1);
    // Right after a batch: the next one waits out the interval, gathering what changes meanwhile.
    ui.publish(UiEvent.HostUpdated, { id: 'h1', online: false });
    await turn();
    ui.publish(UiEvent.HostUpdated, { id: 'h1', online: true, hostname: 'web-1' });
    await turn();
    expect(sent).toHaveLength(1);
    await pause(UI_MIN_PUSH_INTERVAL_MS + 20);
    await pause(UI_MIN_PUSH_INTERVAL_MS + 20);
    expect(sent.map((s) => s.batch)).toEqual([
      [[UiEvent.HostUpdated, { id: 'h1', online: true }]],
      [[UiEvent.HostUpdated, { id: 'h1', online: true, hostname: 'web-1' }]],
    ]);
    // Quiet for longer than the interval: an update goes at the end of its turn again.
    ui.publish(UiEvent.HostUpdated, { id: 'h1', online: false });
    await turn();
    expect(sent).toHaveLength(3);
  });

  it('drops updates before the gateway is attached', async () => {
    const ui = new UiEvents();
    ui.publish(UiEvent.HostRemoved, { id: 'h1' });
    const { ns, sent } = fakeNamespace();
    ui.attach(ns);
    await turn();
    expect(sent).toEqual([]);
  });

  it('once the server stops, sends what waits at once and every later update as it comes (nothing waits for a timer)', async () => {
    const { ns, sent } = fakeNamespace();
    const ui = new UiEvents();
    ui.attach(ns);
    ui.publish(UiEvent.JobUpdated, { id: 'j1', status: 'queued' });
    await turn();
    // Within the minimum interval: this one waits for a timer.
    ui.publish(UiEvent.JobUpdated, { id: 'j1', status: 'running' });
    expect(sent).toHaveLength(1);
    ui.beforeApplicationShutdown();
    expect(sent.map((s) => s.batch)).toEqual([
      [[UiEvent.JobUpdated, { id: 'j1', status: 'queued' }]],
      [[UiEvent.JobUpdated, { id: 'j1', status: 'running' }]],
    ]);
    ui.publish(UiEvent.HostUpdated, { id: 'h1', online: false });
    expect(sent[2].batch).toEqual([[UiEvent.HostUpdated, { id: 'h1', online: false }]]);
    // The timer that was set sends nothing twice.
    await pause(UI_MIN_PUSH_INTERVAL_MS + 20);
    expect(sent).toHaveLength(3);
  });
});
