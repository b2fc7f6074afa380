/** Every Handlebars helper of the planner views. Each returns plain values or text, never SafeString, so output stays escaped. */
import { eq } from './eq.helper';
import { formatDate } from './format-date.helper';
import { includes } from './includes.helper';
import { not } from './not.helper';
import { number } from './number.helper';
import { plural } from './plural.helper';

export const plannerHelpers: Record<string, (...args: never[]) => unknown> = { eq, formatDate, includes, not, number, plural };
