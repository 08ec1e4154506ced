import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { markAuditRoute } from '../audit/audit.http';
import { AuthenticatedRequest, IS_PUBLIC, MIN_ROLE, Role, roleAtLeast } from './auth.decorators';
import { AuthErrors } from './auth.errors';
import { SessionsService } from './sessions.service';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The global HTTP guard: `@Public()` routes are open; everything else needs a session (bearer or
 * cookie), a CSRF header for cookie-authenticated changes, and a role: viewer for reads, operator
 * for changes, or what `@MinRole()` says. Socket.io gateways authenticate themselves.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionsService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    markAuditRoute(this.reflector, ctx);
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets)) return true;

    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const auth = await this.sessions.fromRequest(req);
    if (!auth) throw AuthErrors.UNAUTHENTICATED();
    req.actor = auth.actor;
    req.sessionId = auth.sessionId;

    const safe = SAFE_METHODS.has(req.method);
    // A bearer token cannot be sent by a browser on its own, so only cookie sessions need the CSRF header.
    if (auth.via === 'cookie' && !safe && !this.sessions.csrfMatches(auth.sessionId, req.header('x-csrf-token'))) throw AuthErrors.CSRF();
    const needed = this.reflector.getAllAndOverride<Role | undefined>(MIN_ROLE, targets) ?? (safe ? 'viewer' : 'operator');
    if (!roleAtLeast(auth.actor.role, needed)) throw AuthErrors.FORBIDDEN(`This needs the ${needed} role; you are ${auth.actor.role}`);
    return true;
  }
}
