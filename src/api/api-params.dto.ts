/**
 * Parameters of the API commands, one class per command, in the host's
 * PascalCase style. Validated with whitelist + forbidNonWhitelisted: an
 * unknown parameter is refused by name rather than ignored (a typo such as
 * `JourneyId` must not silently do something else).
 *
 * Form bodies carry every value as a string: ids are converted from numeric
 * strings, Trigger and Actions may be given as JSON text.
 */
import 'reflect-metadata';
import { Transform } from 'class-transformer';
import { IsArray, IsBoolean, IsDefined, IsEmail, IsIn, IsInt, IsObject, IsOptional, IsString, MaxLength, Min, ValidateIf } from 'class-validator';
import { JourneysException } from '../common/journeys.exception';
import { JOURNEY_NAME_MAX, JOURNEY_NOTES_MAX } from '../journeys/journey.dto';
import { parameterValueViolation } from './api-input-limits';

const REQUIRED = { message: '$property is required' };

const toId = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d{1,15}$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) =>
  value === 'true' || value === '1' || value === 1 ? true : value === 'false' || value === '0' || value === 0 ? false : value;
/**
 * JSON text (form bodies) → value; anything else is kept and fails the type check with the parameter's name.
 * The parsed value gets the same shape checks as a JSON body's parameters (see api-input-limits.ts).
 */
const fromJsonText = ({ value, key }: { value: unknown; key: string }) => {
  if (typeof value !== 'string') return value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value;
  }
  const violation = parameterValueViolation(key, parsed);
  if (violation) throw JourneysException.invalid(violation.message, [violation]);
  return parsed;
};

export class NoParams {}

export class JourneyParams {
  @IsDefined(REQUIRED)
  @Transform(toId)
  @IsInt({ message: 'JourneyID must be a positive integer' })
  @Min(1, { message: 'JourneyID must be a positive integer' })
  JourneyID: number;
}

export class CreateJourneyParams {
  @IsDefined(REQUIRED) @IsString() @MaxLength(JOURNEY_NAME_MAX) Name: string;
  @IsOptional() @IsString() @MaxLength(JOURNEY_NOTES_MAX) Notes?: string;
  /** `{"type":"subscription","listIds":[1]}` (object, or its JSON text). */
  @IsDefined(REQUIRED) @Transform(fromJsonText) @IsObject({ message: 'Trigger must be an object (or its JSON text)' }) Trigger: Record<string, unknown>;
  @IsOptional() @IsIn(['allow', 'once']) ReEntry?: 'allow' | 'once';
  /** `{"type":"conversion","emailIds":"any"}` (object, or its JSON text); none when absent. */
  @IsOptional() @Transform(fromJsonText) @IsObject({ message: 'Goal must be an object (or its JSON text), or null for none' }) Goal?: Record<string, unknown>;
}

export class UpdateJourneyParams extends JourneyParams {
  @IsOptional() @IsString() @MaxLength(JOURNEY_NAME_MAX) Name?: string;
  @IsOptional() @IsString() @MaxLength(JOURNEY_NOTES_MAX) Notes?: string;
  @IsOptional() @Transform(fromJsonText) @IsObject({ message: 'Trigger must be an object (or its JSON text)' }) Trigger?: Record<string, unknown>;
  @IsOptional() @IsIn(['allow', 'once']) ReEntry?: 'allow' | 'once';
  /** The goal (object, or its JSON text); `{"type":"none"}` removes it. */
  @IsOptional() @Transform(fromJsonText) @IsObject({ message: 'Goal must be an object (or its JSON text); {"type":"none"} removes it' }) Goal?: Record<
    string,
    unknown
  >;
}

export class UpdateActionsParams extends JourneyParams {
  /** The whole action tree, as journey.get returns it (array, or its JSON text). */
  @IsDefined(REQUIRED) @Transform(fromJsonText) @IsArray({ message: 'Actions must be an array (or its JSON text)' }) Actions: unknown[];
  /** Refuse the save (409) when the journey's version is no longer this one. */
  @IsOptional() @Transform(toId) @IsInt() @Min(1) ExpectedVersion?: number;
  /** Only report the violations and the entries the save would exit; save nothing. */
  @IsOptional() @Transform(toBool) @IsBoolean() PreviewOnly?: boolean;
}

export class EntryParams {
  @IsDefined(REQUIRED)
  @Transform(toId)
  @IsInt({ message: 'EntryID must be a positive integer' })
  @Min(1, { message: 'EntryID must be a positive integer' })
  EntryID: number;
}

/**
 * May be left out, but a value given (null included) must be valid: IsOptional lets null through, and the
 * selector tells which subscriber to look up by which fields are present.
 */
const OmittableNotNull = () => ValidateIf((_params: object, value: unknown) => value !== undefined);

/** A subscriber: ListID + SubscriberID, or EmailAddress (every subscriber of the user's lists with it, optionally within ListID). */
export class SubscriberSelector {
  @OmittableNotNull()
  @Transform(toId)
  @IsInt({ message: 'ListID must be a positive integer' })
  @Min(1, { message: 'ListID must be a positive integer' })
  ListID?: number;
  @OmittableNotNull()
  @Transform(toId)
  @IsInt({ message: 'SubscriberID must be a positive integer' })
  @Min(1, { message: 'SubscriberID must be a positive integer' })
  SubscriberID?: number;
  @OmittableNotNull() @IsEmail({}, { message: 'EmailAddress must be an email address' }) EmailAddress?: string;
}

export class SubscriberJourneyParams extends SubscriberSelector {
  @IsDefined(REQUIRED)
  @Transform(toId)
  @IsInt({ message: 'JourneyID must be a positive integer' })
  @Min(1, { message: 'JourneyID must be a positive integer' })
  JourneyID: number;
}

export class SubscriberHistoryParams extends SubscriberSelector {
  /** Only this journey's entries. */
  @OmittableNotNull()
  @Transform(toId)
  @IsInt({ message: 'JourneyID must be a positive integer' })
  @Min(1, { message: 'JourneyID must be a positive integer' })
  JourneyID?: number;
}
