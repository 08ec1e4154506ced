import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { AppError } from './errors';

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
}

const HTTP_CODES: Record<number, string> = {
  400: 'COMMON_VALIDATION', 401: 'COMMON_UNAUTHENTICATED', 403: 'COMMON_FORBIDDEN', 404: 'COMMON_NOT_FOUND',
  409: 'COMMON_CONFLICT', 413: 'COMMON_PAYLOAD_TOO_LARGE', 429: 'COMMON_RATE_LIMITED',
};

/** Maps any error to `{ statusCode, code, message, details? }`. Unknown errors are logged and hidden. */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof AppError) {
    return { statusCode: error.status, code: error.code, message: error.message, ...(error.details !== undefined && { details: error.details }) };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const res = error.getResponse();
    const body = typeof res === 'object' && res !== null ? (res as Record<string, unknown>) : {};
    const message = typeof body.message === 'string' ? body.message : error.message;
    return {
      statusCode: status,
      code: typeof body.code === 'string' ? body.code : HTTP_CODES[status] ?? `HTTP_${status}`,
      message,
      ...(body.details !== undefined && { details: body.details }),
    };
  }
  // Body-parser (http-errors) failures such as a too-large body are the client's, not a 500.
  const clientError = error as { expose?: unknown; status?: unknown; type?: unknown; message?: unknown };
  if (clientError?.expose === true && typeof clientError.status === 'number' && clientError.status >= 400 && clientError.status < 500) {
    const status = clientError.status;
    const message = clientError.type === 'entity.too.large' ? 'Request body is too large (the limit is 1 MB)' : String(clientError.message);
    return { statusCode: status, code: HTTP_CODES[status] ?? `HTTP_${status}`, message };
  }
  return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, code: 'COMMON_INTERNAL', message: 'Internal error' };
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const body = toErrorBody(error);
    if (body.statusCode >= 500) this.logger.error(error instanceof Error ? error.stack ?? error.message : String(error));
    const res = host.switchToHttp().getResponse<Response>();
    // The audit trail records the code with the failure.
    res.locals.errorCode = body.code;
    if (!res.headersSent) res.status(body.statusCode).json(body);
  }
}
