import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import type { ErrorBody } from './exception.filter';

/** Paths the web UI's index.html never answers for; they belong to the API, probes and sockets. */
const NOT_SPA = /^\/(api|health|metrics|agent|socket\.io)(\/|$)/;

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // React and Swagger UI set inline styles.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Security headers on every response, set by hand (no helmet). */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  next();
}

/** Express `trust proxy` from TRUST_PROXY: false, true, a hop count, or addresses. */
export function trustProxySetting(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/**
 * Serves the built web UI from `dir` at `/`, answering index.html for the UI's own routes.
 * Returns false (and serves nothing) when `dir` has no index.html.
 */
export function serveWebUi(app: NestExpressApplication, dir: string | undefined): boolean {
  if (!dir) return false;
  const root = path.resolve(dir);
  const index = path.join(root, 'index.html');
  if (!existsSync(index)) return false;
  app.useStaticAssets(root, {
    index: false,
    setHeaders: (res, file) => {
      // Vite puts content hashes in the names under assets/, so those never change.
      res.setHeader('Cache-Control', file.startsWith(path.join(root, 'assets') + path.sep) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_SPA.test(req.path)) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return true;
}

/** `GET /agent/sysfleet-agent.cjs` and `.sha256`, public, so hosts can download the agent they install. */
export function serveAgentBundle(app: NestExpressApplication, bundle: string | undefined): void {
  const file = bundle ? path.resolve(bundle) : undefined;
  const notBuilt = (res: Response) => {
    const body: ErrorBody = {
      statusCode: 404,
      code: 'AGENT_BUNDLE_NOT_BUILT',
      message: 'The agent bundle is not built on this server: run `npx nx build agent` (or set AGENT_BUNDLE) and try again',
    };
    res.status(404).json(body);
  };
  // Plain Express routes, registered before Nest's router, like the static files.
  const express = app.getHttpAdapter().getInstance() as { get(path: string, h: (req: Request, res: Response, next: NextFunction) => void): void };
  express.get('/agent/sysfleet-agent.cjs', (_req, res, next) => {
    if (!file || !existsSync(file)) return notBuilt(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/javascript').sendFile(file, (e) => e && next(e));
  });
  express.get('/agent/sysfleet-agent.cjs.sha256', (_req, res, next) => {
    if (!file || !existsSync(file)) return notBuilt(res);
    bundleChecksum(file).then(
      (sum) => res.setHeader('Cache-Control', 'no-cache').type('text/plain').send(`${sum}  sysfleet-agent.cjs\n`),
      next,
    );
  });
}

const checksums = new Map<string, { mtimeMs: number; size: number; sum: string }>();

/** SHA-256 of the bundle, computed from the file itself (cached until it changes) so it always matches what is served. */
async function bundleChecksum(file: string): Promise<string> {
  const { mtimeMs, size } = statSync(file);
  const cached = checksums.get(file);
  if (cached && cached.mtimeMs === mtimeMs && cached.size === size) return cached.sum;
  const sum = createHash('sha256').update(await fs.readFile(file)).digest('hex');
  checksums.set(file, { mtimeMs, size, sum });
  return sum;
}
