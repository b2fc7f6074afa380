/**
 * Builds the engine's ValidationContext from the owner's lists, custom fields
 * and emails (host audience port) and the owner's journeys, and runs the
 * engine's pure validators with it. Every violation is collected, never only the first.
 */
import { randomBytes } from 'crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JourneysException, type Violation } from '../common/journeys.exception';
import { parseGoal } from '../engine/goals';
import { parseActions, startJourneyCycleViolations, validateTrigger } from '../engine/validate-journey';
import type { ValidationContext } from '../engine/validation.types';
import type { Action, JourneyGoal, Trigger, TriggerType } from '../engine/journey.types';
import { HOST_PORTS, type HostPorts, type HostSubscriber, type SubscriberRef } from '../host/host.ports';
import type { AppConfig } from '../config/env';
import { PLUGIN_CONFIG } from '../core/tokens';
import { decodeActions } from './journey.codec';
import { JourneyRepository } from './journey.repository';

/** Subscribers per enrol / exit request. */
export const MAX_SUBSCRIBER_REFS = 10_000;

/** ActionIDs for actions that arrive without one: short, random, stable once saved. */
export function newActionId(): string {
  return `a_${randomBytes(6).toString('hex')}`;
}

@Injectable()
export class JourneyValidation {
  constructor(
    @Inject(HOST_PORTS) private readonly host: HostPorts,
    @Inject(PLUGIN_CONFIG) private readonly config: Pick<AppConfig, 'WEBHOOK_ALLOW_PRIVATE'>,
    private readonly repo: JourneyRepository,
  ) {}

  /**
   * The owner's lists, fields, emails and journeys, as the engine's validators
   * see them, and every journey's action tree (for the Start Journey cycle check).
   */
  async contextFor(userId: number, journeyId: number, options: { trees: boolean }): Promise<{ ctx: ValidationContext; trees: Map<number, Action[]> }> {
    const [lists, customFields, emails, journeys] = await Promise.all([
      this.host.audience.listLists(userId),
      this.host.audience.listCustomFields(userId),
      this.host.audience.listEmails(userId),
      this.repo.listOwned(userId, { withoutActions: !options.trees }),
    ]);
    const ctx: ValidationContext = {
      journeyId,
      lists,
      customFields,
      emails,
      journeys: journeys.map((j) => ({ journeyId: j.JourneyID, triggerType: j.TriggerType as TriggerType })),
      // Plain http:// receivers are as local as private addresses: one setting allows both.
      allowHttp: this.config.WEBHOOK_ALLOW_PRIVATE,
    };
    return { ctx, trees: new Map(options.trees ? journeys.map((j) => [j.JourneyID, decodeActions(j.Actions)]) : []) };
  }

  /** The trigger when valid; its violations are appended to `violations`. */
  async checkTrigger(userId: number, input: unknown, violations: Violation[]): Promise<Trigger | undefined> {
    // A trigger does not depend on the journey it belongs to: 0 stands for "not saved yet".
    const { ctx } = await this.contextFor(userId, 0, { trees: false });
    const result = validateTrigger(input, ctx);
    violations.push(...result.violations);
    return result.violations.length === 0 ? result.trigger : undefined;
  }

  /** The goal (null: none) when valid; its violations are appended to `violations`. */
  async checkGoal(userId: number, input: unknown, violations: Violation[]): Promise<JourneyGoal | null | undefined> {
    const { ctx } = await this.contextFor(userId, 0, { trees: false });
    const result = parseGoal(input, ctx);
    violations.push(...result.violations);
    return result.violations.length === 0 ? result.goal : undefined;
  }

  /** Parses an action tree for the journey: shape, settings, ownership of every referenced object, Start Journey cycles. */
  async parseActions(userId: number, journeyId: number, input: unknown): Promise<{ actions: Action[]; violations: Violation[] }> {
    const { ctx, trees } = await this.contextFor(userId, journeyId, { trees: true });
    const parsed = parseActions(input, ctx, newActionId);
    const others = [...trees].filter(([id]) => id !== journeyId).map(([id, actions]) => ({ journeyId: id, actions }));
    const cycles = startJourneyCycleViolations(journeyId, parsed.actions, others);
    return { actions: parsed.actions, violations: [...parsed.violations, ...cycles] };
  }

  /**
   * Subscriber refs of the owner's lists, whether or not the subscribers exist.
   * A list of another user answers NotFound (as if it did not exist).
   */
  async checkSubscriberRefs(userId: number, refs: unknown): Promise<SubscriberRef[]> {
    const wanted = await this.ownListRefs(userId, refs);
    return [...wanted].flatMap(([listId, ids]) => [...ids].map((subscriberId) => ({ listId, subscriberId })));
  }

  /**
   * The subscribers these refs name, in the owner's lists, as the host has
   * them. A list of another user answers NotFound (as if it did not exist);
   * unknown subscribers are refused, all named.
   */
  async existingSubscribers(userId: number, refs: unknown): Promise<HostSubscriber[]> {
    const wanted = await this.ownListRefs(userId, refs);
    const violations: Violation[] = [];
    const out: HostSubscriber[] = [];
    for (const [listId, ids] of wanted) {
      const found = new Map((await this.host.audience.getSubscribers(userId, listId, [...ids])).map((s) => [s.subscriberId, s]));
      for (const subscriberId of ids) {
        const subscriber = found.get(subscriberId);
        if (subscriber) out.push(subscriber);
        else violations.push({ code: 'subscriber_not_found', actionId: null, message: `Subscriber ${subscriberId} not found in list ${listId}` });
      }
    }
    if (violations.length > 0) throw JourneysException.invalid(violations.map((v) => v.message).join('; '), violations);
    return out;
  }

  /** The refs by list, checked for shape and number; NotFound for a list that is not the owner's. */
  private async ownListRefs(userId: number, refs: unknown): Promise<Map<number, Set<number>>> {
    if (!Array.isArray(refs) || refs.length === 0) {
      throw JourneysException.invalid('Give at least one subscriber (listId and subscriberId)');
    }
    if (refs.length > MAX_SUBSCRIBER_REFS) {
      throw JourneysException.invalid(`Give at most ${MAX_SUBSCRIBER_REFS} subscribers at once`);
    }
    const violations: Violation[] = [];
    const wanted = new Map<number, Set<number>>();
    refs.forEach((ref, i) => {
      const listId = Number((ref as SubscriberRef)?.listId);
      const subscriberId = Number((ref as SubscriberRef)?.subscriberId);
      if (!isId(listId) || !isId(subscriberId)) {
        violations.push({ code: 'subscriber_invalid', actionId: null, message: `Subscriber ${i + 1}: listId and subscriberId must be positive integers` });
        return;
      }
      (wanted.get(listId) ?? wanted.set(listId, new Set()).get(listId)!).add(subscriberId);
    });
    if (violations.length > 0) throw JourneysException.invalid(violations.map((v) => v.message).join('; '), violations);

    const ownLists = new Set((await this.host.audience.listLists(userId)).map((l) => l.listId));
    const foreign = [...wanted.keys()].filter((listId) => !ownLists.has(listId));
    if (foreign.length > 0) throw JourneysException.notFound(`List ${foreign.join(', ')}`);
    return wanted;
  }
}

function isId(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}
