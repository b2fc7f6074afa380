/**
 * The bodies of the HTTP host API (src/host/http/host-api.protocol.ts) as the
 * reference host validates them: every bad field is named in one 400. A
 * batch body is checked as a whole (UserID, Requests) and each request on its
 * own, so that one bad request fails alone.
 */
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsObject, IsOptional, IsString, Matches, MaxLength, Min, ValidateNested } from 'class-validator';
import { JourneysException } from '../src/common/journeys.exception';
import { HOST_API_BATCH_MAX, IDEMPOTENCY_KEY_PATTERN } from '../src/host/http/host-api.protocol';
import { CausationDto } from '../src/plugin/hook-payload.dto';

const KEY_MESSAGE = { message: 'IdempotencyKey must be 1 to 200 printable ASCII characters without spaces' };

export class SubscribeCallDto {
  @IsInt() @Min(1) ListID: number;
  @IsString() @MaxLength(250) EmailAddress: string;
  @IsOptional() @IsObject() CustomFields?: Record<string, unknown>;
  @IsOptional() @ValidateNested() @Type(() => CausationDto) Causation?: CausationDto;
  @IsString() @Matches(IDEMPOTENCY_KEY_PATTERN, KEY_MESSAGE) IdempotencyKey: string;
}

export class SubscribeBodyDto extends SubscribeCallDto {
  @IsInt() @Min(1) UserID: number;
}

export class UnsubscribeCallDto {
  @IsInt() @Min(1) ListID: number;
  @IsInt() @Min(1) SubscriberID: number;
  @IsOptional() @ValidateNested() @Type(() => CausationDto) Causation?: CausationDto;
  @IsString() @Matches(IDEMPOTENCY_KEY_PATTERN, KEY_MESSAGE) IdempotencyKey: string;
}

export class UnsubscribeBodyDto extends UnsubscribeCallDto {
  @IsInt() @Min(1) UserID: number;
}

export class SendEmailBodyDto {
  @IsInt() @Min(1) UserID: number;
  @IsInt() @Min(1) ListID: number;
  @IsInt() @Min(1) SubscriberID: number;
  @IsInt() @Min(1) EmailID: number;
  @IsInt() @Min(1) JourneyID: number;
  @IsInt() @Min(1) EntryID: number;
  @IsString() @Matches(IDEMPOTENCY_KEY_PATTERN, KEY_MESSAGE) IdempotencyKey: string;
}

/** The requests of a batch are validated one by one afterwards. */
export class BatchBodyDto {
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(HOST_API_BATCH_MAX) Requests: unknown[];
}

export class OwnerBatchBodyDto extends BatchBodyDto {
  @IsInt() @Min(1) UserID: number;
}

/** CustomFieldID → text value; throws naming the first field that is not. */
export function customFieldValues(fields: Record<string, unknown> | undefined): Record<number, string> {
  const values: Record<number, string> = {};
  for (const [id, value] of Object.entries(fields ?? {})) {
    if (!/^\d{1,10}$/.test(id)) throw JourneysException.invalid(`CustomFields: ${JSON.stringify(id)} is not a custom field id`);
    if (typeof value !== 'string') throw JourneysException.invalid(`CustomFields.${id} must be a string`);
    values[Number(id)] = value;
  }
  return values;
}
