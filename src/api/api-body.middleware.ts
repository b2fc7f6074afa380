/**
 * Body parsing of the API endpoint, ahead of the host's parsers, so that a
 * malformed or oversized body is answered in the API's error shape like every
 * other refusal, and so that an action tree may be larger than body-parser's
 * 100 KB default.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import { apiErrorOf } from './api-exception.filter';

export const API_MAX_BYTES = 1024 * 1024;

export function apiBodyParser(limitBytes = API_MAX_BYTES): RequestHandler {
  const parsers = [express.json({ limit: limitBytes }), express.urlencoded({ extended: true, limit: limitBytes })];
  return (req: Request, res: Response, next: NextFunction) => {
    const run = (i: number) => {
      if (i === parsers.length) return next();
      parsers[i](req, res, (error?: unknown) => {
        if (!error) return run(i + 1);
        const type = (error as { type?: string }).type;
        const exception =
          type === 'entity.too.large'
            ? new JourneysException(JourneysErrorCode.PayloadTooLarge, `The request body is larger than ${limitBytes / 1024} KB`)
            : type === 'entity.parse.failed'
              ? JourneysException.invalid('The request body is not valid JSON')
              : JourneysException.invalid(`The request body could not be read (${(error as Error).message})`);
        const { status, body } = apiErrorOf(exception);
        if (!res.headersSent) res.status(status).json(body);
      });
    };
    run(0);
  };
}
