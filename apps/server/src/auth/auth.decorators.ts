import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated caller, set on the request by the auth guard. */
export interface Actor {
  userId: string;
  username: string;
  role: Role;
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
