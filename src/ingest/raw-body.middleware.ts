/**
 * The signature of a posted hook covers the exact bytes sent, so the ingest
 * needs the raw body, and it must read it before the host's JSON parser
 * consumes the stream. This middleware reads the body of every request under
 * the ingest path as bytes (any content type, at most INGEST_MAX_BYTES) into
 * `req.rawBody` (the name Nest uses with `rawBody: true`); the body parsers
 * after it then skip the request.
 *
 * A body over the limit answers 413 in the API's error shape here, before
 * anything else runs.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import { apiErrorOf } from '../api/api-exception.filter';

export const INGEST_MAX_BYTES = 256 * 1024;

export type RawBodyRequest = Request & { rawBody?: Buffer };

export function rawBodyCapture(limitBytes = INGEST_MAX_BYTES): RequestHandler {
  const readRaw = express.raw({ type: () => true, limit: limitBytes });
  return (req: RawBodyRequest, res: Response, next: NextFunction) => {
    readRaw(req, res, (error?: unknown) => {
      if (error) {
        const tooLarge = (error as { type?: string }).type === 'entity.too.large';
        const exception = tooLarge
          ? new JourneysException(JourneysErrorCode.PayloadTooLarge, `The hook payload is larger than ${limitBytes / 1024} KB`)
          : JourneysException.invalid(`The request body could not be read (${(error as Error).message})`);
        const { status, body } = apiErrorOf(exception);
        if (!res.headersSent) res.status(status).json(body);
        return;
      }
      if (Buffer.isBuffer(req.body)) req.rawBody = req.body;
      next();
    });
  };
}
