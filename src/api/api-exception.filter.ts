/**
 * The one mapping of errors to the API's shape, for the API commands and the
 * hook ingest:
 *
 *   HTTP 4xx/5xx  {"Success":false,"Errors":[{"Code":n,"Message":"…"}]}
 *
 * A JourneysException answers its code's status; when it carries violations,
 * each becomes one error (with its ActionID and reason) so a caller sees all
 * of them at once. Anything unexpected answers 500 without internals (logged).
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';

export interface ApiError {
  Code: number;
  Message: string;
  /** The action a journey violation concerns (null: the journey as a whole). */
  ActionID?: string | null;
  /** Machine-readable reason of a violation, e.g. `name_required`. */
  Reason?: string;
}

export interface ApiErrorBody {
  Success: false;
  Errors: ApiError[];
}

/** Status and body of an error, for the filter and for middleware that answers before Nest routes. */
export function apiErrorOf(exception: unknown): { status: number; body: ApiErrorBody } {
  if (exception instanceof JourneysException) {
    const errors: ApiError[] =
      exception.violations.length > 0
        ? exception.violations.map((v) => ({ Code: exception.code, Message: v.message, ActionID: v.actionId, Reason: v.code }))
        : [{ Code: exception.code, Message: exception.message }];
    return { status: exception.httpStatus, body: { Success: false, Errors: errors } };
  }
  if (exception instanceof HttpException && exception.getStatus() < 500) {
    const status = exception.getStatus();
    const code = status === 404 ? JourneysErrorCode.NotFound : status === 413 ? JourneysErrorCode.PayloadTooLarge : JourneysErrorCode.ValidationFailed;
    return { status, body: { Success: false, Errors: [{ Code: code, Message: exception.message }] } };
  }
  return { status: 500, body: { Success: false, Errors: [{ Code: JourneysErrorCode.Internal, Message: 'Internal error; the request was not completed' }] } };
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('JourneysApi');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = apiErrorOf(exception);
    // A 503 with Retry-After is an answer we chose (backpressure, a database outage): one warning line, no stack.
    if (exception instanceof JourneysException && exception.code === JourneysErrorCode.Unavailable) this.logger.warn(exception.message);
    else if (status >= 500) this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    if (res.headersSent) return;
    if (exception instanceof JourneysException && exception.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(exception.retryAfterSeconds));
    res.status(status).json(body);
  }
}
