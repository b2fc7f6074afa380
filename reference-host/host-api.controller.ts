/**
 * The reference host's side of the HTTP host API (README, "HTTP host API"):
 * what a host that is not Node serves so that the plug-in's worker processes
 * Subscribe, Unsubscribe and Send Email through the host's own path.
 *
 * For every request: the raw body is read before any JSON parser, because the
 * signature covers the exact bytes (over 1 MB: 413); the Standard Webhooks
 * signature is checked with HOST_API_SECRET (401); the body is validated (400
 * naming every bad field); then the host's own subscription path runs for the
 * body's UserID, and it checks that the list is that user's (404). The
 * idempotency key goes along to the subscription service, which answers a
 * repeated key. Batches use the service's batch calls when it has them, one
 * call per request otherwise; either way one result per request, in order.
 *
 * Send Email goes to the host's Send Email path (email-sender.service.ts):
 * `sent` with the message id, or `undeliverable` with the reason, both 200;
 * another user's list, email or subscriber answers 404.
 */
import {
  Catch,
  Controller,
  HttpCode,
  Inject,
  Logger,
  Module,
  Post,
  Req,
  UseFilters,
  type ArgumentsHost,
  type DynamicModule,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { apiErrorOf } from '../src/api/api-exception.filter';
import { JourneysErrorCode, JourneysException } from '../src/common/journeys.exception';
import {
  HOST_API_BODY_MAX_BYTES,
  statusVerdict,
  type BatchResult,
  type ErrorAnswer,
  type SendEmailAnswer,
  type SubscribeAnswer,
  type UnsubscribeAnswer,
} from '../src/host/http/host-api.protocol';
import {
  PermanentHostError,
  type CausationContext,
  type HostCallOutcome,
  type SendEmailRequest,
  type SendEmailResult,
  type SubscribeRequest,
  type SubscriptionCommandsPort,
  type UnsubscribeRequest,
} from '../src/host/host.ports';
import { parseHookPayload, type CausationDto } from '../src/plugin/hook-payload.dto';
import {
  BatchBodyDto,
  customFieldValues,
  OwnerBatchBodyDto,
  SendEmailBodyDto,
  SubscribeBodyDto,
  SubscribeCallDto,
  UnsubscribeBodyDto,
  UnsubscribeCallDto,
} from './host-api.dto';
import { HOST_SERVICES, type HostServices } from './host-services';

export const HOST_API_ROUTE = 'host-api';
const HOST_API_SECRET = Symbol('HOST_API_SECRET');

const logger = new Logger('HostApi');

/** Status and `{"Errors":[…]}` body of an error; unexpected errors answer 500 without internals (logged). */
function errorAnswerOf(error: unknown): { status: number; body: ErrorAnswer } {
  if (error instanceof PermanentHostError) return { status: 422, body: { Errors: [{ Code: JourneysErrorCode.ValidationFailed, Message: error.message }] } };
  const { status, body } = apiErrorOf(error);
  if (status >= 500) logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return { status, body: { Errors: body.Errors.map((e) => ({ Code: e.Code, Message: e.Message })) } };
}

@Catch()
export class HostApiCallFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = errorAnswerOf(error);
    if (!res.headersSent) res.status(status).json(body);
  }
}

function failedOutcome(error: unknown): { ok: false; permanent: boolean; error: string } {
  const { status, body } = errorAnswerOf(error);
  return { ok: false, permanent: statusVerdict(status, true) === 'permanent', error: body.Errors.map((e) => e.Message).join('; ') };
}

function toWire<T, W>(outcome: HostCallOutcome<T>, answer: (result: T) => W): BatchResult<W> {
  return outcome.ok ? { Ok: true, ...answer(outcome) } : { Ok: false, Permanent: outcome.permanent, Error: outcome.error };
}

const causationOf = (dto: CausationDto | undefined): CausationContext | undefined => dto && { chainId: dto.chainId, depth: dto.depth };
const subscribed = (r: { subscriberId: number; alreadySubscribed: boolean }): SubscribeAnswer => ({
  SubscriberID: r.subscriberId,
  AlreadySubscribed: r.alreadySubscribed,
});
const unsubscribed = (r: { wasSubscribed: boolean }): UnsubscribeAnswer => ({ WasSubscribed: r.wasSubscribed });
const emailAnswer = (r: SendEmailResult): SendEmailAnswer =>
  r.status === 'sent' ? { Status: r.status, MessageID: r.messageId } : { Status: r.status, Reason: r.reason, Message: r.message };

function subscribeRequest(call: SubscribeCallDto): SubscribeRequest {
  return {
    listId: call.ListID,
    emailAddress: call.EmailAddress,
    customFields: customFieldValues(call.CustomFields),
    causation: causationOf(call.Causation),
    idempotencyKey: call.IdempotencyKey,
  };
}

function sendEmailRequest(call: SendEmailBodyDto): SendEmailRequest {
  return {
    userId: call.UserID,
    listId: call.ListID,
    subscriberId: call.SubscriberID,
    emailId: call.EmailID,
    journeyId: call.JourneyID,
    entryId: call.EntryID,
    idempotencyKey: call.IdempotencyKey,
  };
}

function unsubscribeRequest(call: UnsubscribeCallDto): UnsubscribeRequest {
  return { ref: { listId: call.ListID, subscriberId: call.SubscriberID }, causation: causationOf(call.Causation), idempotencyKey: call.IdempotencyKey };
}

@Controller(HOST_API_ROUTE)
@UseFilters(HostApiCallFilter)
export class HostApiController {
  private readonly webhook: Webhook;

  constructor(
    @Inject(HOST_SERVICES) private readonly host: HostServices,
    @Inject(HOST_API_SECRET) secret: string,
  ) {
    this.webhook = new Webhook(secret);
  }

  /** The host's subscription path as the port contract types it (with the idempotency key and the optional batch calls). */
  private get port(): SubscriptionCommandsPort {
    return this.host.subscriptions;
  }

  @Post('subscribe')
  @HttpCode(200)
  async subscribe(@Req() req: Request): Promise<object> {
    const body = this.verified(req, SubscribeBodyDto, 'subscribe');
    return { Success: true, ...subscribed(await this.subscribeOne(body.UserID, subscribeRequest(body))) };
  }

  @Post('unsubscribe')
  @HttpCode(200)
  async unsubscribe(@Req() req: Request): Promise<object> {
    const body = this.verified(req, UnsubscribeBodyDto, 'unsubscribe');
    return { Success: true, ...unsubscribed(await this.unsubscribeOne(body.UserID, unsubscribeRequest(body))) };
  }

  @Post('subscribe-many')
  @HttpCode(200)
  async subscribeMany(@Req() req: Request): Promise<object> {
    const { UserID, Requests } = this.verified(req, OwnerBatchBodyDto, 'subscribe-many');
    const many = this.port.subscribeMany?.bind(this.port);
    const outcomes = await this.each(
      Requests.map((item, i) => () => subscribeRequest(parseHookPayload(SubscribeCallDto, item, `subscribe-many Requests[${i}]`))),
      many && ((requests) => many(UserID, requests)),
      (request) => this.subscribeOne(UserID, request),
    );
    return { Success: true, Results: outcomes.map((o) => toWire(o, subscribed)) };
  }

  @Post('unsubscribe-many')
  @HttpCode(200)
  async unsubscribeMany(@Req() req: Request): Promise<object> {
    const { UserID, Requests } = this.verified(req, OwnerBatchBodyDto, 'unsubscribe-many');
    const many = this.port.unsubscribeMany?.bind(this.port);
    const outcomes = await this.each(
      Requests.map((item, i) => () => unsubscribeRequest(parseHookPayload(UnsubscribeCallDto, item, `unsubscribe-many Requests[${i}]`))),
      many && ((requests) => many(UserID, requests)),
      (request) => this.unsubscribeOne(UserID, request),
    );
    return { Success: true, Results: outcomes.map((o) => toWire(o, unsubscribed)) };
  }

  @Post('send-email')
  @HttpCode(200)
  async send(@Req() req: Request): Promise<object> {
    const body = this.verified(req, SendEmailBodyDto, 'send-email');
    return { Success: true, ...emailAnswer(await this.host.email.send(sendEmailRequest(body))) };
  }

  @Post('send-email-many')
  @HttpCode(200)
  async sendMany(@Req() req: Request): Promise<object> {
    const { Requests } = this.verified(req, BatchBodyDto, 'send-email-many');
    const outcomes = await this.each(
      Requests.map((item, i) => () => sendEmailRequest(parseHookPayload(SendEmailBodyDto, item, `send-email-many Requests[${i}]`))),
      (requests) => this.host.email.sendMany(requests),
      (request) => this.host.email.send(request),
    );
    return { Success: true, Results: outcomes.map((o) => toWire(o, emailAnswer)) };
  }

  private subscribeOne(userId: number, r: SubscribeRequest) {
    return this.port.subscribe(userId, r.listId, { emailAddress: r.emailAddress, customFields: r.customFields }, r.causation, r.idempotencyKey);
  }

  private unsubscribeOne(userId: number, r: UnsubscribeRequest) {
    return this.port.unsubscribe(userId, r.ref, r.causation, r.idempotencyKey);
  }

  /**
   * One outcome per request, in order: a request that does not validate fails
   * alone; the valid ones go to the batch call when there is one, else one by one.
   */
  private async each<R, T>(
    parsers: (() => R)[],
    many: ((requests: R[]) => Promise<HostCallOutcome<T>[]>) | undefined,
    one: (request: R) => Promise<T>,
  ): Promise<HostCallOutcome<T>[]> {
    const outcomes: HostCallOutcome<T>[] = new Array(parsers.length);
    const valid: { index: number; request: R }[] = [];
    parsers.forEach((parse, index) => {
      try {
        valid.push({ index, request: parse() });
      } catch (error) {
        outcomes[index] = failedOutcome(error);
      }
    });
    if (many) {
      const results = await many(valid.map((v) => v.request)).catch((error: unknown) => valid.map(() => failedOutcome(error)));
      valid.forEach((v, i) => (outcomes[v.index] = results[i] ?? failedOutcome(new Error(`no outcome for request ${v.index}`))));
      return outcomes;
    }
    for (const v of valid) {
      try {
        outcomes[v.index] = { ok: true, ...(await one(v.request)) };
      } catch (error) {
        outcomes[v.index] = failedOutcome(error);
      }
    }
    return outcomes;
  }

  /** Checks the signature over the raw body, then parses and validates it. */
  private verified<T extends object>(req: Request, dto: new () => T, endpoint: string): T {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const header = (name: string) => req.get(name) ?? '';
    try {
      const signed = { 'webhook-id': header('webhook-id'), 'webhook-timestamp': header('webhook-timestamp'), 'webhook-signature': header('webhook-signature') };
      this.webhook.verify(raw, signed, { jsonParse: false });
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      throw new JourneysException(JourneysErrorCode.Unauthorized, `The request was not accepted: ${error.message} (signed with HOST_API_SECRET?)`);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString('utf8'));
    } catch {
      throw JourneysException.invalid(`The ${endpoint} body is not valid JSON`);
    }
    return parseHookPayload(dto, payload, endpoint);
  }
}

/**
 * Reads the body of every host API request as bytes (at most 1 MB) into
 * `req.body`; the host's JSON parser then skips it. Mounted while the app is
 * created, before Nest adds its body parsers at init.
 */
function rawBodyReader(): RequestHandler {
  const read = express.raw({ type: () => true, limit: HOST_API_BODY_MAX_BYTES });
  return (req: Request, res: Response, next: NextFunction) => {
    read(req, res, (error?: unknown) => {
      if (!error) return next();
      const tooLarge = (error as { type?: string }).type === 'entity.too.large';
      const { status, body } = errorAnswerOf(
        tooLarge
          ? new JourneysException(JourneysErrorCode.PayloadTooLarge, `The request body is larger than ${HOST_API_BODY_MAX_BYTES / 1024} KB`)
          : JourneysException.invalid(`The request body could not be read (${(error as Error).message})`),
      );
      res.status(status).json(body);
    });
  };
}

@Module({})
export class HostApiModule {
  constructor(@Inject(HttpAdapterHost) adapterHost: HttpAdapterHost) {
    adapterHost.httpAdapter.use(`/${HOST_API_ROUTE}`, rawBodyReader());
  }

  static register(services: HostServices, secret: string): DynamicModule {
    return {
      module: HostApiModule,
      controllers: [HostApiController],
      providers: [
        { provide: HOST_SERVICES, useValue: services },
        { provide: HOST_API_SECRET, useValue: secret },
      ],
    };
  }
}
