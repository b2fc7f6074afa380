/**
 * The API commands: one entry per command name with its parameter class and
 * what it does. Every command runs for the authenticated user: the owner
 * UserID comes from the host session, never from the parameters, and another
 * user's journey, list or subscriber answers 404 (the services scope by owner).
 *
 * Results use the host's PascalCase for the envelope; the journey data inside
 * (trigger, goal, action tree, counts, funnel) keeps the shapes journey.create,
 * journey.update and journey.actions.update accept, so what journey.get
 * returns can be sent back.
 * The failed and retrying entries of journey.stats are rows in PascalCase.
 */
import { Inject, Injectable } from '@nestjs/common';
import { JourneysException } from '../common/journeys.exception';
import { HOST_PORTS, type HostPorts, type SubscriberRef } from '../host/host.ports';
import type { FailedEntry, NewActionsReach } from '../journeys/journey.dto';
import { JourneyStatsService } from '../journeys/journey-stats.service';
import { JourneysService } from '../journeys/journeys.service';
import {
  CreateJourneyParams,
  EntryParams,
  JourneyParams,
  NoParams,
  SubscriberHistoryParams,
  SubscriberJourneyParams,
  UpdateActionsParams,
  UpdateJourneyParams,
  type SubscriberSelector,
} from './api-params.dto';
import { parseParams } from './api-params';

type CommandResult = Record<string, unknown>;

interface CommandDefinition<P extends object> {
  params: new () => P;
  run(userId: number, params: P): Promise<CommandResult>;
}

const define = <P extends object>(params: new () => P, run: (userId: number, params: P) => Promise<CommandResult>): CommandDefinition<P> => ({ params, run });

@Injectable()
export class ApiCommands {
  private readonly commands: Record<string, CommandDefinition<object>>;

  constructor(
    private readonly journeys: JourneysService,
    private readonly stats: JourneyStatsService,
    @Inject(HOST_PORTS) private readonly host: HostPorts,
  ) {
    const j = this.journeys;
    this.commands = {
      'journey.create': define(CreateJourneyParams, async (userId, p) => ({
        Journey: await j.create(userId, { name: p.Name, notes: p.Notes ?? null, trigger: p.Trigger, reEntry: p.ReEntry, goal: p.Goal }),
      })),
      'journey.get': define(JourneyParams, async (userId, p) => ({ Journey: await j.get(userId, p.JourneyID) })),
      'journey.list': define(NoParams, async (userId) => {
        const journeys = await j.list(userId);
        return { TotalCount: journeys.length, Journeys: journeys };
      }),
      'journey.update': define(UpdateJourneyParams, async (userId, p) => ({
        Journey: await j.updateInfo(userId, p.JourneyID, { name: p.Name, notes: p.Notes, trigger: p.Trigger, reEntry: p.ReEntry, goal: p.Goal }),
      })),
      'journey.delete': define(JourneyParams, async (userId, p) => {
        await j.delete(userId, p.JourneyID);
        return { JourneyID: p.JourneyID, Deleted: true };
      }),
      'journey.enable': define(JourneyParams, async (userId, p) => ({ Journey: await j.enable(userId, p.JourneyID) })),
      'journey.disable': define(JourneyParams, async (userId, p) => ({ Journey: await j.disable(userId, p.JourneyID) })),
      'journey.actions.update': define(UpdateActionsParams, async (userId, p) => {
        if (p.PreviewOnly) {
          const preview = await j.previewActions(userId, p.JourneyID, p.Actions);
          return {
            Preview: {
              Violations: preview.violations,
              AffectedEntries: preview.affected,
              RemovedActionIDs: preview.removedActionIds,
              ...newActionsResult(preview),
            },
          };
        }
        const saved = await j.saveActions(userId, p.JourneyID, p.Actions, p.ExpectedVersion);
        return {
          Version: saved.version,
          Actions: saved.actions,
          RemovedActionIDs: saved.removedActionIds,
          ExitedEntries: saved.exitedEntries,
          ...newActionsResult(saved),
        };
      }),
      'journey.stats': define(JourneyParams, async (userId, p) => {
        const [entries, actions, funnel, failed] = await Promise.all([
          this.stats.entriesSummary(userId, p.JourneyID),
          this.stats.actionCounts(userId, p.JourneyID),
          this.stats.funnel(userId, p.JourneyID),
          this.stats.failedEntries(userId, p.JourneyID),
        ]);
        const { conversionRate, ...byState } = entries;
        return {
          Stats: {
            JourneyID: p.JourneyID,
            Entries: byState,
            ConversionRate: conversionRate,
            Actions: actions,
            Funnel: funnel,
            FailedEntries: failed.map(failedEntryResult),
          },
        };
      }),
      'journey.entry.retry': define(EntryParams, async (userId, p) => {
        await this.stats.retryEntry(userId, p.EntryID);
        return { EntryID: p.EntryID, Retried: true };
      }),
      'journey.entry.skip': define(EntryParams, async (userId, p) => {
        await this.stats.skipEntry(userId, p.EntryID);
        return { EntryID: p.EntryID, Skipped: true };
      }),
      'subscriber.journey.trigger': define(SubscriberJourneyParams, async (userId, p) => {
        await j.get(userId, p.JourneyID); // 404 for another user's journey before looking at subscribers
        const result = await j.enrolSubscribers(userId, p.JourneyID, await this.subscribersOf(userId, p));
        return {
          JourneyID: p.JourneyID,
          Enrolled: result.enrolled,
          Refused: result.refused,
          EntryIDs: result.entryIds,
          NotEnrolled: result.notEnrolled.map((n) => ({ ListID: n.ref.listId, SubscriberID: n.ref.subscriberId, Reason: n.reason, Message: n.message })),
        };
      }),
      'subscriber.journey.exit': define(SubscriberJourneyParams, async (userId, p) => {
        await j.get(userId, p.JourneyID);
        const result = await j.exitSubscribers(userId, p.JourneyID, await this.subscribersOf(userId, p));
        return { JourneyID: p.JourneyID, Exited: result.exited };
      }),
      'subscriber.journey.list': define(SubscriberHistoryParams, async (userId, p) => {
        if (p.JourneyID !== undefined) await j.get(userId, p.JourneyID);
        const refs = await this.subscribersOf(userId, p);
        const emails = await this.emailsOf(userId, refs, p);
        const wanted = new Set(refs.map((r) => `${r.listId}:${r.subscriberId}`));
        const histories = (await Promise.all(emails.map((email) => this.stats.history(userId, email)))).flat();
        const subscribers = histories
          .filter((h) => wanted.has(`${h.listId}:${h.subscriberId}`))
          .map((h) => (p.JourneyID === undefined ? h : { ...h, entries: h.entries.filter((e) => e.journeyId === p.JourneyID) }));
        return { Subscribers: subscribers };
      }),
    };
  }

  /** Names of every command, for the unknown-command message and the docs. */
  get names(): string[] {
    return Object.keys(this.commands);
  }

  async run(userId: number, command: unknown, params: Record<string, unknown>): Promise<CommandResult> {
    if (command === undefined || command === null || command === '') throw JourneysException.invalid('Command is required');
    const definition = typeof command === 'string' && Object.hasOwn(this.commands, command) ? this.commands[command] : undefined;
    if (!definition) throw JourneysException.invalid(`Unknown command ${JSON.stringify(command)}; the commands are ${this.names.join(', ')}`);
    return definition.run(userId, await parseParams(definition.params, params, command as string));
  }

  /**
   * ListID + SubscriberID, or EmailAddress (every subscriber of the user's
   * lists with that address, within ListID when given).
   */
  private async subscribersOf(userId: number, p: SubscriberSelector): Promise<SubscriberRef[]> {
    if (p.SubscriberID !== undefined) {
      if (p.ListID === undefined) throw JourneysException.invalid('ListID is required with SubscriberID');
      if (p.EmailAddress !== undefined) throw JourneysException.invalid('Give ListID and SubscriberID, or EmailAddress, not both');
      return [{ listId: p.ListID, subscriberId: p.SubscriberID }];
    }
    if (p.EmailAddress === undefined) throw JourneysException.invalid('Give the subscriber: ListID and SubscriberID, or EmailAddress');
    const ownLists = new Set((await this.host.audience.listLists(userId)).map((l) => l.listId));
    if (p.ListID !== undefined && !ownLists.has(p.ListID)) throw JourneysException.notFound(`List ${p.ListID}`);
    const found = (await this.host.audience.findSubscribersByEmail(userId, p.EmailAddress)).filter(
      (s) => ownLists.has(s.listId) && (p.ListID === undefined || s.listId === p.ListID),
    );
    if (found.length === 0) throw JourneysException.notFound(`Subscriber ${p.EmailAddress}`);
    return found.map((s) => ({ listId: s.listId, subscriberId: s.subscriberId }));
  }

  /** The email addresses whose history covers these subscribers (404 for a subscriber that is not the user's). */
  private async emailsOf(userId: number, refs: SubscriberRef[], p: SubscriberSelector): Promise<string[]> {
    if (p.EmailAddress !== undefined) return [p.EmailAddress];
    const emails = new Set<string>();
    for (const ref of refs) {
      const subscriber = await this.host.audience.getSubscriber(userId, ref);
      if (!subscriber) throw JourneysException.notFound(`Subscriber ${ref.subscriberId} of list ${ref.listId}`);
      emails.add(subscriber.emailAddress);
    }
    return [...emails];
  }
}

/**
 * The live entries before each action an edit adds (UpTo: some get there only
 * down a branch, so at most this many run it), and those entries counted once.
 */
function newActionsResult(reach: NewActionsReach): CommandResult {
  return {
    NewActions: reach.newActions.map((n) => ({ ActionID: n.actionId, Type: n.type, Entries: n.count, UpTo: n.upTo })),
    ReachedEntries: { Count: reach.reached.count, UpTo: reach.reached.upTo },
  };
}

/** A failed or retrying entry in journey.stats, in the host's PascalCase: Status says which; NextAttemptAt is set for a retrying one. */
function failedEntryResult(e: FailedEntry): CommandResult {
  return {
    EntryID: e.entryId,
    ListID: e.listId,
    SubscriberID: e.subscriberId,
    EmailAddress: e.emailAddress,
    ActionID: e.actionId,
    ActionLabel: e.actionLabel,
    Status: e.status,
    LastError: e.error,
    Attempts: e.attempts,
    MaxAttempts: e.maxAttempts,
    NextAttemptAt: e.nextAttemptAt,
    UpdatedAt: e.failedAt,
  };
}
