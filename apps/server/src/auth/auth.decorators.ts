import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated caller, set on the request by the auth guard. */
export interface Actor {
  userId: string;
  username: string;
  role: Role;
}

/** True when `role` is `min` or above it. */
export function roleAtLeast(role: Role, min: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(min);
}

/** A request after the auth guard: `actor` and `sessionId` are set on every non-public route. */
export interface AuthenticatedRequest extends Request {
  actor?: Actor;
  sessionId?: string;
}

export const IS_PUBLIC = 'sysfleet:public';
export const MIN_ROLE = 'sysfleet:min-role';

/** No login needed (health, metrics, login itself, agent bundle). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * Lowest role allowed; roles are ordered viewer < operator < admin. Routes without it
 * need a logged-in user for GET and at least `operator` for anything else.
 */
export const MinRole = (role: Role) => SetMetadata(MIN_ROLE, role);

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => ctx.switchToHttp().getRequest().actor);
