import { AgentEvent } from '@sysfleet/protocol';
import type { EnrollmentService } from '../enrollment/enrollment.service';
import type { HostsService } from '../hosts/hosts.service';
import type { AgentChannel, AgentSocket } from './agent-channel.service';
import { AgentGateway } from './agent.gateway';
import type { AgentHandshakeService } from './agent-handshake.service';

const HOST_ID = '44444444-4444-4444-8444-444444444444';

/** A connected /agent socket of a known host, enough for the gateway to route its events. */
function fakeSocket() {
  let listener: ((event: unknown, ...args: unknown[]) => void) | undefined;
  const socket = {
    data: { identity: { fingerprint: 'SHA256:x', hostId: HOST_ID } },
    conn: { request: {} },
    handshake: { address: '127.0.0.1' },
    rooms: new Set<string>(),
    once: jest.fn(),
    onAny: (l: typeof listener) => void (listener = l),
    join: jest.fn(),
    disconnect: jest.fn(),
  };
  const send = (event: string, payload: unknown) => new Promise((resolve) => listener!(event, payload, resolve));
  return { socket, send };
}

describe('AgentGateway', () => {
  it('drops a hello that arrives while the server is stopping, instead of refusing it (a refused agent waits long before coming back)', async () => {
    const hosts = { recordHello: jest.fn(), markOffline: jest.fn(async () => undefined), onChange: jest.fn() };
    const gateway = new AgentGateway({} as AgentHandshakeService, hosts as unknown as HostsService, {} as EnrollmentService, {} as AgentChannel);
    const { socket, send } = fakeSocket();
    gateway.handleConnection(socket as unknown as AgentSocket);

    await gateway.beforeApplicationShutdown();
    const ack = await send(AgentEvent.Hello, { facts: {} });

    expect(socket.disconnect).toHaveBeenCalledWith(true);
    expect(ack).toEqual({ ok: false, error: 'the server is shutting down' });
    // Nothing was written for it: its host is marked offline by the stop, not online again by the hello.
    expect(hosts.recordHello).not.toHaveBeenCalled();
  });
});
