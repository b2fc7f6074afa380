/**
 * The HTTP host API, as both sides see it: the endpoints a host serves under
 * one base URL (HOST_API_URL), the JSON bodies and answers, and what each HTTP
 * status means. The README's "HTTP host API" section describes the same
 * protocol for a host written in another language; the adapter
 * (http-host-adapter.ts) is its client and the reference host
 * (reference-host/host-api.controller.ts) serves it.
 *
 * Field names follow the host's style (ListID, EmailAddress); Causation is the
 * object the host copies unchanged into the hook it fires, as in the hook payloads.
 */
import type { CausationContext, SendEmailResult } from '../host.ports';

export const HOST_API_ENDPOINTS = {
  subscribe: '/subscribe',
  unsubscribe: '/unsubscribe',
  subscribeMany: '/subscribe-many',
  unsubscribeMany: '/unsubscribe-many',
  sendEmail: '/send-email',
  sendEmailMany: '/send-email-many',
} as const;

export type HostApiEndpoint = (typeof HOST_API_ENDPOINTS)[keyof typeof HOST_API_ENDPOINTS];

/** Requests in one batch call; the adapter splits larger batches, a host may refuse more with 400. */
export const HOST_API_BATCH_MAX = 100;
/** The largest body a host must accept; a batch of HOST_API_BATCH_MAX requests stays well below it. */
export const HOST_API_BODY_MAX_BYTES = 1024 * 1024;
/** An idempotency key travels in headers too: printable ASCII without spaces. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

export interface SubscribeCall {
  ListID: number;
  EmailAddress: string;
  /** CustomFieldID → value. */
  CustomFields?: Record<string, string>;
  Causation?: CausationContext;
  IdempotencyKey: string;
}

export interface UnsubscribeCall {
  ListID: number;
  SubscriberID: number;
  Causation?: CausationContext;
  IdempotencyKey: string;
}

export interface SendEmailCall {
  UserID: number;
  ListID: number;
  SubscriberID: number;
  EmailID: number;
  JourneyID: number;
  EntryID: number;
  IdempotencyKey: string;
}

export type SubscribeBody = { UserID: number } & SubscribeCall;
export type UnsubscribeBody = { UserID: number } & UnsubscribeCall;
export interface SubscribeManyBody {
  UserID: number;
  Requests: SubscribeCall[];
}
export interface UnsubscribeManyBody {
  UserID: number;
  Requests: UnsubscribeCall[];
}
export interface SendEmailManyBody {
  Requests: SendEmailCall[];
}

export interface SubscribeAnswer {
  SubscriberID: number;
  AlreadySubscribed: boolean;
}
export interface UnsubscribeAnswer {
  WasSubscribed: boolean;
}
export type SendEmailAnswer =
  { Status: 'sent'; MessageID: string } | { Status: 'undeliverable'; Reason: Extract<SendEmailResult, { status: 'undeliverable' }>['reason']; Message: string };

/** One request's result in a batch answer: `Permanent` says whether trying again could help. */
export type BatchResult<T> = ({ Ok: true } & T) | { Ok: false; Permanent: boolean; Error: string };
export interface BatchAnswer<T> {
  Results: BatchResult<T>[];
}

/** The error body of a 4xx / 5xx answer, in the host's API shape. */
export interface ErrorAnswer {
  Errors: { Code: number; Message: string }[];
}

export type StatusVerdict = 'ok' | 'retry' | 'permanent';

/**
 * What an answer's status means. A 4xx is permanent only when the host API
 * itself answered (its `Errors` body): a 4xx without it comes from something
 * in front of the host (wrong HOST_API_URL, a proxy) and says nothing about
 * the request. 401 is a refused signature: a secret or a clock of the
 * deployment, fixed once for every waiting entry, so it is retried. 501 is a
 * host that does not offer the endpoint at all.
 */
export function statusVerdict(status: number, hasErrorsBody: boolean): StatusVerdict {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 501) return 'permanent';
  if ([401, 408, 409, 425, 429].includes(status)) return 'retry';
  if (status >= 400 && status < 500) return hasErrorsBody ? 'permanent' : 'retry';
  return 'retry';
}
