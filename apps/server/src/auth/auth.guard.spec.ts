import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Actor, AuthenticatedRequest, IS_PUBLIC, MIN_ROLE, Role } from './auth.decorators';
import { AuthGuard } from './auth.guard';
import type { AuthenticatedSession, SessionsService } from './sessions.service';

function contextFor(req: Partial<AuthenticatedRequest>, meta: Record<string, unknown> = {}): ExecutionContext {
  const handler = () => undefined;
  for (const [k, v] of Object.entries(meta)) Reflect.defineMetadata(k, v, handler);
  class SomeController {}
  return {
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => SomeController,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
}

const request = (method: string, headers: Record<string, string> = {}) =>
  ({ method, headers, params: {}, header: (name: string) => headers[name.toLowerCase()] }) as unknown as AuthenticatedRequest;

function guardFor(role: Role | null, via: 'cookie' | 'bearer' = 'bearer') {
  const actor: Actor = { userId: 'u1', username: 'u', role: role ?? 'viewer' };
  const session: AuthenticatedSession | null = role ? { sessionId: 's1', actor, via } : null;
  const sessions = { fromRequest: jest.fn(async () => session), csrfMatches: (_id: string, given?: string) => given === 'good' };
  return new AuthGuard(new Reflector(), sessions as unknown as SessionsService);
}

const outcome = (p: Promise<boolean>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

describe('AuthGuard', () => {
  it('lets anyone through a @Public() route and nobody through others without a session', async () => {
    expect(await outcome(guardFor(null).canActivate(contextFor(request('POST'), { [IS_PUBLIC]: true })))).toBe('ok');
    expect(await outcome(guardFor(null).canActivate(contextFor(request('GET'))))).toBe('AUTH_UNAUTHENTICATED');
  });

  it('needs viewer for reads and operator for changes by default, and what @MinRole() says otherwise', async () => {
    const cases: [Role, string, Record<string, unknown>, string][] = [
      ['viewer', 'GET', {}, 'ok'],
      ['viewer', 'POST', {}, 'AUTH_FORBIDDEN'],
      ['viewer', 'DELETE', {}, 'AUTH_FORBIDDEN'],
      ['operator', 'PATCH', {}, 'ok'],
      ['operator', 'GET', { [MIN_ROLE]: 'admin' }, 'AUTH_FORBIDDEN'],
      ['admin', 'DELETE', { [MIN_ROLE]: 'admin' }, 'ok'],
      ['viewer', 'POST', { [MIN_ROLE]: 'viewer' }, 'ok'],
    ];
    for (const [role, method, meta, expected] of cases) {
      expect([role, method, meta, await outcome(guardFor(role).canActivate(contextFor(request(method), meta)))]).toEqual([role, method, meta, expected]);
    }
  });

  it('needs the CSRF header for changes made with the cookie only', async () => {
    expect(await outcome(guardFor('admin', 'cookie').canActivate(contextFor(request('POST'))))).toBe('AUTH_CSRF');
    expect(await outcome(guardFor('admin', 'cookie').canActivate(contextFor(request('POST', { 'x-csrf-token': 'bad' }))))).toBe('AUTH_CSRF');
    expect(await outcome(guardFor('admin', 'cookie').canActivate(contextFor(request('POST', { 'x-csrf-token': 'good' }))))).toBe('ok');
    expect(await outcome(guardFor('admin', 'cookie').canActivate(contextFor(request('GET'))))).toBe('ok');
    expect(await outcome(guardFor('admin', 'bearer').canActivate(contextFor(request('POST'))))).toBe('ok');
  });

  it('puts the actor on the request', async () => {
    const req = request('GET');
    await guardFor('operator').canActivate(contextFor(req));
    expect(req.actor).toEqual({ userId: 'u1', username: 'u', role: 'operator' });
    expect(req.sessionId).toBe('s1');
  });
});
