import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { StepError } from '../../jobs/handler';

/**
 * autoinstall(8) fetches its response file over HTTP from the DHCP server (for a vmd local interface,
 * the host side of the VM's link) as `/<MAC>-install.conf`, then `/install.conf`. This serves exactly
 * those two paths for the duration of one install; anything else is 404.
 */

const RESPONSE_PATH = /^\/(?:[0-9a-f]{2}:){5}[0-9a-f]{2}-install\.conf$|^\/install\.conf$/;

/** SYSFLEET_VMD_AUTOINSTALL_PORT, else 80 (where the installer looks). */
export function autoinstallPort(env: NodeJS.ProcessEnv): number {
  const raw = env.SYSFLEET_VMD_AUTOINSTALL_PORT;
  if (raw === undefined || raw === '') return 80;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StepError('install-media', `SYSFLEET_VMD_AUTOINSTALL_PORT=${raw} is not a TCP port`);
  return port;
}

export interface AutoinstallServer {
  port: number;
  /** The paths answered with the response file so far (for the job's progress). */
  requests: string[];
  close(): Promise<void>;
}

export async function serveAutoinstall(responseFile: string, port: number, host = '0.0.0.0'): Promise<AutoinstallServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0].toLowerCase();
    if ((req.method === 'GET' || req.method === 'HEAD') && RESPONSE_PATH.test(path)) {
      requests.push(path);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(responseFile), connection: 'close' });
      res.end(req.method === 'HEAD' ? undefined : responseFile);
    } else res.writeHead(404, { connection: 'close' }).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new StepError('install-media', `cannot serve the autoinstall response file on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
