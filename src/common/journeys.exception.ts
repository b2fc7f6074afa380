/**
 * The plug-in's one exception type. Codes map to an HTTP status and the API's
 * error shape `{"Errors":[{"Code":n,"Message":"…"}]}` in JourneysExceptionFilter,
 * and to a friendly page in the admin.
 */
import type { Violation } from '../engine/validation.types';

export type { Violation };

export enum JourneysErrorCode {
  NotFound = 1,
  ValidationFailed = 2,
  InvalidActions = 3,
  Conflict = 4,
  Forbidden = 5,
  NotLoggedIn = 6,
  Unauthorized = 7,
  PayloadTooLarge = 8,
  UnknownHook = 9,
  /** Busy: the sender should try again after the Retry-After it was given. */
  Unavailable = 10,
  Internal = 99,
}

export const HTTP_STATUS_OF: Record<JourneysErrorCode, number> = {
  [JourneysErrorCode.NotFound]: 404,
  [JourneysErrorCode.ValidationFailed]: 400,
  [JourneysErrorCode.InvalidActions]: 422,
  [JourneysErrorCode.Conflict]: 409,
  [JourneysErrorCode.Forbidden]: 403,
  [JourneysErrorCode.NotLoggedIn]: 401,
  [JourneysErrorCode.Unauthorized]: 401,
  [JourneysErrorCode.PayloadTooLarge]: 413,
  [JourneysErrorCode.UnknownHook]: 404,
  [JourneysErrorCode.Unavailable]: 503,
  [JourneysErrorCode.Internal]: 500,
};

export class JourneysException extends Error {
  constructor(
    readonly code: JourneysErrorCode,
    message: string,
    /** Every problem found, not only the first (validation, invalid actions). */
    readonly violations: Violation[] = [],
  ) {
    super(message);
    this.name = 'JourneysException';
  }

  get httpStatus(): number {
    return HTTP_STATUS_OF[this.code];
  }

  static notFound(what: string): JourneysException {
    return new JourneysException(JourneysErrorCode.NotFound, `${what} not found`);
  }

  static invalid(message: string, violations: Violation[] = []): JourneysException {
    return new JourneysException(JourneysErrorCode.ValidationFailed, message, violations);
  }

  /** Busy for now: answered 503 with a Retry-After of `retryAfterSeconds`. */
  static unavailable(message: string, retryAfterSeconds: number): JourneysException {
    return Object.assign(new JourneysException(JourneysErrorCode.Unavailable, message), { retryAfterSeconds });
  }

  /** Seconds a sender should wait before trying again (Unavailable). */
  retryAfterSeconds?: number;
}
