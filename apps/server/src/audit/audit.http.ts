import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor, NestMiddleware, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { Observable, tap } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
import { AuditService } from './audit.service';

const AUDIT_ACTION = 'sysfleet:audit-action';
/** Methods that change nothing and are not audited. */
const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Names a handler's audit action and target type: `@AuditAction('user.create', 'user')`.
 * The target id comes from the `:id` route parameter, else from the response's `id`.
 * Handlers without it are audited as `${METHOD} ${route path}`.
 */
export const AuditAction = (action: string, targetType?: string) => SetMetadata(AUDIT_ACTION, { action, targetType });

/** What one request's audit event says; handlers may fill in what only they know (e.g. login's actor). */
export interface AuditState {
  action?: string;
  targetType?: string;
  targetId?: string;
  actor?: { id: string | null; name: string };
  details?: Record<string, unknown>;
}

const states = new WeakMap<Request, AuditState>();

export function auditStateOf(req: Request): AuditState {
  let state = states.get(req);
  if (!state) states.set(req, (state = {}));
  return state;
}

/**
 * Copies the handler's audit action and `:id` onto the request. The auth guard calls it first,
 * because guards run before interceptors and a refused request must still be audited by name.
 */
export function markAuditRoute(reflector: Reflector, ctx: ExecutionContext): void {
  const req = ctx.switchToHttp().getRequest<Request>();
  const state = auditStateOf(req);
  const meta = reflector.getAllAndOverride<{ action: string; targetType?: string } | undefined>(AUDIT_ACTION, [ctx.getHandler(), ctx.getClass()]);
  if (meta) {
    state.action = meta.action;
    state.targetType = meta.targetType;
  }
  const id: unknown = req.params?.id;
  if (typeof id === 'string' && id) state.targetId ??= id.slice(0, 200);
}

/** Takes the target id of a create from the response body's `id`. */
@Injectable()
export class AuditResponseInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<Request>();
    return next.handle().pipe(
      tap((body: unknown) => {
        if (READ_ONLY.has(req.method)) return;
        const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
        if (typeof id === 'string') auditStateOf(req).targetId ??= id;
      }),
    );
  }
}

/**
 * Records every non-GET request once its response is done, whatever ended it: the handler,
 * a guard, a pipe or an error. Registered for all routes by AuditModule.
 */
@Injectable()
export class AuditHttpMiddleware implements NestMiddleware {
  private readonly logger = new Logger('Audit');

  constructor(private readonly audit: AuditService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    if (!READ_ONLY.has(req.method)) res.once('close', () => this.record(req as AuthenticatedRequest, res));
    next();
  }

  private record(req: AuthenticatedRequest, res: Response): void {
    const state = auditStateOf(req);
    const actor = state.actor ?? (req.actor ? { id: req.actor.userId, name: req.actor.username } : { id: null, name: 'anonymous' });
    const route = (req.route as { path?: unknown } | undefined)?.path;
    const path = typeof route === 'string' ? req.baseUrl + route : req.path;
    const status = res.writableFinished ? res.statusCode : 499;
    const errorCode: unknown = res.locals.errorCode;
    this.audit
      .record({
        actorId: actor.id,
        actor: actor.name,
        action: state.action ?? `${req.method} ${path}`.slice(0, 200),
        targetType: state.targetType,
        targetId: state.targetId,
        outcome: status < 400 ? 'success' : 'failure',
        sourceIp: req.ip ?? null,
        details: { ...state.details, status, ...(typeof errorCode === 'string' && { code: errorCode }), ...(status === 499 && { aborted: true }) },
      })
      .catch((e: unknown) => this.logger.error(`could not record the audit event for ${req.method} ${path}: ${(e as Error).message}`));
  }
}
