import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { JobErrors } from './jobs.errors';

/** The `Idempotency-Key` header of a request that starts a job: the same key returns the same job. */
export const IdempotencyKey = createParamDecorator((_: unknown, ctx: ExecutionContext): string | undefined => {
  const raw: unknown = ctx.switchToHttp().getRequest().headers['idempotency-key'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(raw)) throw JobErrors.INVALID_IDEMPOTENCY_KEY();
  return raw;
});
