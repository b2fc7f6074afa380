import { Injectable, PipeTransform } from '@nestjs/common';
import { JourneysException } from '../common/journeys.exception';

/** A positive integer id from the path; anything else is a page that does not exist (404, not 400). */
@Injectable()
export class IdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const id = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(id) || id <= 0) throw JourneysException.notFound('Page');
    return id;
  }
}
