/**
 * Validation of the raw host hook payloads (src/host/hook-payloads.ts) and
 * their translation into the engine's TriggerEvent. Used by the handlers in
 * hooks/ for both transports (in-process bus and signed HTTP ingest).
 */
import 'reflect-metadata';
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  IsDefined,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { JourneysException, type Violation } from '../common/journeys.exception';
import type { TriggerEvent } from '../engine/trigger-event';
import type { TriggerType } from '../engine/journey.types';

/** Hosts written in PHP often send ids as numeric strings. */
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value);
const toNumber = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;

export class CausationDto {
  @IsString() @MinLength(1) @MaxLength(128) chainId: string;
  @Transform(toInt) @IsInt() @Min(0) @Max(1000) depth: number;
}

export class SubscriberHookDto {
  @IsString() @MinLength(1) @MaxLength(128) EventID: string;
  @Transform(toInt) @IsInt() @Min(1) UserID: number;
  @Transform(toInt) @IsInt() @Min(1) ListID: number;
  @Transform(toInt) @IsInt() @Min(1) SubscriberID: number;
  @IsString() @MaxLength(250) EmailAddress: string;
  @IsISO8601({ strict: true }) OccurredAt: string;
  @IsOptional() @ValidateNested() @Type(() => CausationDto) Causation?: CausationDto;
}

export class EmailHookDto extends SubscriberHookDto {
  @Transform(toInt) @IsInt() @Min(1) EmailID: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) CampaignID: number | null;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) AutoResponderID: number | null;
}

export class LinkClickedHookDto extends EmailHookDto {
  @IsDefined() @IsString() @MinLength(1) @MaxLength(2048) URL: string;
}

export class ConversionHookDto extends EmailHookDto {
  @IsOptional() @IsString() @MaxLength(100) Channel: string | null;
  @IsOptional() @Transform(toNumber) @IsNumber({ allowNaN: false, allowInfinity: false }) Value: number | null;
}

function flatten(errors: ValidationError[], parent = ''): Violation[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ code: 'invalid_field', actionId: null, message: `${field}: ${message}` }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Validates a raw payload (unknown properties are dropped); throws ValidationFailed naming every bad field. */
export function parseHookPayload<T extends object>(dto: new () => T, payload: unknown, hookName: string): T {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw JourneysException.invalid(`${hookName} payload must be a JSON object`);
  }
  const instance = plainToInstance(dto, payload);
  const errors = validateSync(instance, { whitelist: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    const violations = flatten(errors);
    throw JourneysException.invalid(`Invalid ${hookName} payload: ${violations.map((v) => v.message).join('; ')}`, violations);
  }
  return instance;
}

export function toTriggerEvent(type: TriggerType, p: SubscriberHookDto): TriggerEvent {
  const event: TriggerEvent = {
    eventId: p.EventID,
    type,
    userId: p.UserID,
    listId: p.ListID,
    subscriberId: p.SubscriberID,
    occurredAt: new Date(p.OccurredAt),
  };
  if (p.Causation) event.causation = { chainId: p.Causation.chainId, depth: p.Causation.depth };
  if (p instanceof EmailHookDto) event.emailId = p.EmailID;
  if (p instanceof LinkClickedHookDto) event.url = p.URL;
  if (p instanceof ConversionHookDto) {
    event.channel = p.Channel ?? null;
    event.value = p.Value ?? null;
  }
  return event;
}
