/**
 * Per-feature error codes. A service throws AppError with a code from its feature's
 * `x.errors.ts`; the one exception filter maps the code's HTTP status and writes
 * `{ statusCode, code, message, details? }`.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Defines a feature's error factory: `const HostErrors = defineErrors({ NOT_FOUND: [404, 'Host not found'] })`. */
export function defineErrors<K extends string>(prefix: string, table: Record<K, [number, string]>) {
  const out = {} as Record<K, (message?: string, details?: unknown) => AppError>;
  for (const key of Object.keys(table) as K[]) {
    const [status, fallback] = table[key];
    out[key] = (message?: string, details?: unknown) => new AppError(`${prefix}_${key}`, status, message ?? fallback, details);
  }
  return out;
}

export const CommonErrors = defineErrors('COMMON', {
  VALIDATION: [400, 'Validation failed'],
  UNAUTHENTICATED: [401, 'Not logged in'],
  FORBIDDEN: [403, 'Not allowed'],
  NOT_FOUND: [404, 'Not found'],
  CONFLICT: [409, 'Conflict'],
  RATE_LIMITED: [429, 'Too many requests'],
  INTERNAL: [500, 'Internal error'],
});
