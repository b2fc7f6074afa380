/**
 * Body parsing of the API endpoint, ahead of the host's parsers, so that a
 * malformed, oversized or hostile body is answered in the API's error shape
 * like every other refusal, and so that an action tree may be larger than
 * body-parser's 100 KB default.
 *
 * Nothing downstream sees a refused value: a form body's keys are checked
 * before qs builds objects from them, and every parsed parameter is checked
 * (depth, prototype keys, lone surrogates; see api-input-limits.ts) before the
 * request reaches the controller.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { JourneysErrorCode, JourneysException, type Violation } from '../common/journeys.exception';
import { apiErrorOf } from './api-exception.filter';
import { API_MAX_DEPTH, formBodyViolations, parametersViolations } from './api-input-limits';

export const API_MAX_BYTES = 1024 * 1024;
/** Parameters of one form body (body-parser's default); a journey's trees travel as JSON text. */
export const API_MAX_FORM_PARAMETERS = 1000;

function refusal(violations: Violation[]): JourneysException {
  return JourneysException.invalid(violations.map((v) => v.message).join('; '), violations);
}

/** body-parser's `verify` hook: sees the raw form text before qs parses it. */
function refuseHostileFormKeys(_req: Request, _res: Response, raw: Buffer, encoding: string): void {
  const violations = formBodyViolations(raw.toString(encoding === 'iso-8859-1' ? 'latin1' : 'utf8'));
  if (violations.length > 0) throw refusal(violations);
}

function exceptionOf(error: unknown, limitBytes: number): JourneysException {
  if (error instanceof JourneysException) return error;
  switch ((error as { type?: string }).type) {
    case 'entity.too.large':
      return new JourneysException(JourneysErrorCode.PayloadTooLarge, `The request body is larger than ${limitBytes / 1024} KB`);
    case 'parameters.too.many':
      return new JourneysException(JourneysErrorCode.PayloadTooLarge, `The form body has more than ${API_MAX_FORM_PARAMETERS} parameters`);
    case 'entity.parse.failed':
      return JourneysException.invalid('The request body is not valid JSON');
    default:
      return JourneysException.invalid(`The request body could not be read (${(error as Error).message})`);
  }
}

const isParameterObject = (body: unknown): body is Record<string, unknown> => typeof body === 'object' && body !== null && !Array.isArray(body);

/** body-parser 2 takes `depth` (qs's nesting bound, 32 by default); its type definitions predate it. */
function formOptions(limitBytes: number): Parameters<typeof express.urlencoded>[0] & { depth: number } {
  return { extended: true, limit: limitBytes, depth: API_MAX_DEPTH, parameterLimit: API_MAX_FORM_PARAMETERS, verify: refuseHostileFormKeys };
}

export function apiBodyParser(limitBytes = API_MAX_BYTES): RequestHandler {
  const parsers = [express.json({ limit: limitBytes }), express.urlencoded(formOptions(limitBytes))];
  return (req: Request, res: Response, next: NextFunction) => {
    const refuse = (exception: JourneysException) => {
      const { status, body } = apiErrorOf(exception);
      if (!res.headersSent) res.status(status).json(body);
    };
    const run = (i: number) => {
      if (i === parsers.length) {
        const violations = isParameterObject(req.body) ? parametersViolations(req.body) : [];
        return violations.length > 0 ? refuse(refusal(violations)) : next();
      }
      parsers[i](req, res, (error?: unknown) => (error ? refuse(exceptionOf(error, limitBytes)) : run(i + 1)));
    };
    run(0);
  };
}
