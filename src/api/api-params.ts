/** Validation of one command's parameters: every problem named, unknown parameters refused by name. */
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { JourneysException, type Violation } from '../common/journeys.exception';

function messagesOf(error: ValidationError, command: string): string[] {
  const constraints = error.constraints ?? {};
  if (constraints.whitelistValidation) return [`Unknown parameter ${error.property} for ${command}`];
  // A missing parameter is reported once, not once per rule it also fails.
  if (constraints.isDefined) return [constraints.isDefined];
  // Rules that share a message (IsInt and Min: "must be a positive integer") name the problem once.
  return [...new Set(Object.values(constraints))];
}

export async function parseParams<T extends object>(dto: new () => T, params: Record<string, unknown>, command: string): Promise<T> {
  const instance = plainToInstance(dto, params);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false });
  if (errors.length === 0) return instance;
  const violations: Violation[] = errors.flatMap((e) =>
    messagesOf(e, command).map((message) => ({
      code: e.constraints?.whitelistValidation ? 'unknown_parameter' : 'invalid_parameter',
      actionId: null,
      message,
    })),
  );
  throw JourneysException.invalid(violations.map((v) => v.message).join('; '), violations);
}
