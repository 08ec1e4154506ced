import { ValidationPipe } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { CommonErrors } from './errors';

export interface FieldErrors {
  /** Dotted path of the field: `a.b`, `items.0.name`. */
  field: string;
  errors: string[];
}

/** Flattens class-validator's nested errors into one entry per field. */
export function fieldErrors(errors: ValidationError[], parent = ''): FieldErrors[] {
  const out: FieldErrors[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    if (e.constraints) out.push({ field, errors: Object.values(e.constraints) });
    if (e.children?.length) out.push(...fieldErrors(e.children, field));
  }
  return out;
}

/** The one validation path for HTTP input: unknown fields refused, payloads turned into their DTO classes. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const details = fieldErrors(errors);
      return CommonErrors.VALIDATION(details.map((d) => `${d.field}: ${d.errors.join(', ')}`).join('; ') || 'Validation failed', details);
    },
  });
}
