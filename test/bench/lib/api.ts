import { Agent, request } from 'node:http';

export interface ApiResponse {
  status: number;
  body: unknown;
}

/**
 * A lean HTTP client for the server's REST API with a keep-alive pool, so a benchmark that
 * sends thousands of requests measures the server rather than TCP handshakes.
 */
export class BenchApi {
  private readonly agent: Agent;
  private token: string | null = null;

  constructor(private readonly baseUrl: string, maxSockets = 64) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  async login(username: string, password: string): Promise<void> {
    const res = await this.send('POST', '/api/auth/login', { username, password });
    const token = (res.body as { token?: unknown } | null)?.token;
    if (res.status !== 200 || typeof token !== 'string') throw new Error(`login as ${username} failed: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    this.token = token;
  }

  get(path: string): Promise<ApiResponse> {
    return this.send('GET', path);
  }

  post(path: string, body?: unknown): Promise<ApiResponse> {
    return this.send('POST', path, body);
  }

  /** Like post(), but throws unless the status is `expected`. */
  async postExpect(path: string, body: unknown, expected: number): Promise<unknown> {
    const res = await this.post(path, body);
    if (res.status !== expected) throw new Error(`POST ${path}: HTTP ${res.status} (expected ${expected}): ${JSON.stringify(res.body).slice(0, 500)}`);
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (data) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(data.length);
    }
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.baseUrl), { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            /* not JSON: kept as text for the error message */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(data ?? undefined);
    });
  }
}
