/**
 * The view models of the planner pages. Controllers stay thin: they call the
 * journeys services for what changes and this class for what is shown.
 * Every read is scoped to the logged-in user (services answer NotFound for
 * another user's ids; host lists, fields and emails are the user's own).
 */
import { Inject, Injectable } from '@nestjs/common';
import { JourneysErrorCode, type JourneysException, type Violation } from '../common/journeys.exception';
import type { TriggerType } from '../engine/journey.types';
import { HOST_PORTS, type HostPorts, type HostUser } from '../host/host.ports';
import type { ActionsPreview, JourneyDetail } from '../journeys/journey.dto';
import { JourneyStatsService } from '../journeys/journey-stats.service';
import { JourneysService } from '../journeys/journeys.service';
import { isActionType } from '../engine/action-registry';
import { emailChecks } from './action-fields';
import { newAction } from './forms/action-settings.form';
import { draftFromForm, expectedVersion } from './forms/actions.form';
import { allDraftActions, treeShape, type DraftAction } from './forms/draft-tree';
import type { FormBody } from './forms/form-values';
import { EMPTY_GOAL_FORM, goalFormFromGoal, type GoalFormValues } from './forms/goal.form';
import { EMPTY_TRIGGER_FORM, triggerFormFromTrigger, type TriggerFormValues } from './forms/trigger.form';
import { impactWords } from './edit-impact-words';
import { funnelChart } from './funnel-chart';
import { goalFields } from './goal-view';
import type { PageModel } from './page-model';
import { errorsOf, flashText, percentText, readableResult } from './page-text';
import { operatorsByKind, paletteGroups, plannerNodes } from './planner-view';
import { plannerPaths } from './planner.paths';
import { describeGoal, describeTrigger, type TriggerNames } from './trigger-words';

const TRIGGER_CHOICES: { value: TriggerType; label: string; hint: string }[] = [
  { value: 'subscription', label: 'Subscription', hint: 'Someone subscribes to a list' },
  { value: 'unsubscription', label: 'Unsubscription', hint: 'Someone unsubscribes from a list' },
  { value: 'email_opened', label: 'Email opened', hint: 'Someone opens an email' },
  { value: 'link_clicked', label: 'Link clicked', hint: 'Someone clicks a link in an email' },
  { value: 'conversion', label: 'Conversion', hint: 'A conversion postback arrives for an email' },
  { value: 'manual', label: 'Manual', hint: 'Only Start Journey actions or the API enrol' },
];

export type JourneyTab = 'info' | 'planner' | 'funnel' | 'failed' | 'history';

export interface PlannerState {
  draft?: DraftAction[];
  violations?: Violation[];
  error?: string;
  preview?: ActionsPreview & { enabled: boolean };
  flash?: string;
  version?: number;
}

@Injectable()
export class JourneyPages {
  constructor(
    private readonly journeys: JourneysService,
    private readonly stats: JourneyStatsService,
    @Inject(HOST_PORTS) private readonly host: HostPorts,
  ) {}

  async list(user: HostUser, flash?: string): Promise<PageModel> {
    const [journeys, names] = await Promise.all([this.journeys.list(user.userId), this.names(user)]);
    return {
      title: 'Journeys',
      flash: flashText(flash),
      timeZone: user.timeZone,
      createUrl: plannerPaths.create(),
      historyUrl: plannerPaths.history(),
      journeys: journeys.map((j) => ({
        id: j.journeyId,
        name: j.name,
        triggerText: describeTrigger(j.trigger, names),
        enabled: j.status === 'Enabled',
        status: j.status,
        activeCount: j.activeCount,
        totalCount: j.totalCount,
        convertedCount: j.convertedCount,
        conversionPercent: percentText(j.conversionRate),
        // Entries converted before a goal was removed still count; a journey that never had one shows a dash.
        showConversion: j.goal !== null || j.convertedCount > 0,
        lastActivityAt: j.lastActivityAt,
        plannerUrl: plannerPaths.planner(j.journeyId),
        infoUrl: plannerPaths.info(j.journeyId),
        enableUrl: plannerPaths.command(j.journeyId, 'enable'),
        disableUrl: plannerPaths.command(j.journeyId, 'disable'),
        copyUrl: plannerPaths.command(j.journeyId, 'copy'),
        deleteUrl: plannerPaths.command(j.journeyId, 'delete'),
      })),
    };
  }

  async createForm(
    user: HostUser,
    values?: { name: string; notes: string; trigger: TriggerFormValues; goal: GoalFormValues },
    error?: JourneysException,
  ): Promise<PageModel> {
    return {
      title: 'Create Journey',
      action: plannerPaths.list(),
      cancelUrl: plannerPaths.list(),
      name: values?.name ?? '',
      notes: values?.notes ?? '',
      ...(await this.triggerFields(user, values?.trigger ?? EMPTY_TRIGGER_FORM)),
      ...(await this.goalFields(user, values?.goal ?? EMPTY_GOAL_FORM)),
      ...errorsOf(error),
    };
  }

  async info(
    user: HostUser,
    journeyId: number,
    state: {
      values?: { name: string; notes: string; reEntry: string; trigger: TriggerFormValues; goal: GoalFormValues };
      error?: JourneysException;
      flash?: string;
    } = {},
  ): Promise<PageModel> {
    const journey = await this.journeys.get(user.userId, journeyId);
    const values = state.values ?? {
      name: journey.name,
      notes: journey.notes ?? '',
      reEntry: journey.reEntry,
      trigger: triggerFormFromTrigger(journey.trigger),
      goal: goalFormFromGoal(journey.goal),
    };
    return {
      ...(await this.frame(user, journey, 'info')),
      title: `${journey.name} · Journey Information`,
      flash: flashText(state.flash),
      action: plannerPaths.info(journeyId),
      copyUrl: plannerPaths.command(journeyId, 'copy'),
      deleteUrl: plannerPaths.command(journeyId, 'delete'),
      name: values.name,
      notes: values.notes,
      reEntryAllow: values.reEntry !== 'once',
      ...(await this.triggerFields(user, values.trigger)),
      ...(await this.goalFields(user, values.goal)),
      ...errorsOf(state.error),
    };
  }

  async planner(user: HostUser, journeyId: number, state: PlannerState = {}): Promise<PageModel> {
    const [journey, lists, fields, emails, all, counts] = await Promise.all([
      this.journeys.get(user.userId, journeyId),
      this.host.audience.listLists(user.userId),
      this.host.audience.listCustomFields(user.userId),
      this.host.audience.listEmails(user.userId),
      this.journeys.list(user.userId),
      this.stats.actionCounts(user.userId, journeyId),
    ]);
    const tree = state.draft ?? (journey.actions as unknown as DraftAction[]);
    const known = new Set(allDraftActions(tree).map((a) => a.id));
    const byAction = new Map<string, string[]>();
    const general: string[] = [];
    for (const v of state.violations ?? []) {
      if (v.actionId && known.has(v.actionId)) byAction.set(v.actionId, [...(byAction.get(v.actionId) ?? []), v.message]);
      else general.push(v.message);
    }
    const ctx = {
      lists,
      fields,
      emails,
      counts,
      violations: byAction,
      journeys: all.filter((j) => j.journeyId !== journeyId).map((j) => ({ journeyId: j.journeyId, name: j.name })),
      tree,
    };
    const total = (state.violations ?? []).length;
    return {
      ...(await this.frame(user, journey, 'planner')),
      title: `${journey.name} · Action Planner`,
      goalText: journey.goal
        ? describeGoal(journey.goal, { ...(await this.names(user)), fields: new Map(fields.map((f) => [f.customFieldId, f.name])) })
        : null,
      infoUrl: plannerPaths.info(journeyId),
      flash: flashText(state.flash),
      action: plannerPaths.planner(journeyId),
      version: state.version ?? journey.version,
      tree: JSON.stringify(treeShape(tree)),
      nodes: plannerNodes(tree, ctx),
      empty: tree.length === 0,
      rootSlot: 'root',
      palette: paletteGroups(),
      operatorsJson: JSON.stringify(operatorsByKind()),
      templates: paletteGroups()
        .flatMap((g) => g.types)
        .map((t) => ({
          type: t.type,
          node: plannerNodes([blank(t.type)], { ...ctx, violations: new Map(), tree: [blank(t.type)] })[0],
        })),
      // A split's new path for planner.js: placeholders it replaces (`__KEY__` is path<n>, `__ID__` the split's id).
      branchTemplate: { slot: '__KEY__.__ID__', key: '__KEY__', label: '__LABEL__', tone: 'Path', percent: '__PERCENT__', count: 0, nodes: [] },
      unsaved: state.draft !== undefined && !state.preview,
      error: state.error,
      violationCount: total,
      violationSummary: total === 0 ? null : `${total} ${total === 1 ? 'problem' : 'problems'} to fix before the actions can be saved:`,
      generalViolations: general,
      violationList: (state.violations ?? []).map((v) => ({ message: v.message, anchor: v.actionId && known.has(v.actionId) ? `action-${v.actionId}` : null })),
      preview: state.preview ? { ...impactWords(state.preview), enabled: state.preview.enabled } : null,
    };
  }

  /** The planner again with a refused draft and every violation next to its action. */
  plannerWithErrors(user: HostUser, journeyId: number, body: FormBody, error: JourneysException): Promise<PageModel> {
    return this.planner(user, journeyId, {
      draft: draftFromForm(body),
      version: expectedVersion(body),
      violations: error.violations,
      error: error.code === JourneysErrorCode.Conflict || error.violations.length === 0 ? error.message : undefined,
    });
  }

  async funnel(user: HostUser, journeyId: number): Promise<PageModel> {
    const [journey, funnel, summary] = await Promise.all([
      this.journeys.get(user.userId, journeyId),
      this.stats.funnel(user.userId, journeyId),
      this.stats.entriesSummary(user.userId, journeyId),
    ]);
    return {
      ...(await this.frame(user, journey, 'funnel')),
      title: `${journey.name} · Funnel`,
      chart: funnelChart(funnel),
      empty: funnel.entered === 0,
      summary: [
        { label: 'Entered', value: summary.total },
        { label: 'In progress', value: summary.active + summary.waiting },
        { label: 'Retrying', value: summary.retrying },
        { label: 'Completed', value: summary.completed },
        { label: 'Exited', value: summary.exited },
        { label: 'Failed', value: summary.failed },
        ...(funnel.hasGoal || summary.converted > 0
          ? [{ label: 'Converted', value: summary.converted, detail: percentText(summary.conversionRate), converted: true }]
          : []),
      ],
    };
  }

  async failed(user: HostUser, journeyId: number, flash?: string): Promise<PageModel> {
    const [journey, entries] = await Promise.all([this.journeys.get(user.userId, journeyId), this.stats.failedEntries(user.userId, journeyId)]);
    const rows = entries.map((e) => ({
      ...e,
      historyUrl: e.emailAddress ? plannerPaths.journeyHistory(journeyId, e.emailAddress) : null,
      retryUrl: plannerPaths.entryCommand(journeyId, e.entryId, 'retry'),
      skipUrl: plannerPaths.entryCommand(journeyId, e.entryId, 'skip'),
      nextAttemptIso: e.nextAttemptAt ? new Date(e.nextAttemptAt).toISOString() : null,
    }));
    return {
      ...(await this.frame(user, journey, 'failed')),
      title: `${journey.name} · Failed and Retrying Entries`,
      flash: flashText(flash),
      timeZone: user.timeZone,
      failedEntries: rows.filter((e) => e.status === 'failed'),
      retryingEntries: rows.filter((e) => e.status === 'retrying'),
    };
  }

  /** A subscriber's journey history; only this journey's entries when journeyId is given. */
  async history(user: HostUser, email: string, journeyId?: number): Promise<PageModel> {
    const journey = journeyId === undefined ? null : await this.journeys.get(user.userId, journeyId);
    const found = email ? await this.stats.history(user.userId, email) : [];
    const subscribers = found
      .map((s) => ({ ...s, entries: journey ? s.entries.filter((e) => e.journeyId === journey.journeyId) : s.entries }))
      .map((s) => ({
        ...s,
        entries: s.entries.map((e) => ({
          ...e,
          plannerUrl: plannerPaths.planner(e.journeyId),
          failed: e.state === 'failed',
          // A converted entry's reason says which event met the goal ("Goal met: …"); others say why they left.
          endText: e.exitReason ? (e.state === 'converted' ? e.exitReason : `Exit: ${e.exitReason}`) : null,
          log: e.log.map((row) => ({ ...row, result: readableResult(row.result, user.timeZone) })),
        })),
      }));
    return {
      ...(journey ? await this.frame(user, journey, 'history') : { listUrl: plannerPaths.list() }),
      title: journey ? `${journey.name} · Subscriber History` : 'Subscriber Journey History',
      action: journey ? plannerPaths.journeyHistory(journey.journeyId) : plannerPaths.history(),
      email,
      searched: email !== '',
      timeZone: user.timeZone,
      subscribers,
      nothingFound: email !== '' && subscribers.every((s) => s.entries.length === 0),
    };
  }

  async confirm(user: HostUser, journeyId: number, command: 'delete' | 'disable', back: string): Promise<PageModel> {
    const journey = await this.journeys.get(user.userId, journeyId);
    const summary = await this.stats.entriesSummary(user.userId, journeyId);
    const inside = summary.active + summary.waiting + summary.retrying + summary.failed;
    const people = `${inside} ${inside === 1 ? 'subscriber is' : 'subscribers are'} inside it now.`;
    return {
      title: command === 'delete' ? `Delete ${journey.name}?` : `Disable ${journey.name}?`,
      name: journey.name,
      question: command === 'delete' ? 'Delete this journey?' : 'Disable this journey?',
      detail:
        command === 'delete'
          ? `${people} Deleting the journey removes them from it and deletes its history. This cannot be undone.`
          : `${people} While the journey is disabled nobody new enters it and the subscribers inside are paused where they are; enabling it again resumes them.`,
      action: plannerPaths.command(journeyId, command),
      confirmLabel: command === 'delete' ? 'Delete Journey' : 'Disable Journey',
      danger: command === 'delete',
      back,
      cancelUrl: back === 'planner' ? plannerPaths.planner(journeyId) : plannerPaths.list(),
    };
  }

  private async frame(user: HostUser, journey: JourneyDetail, tab: JourneyTab) {
    const names = await this.names(user);
    const id = journey.journeyId;
    const tabs: { tab: JourneyTab; label: string; url: string }[] = [
      { tab: 'info', label: 'Journey Information', url: plannerPaths.info(id) },
      { tab: 'planner', label: 'Action Planner', url: plannerPaths.planner(id) },
      { tab: 'funnel', label: 'Funnel', url: plannerPaths.funnel(id) },
      { tab: 'failed', label: 'Failed and Retrying', url: plannerPaths.failed(id) },
      { tab: 'history', label: 'Subscriber History', url: plannerPaths.journeyHistory(id) },
    ];
    return {
      listUrl: plannerPaths.list(),
      journey: {
        id,
        name: journey.name,
        enabled: journey.status === 'Enabled',
        status: journey.status,
        triggerText: describeTrigger(journey.trigger, names),
        enableUrl: plannerPaths.command(id, 'enable'),
        disableUrl: plannerPaths.command(id, 'disable'),
      },
      menu: tabs.map((t) => ({ ...t, active: t.tab === tab })),
      tab,
    };
  }

  private async names(user: HostUser): Promise<TriggerNames> {
    const [lists, emails] = await Promise.all([this.host.audience.listLists(user.userId), this.host.audience.listEmails(user.userId)]);
    return { lists: new Map(lists.map((l) => [l.listId, l.name])), emails: new Map(emails.map((e) => [e.emailId, e.name])) };
  }

  private async goalFields(user: HostUser, values: GoalFormValues) {
    const [emails, fields] = await Promise.all([this.host.audience.listEmails(user.userId), this.host.audience.listCustomFields(user.userId)]);
    return { ...goalFields(values, emails, fields), operatorsJson: JSON.stringify(operatorsByKind()) };
  }

  private async triggerFields(user: HostUser, values: TriggerFormValues) {
    const [lists, emails] = await Promise.all([this.host.audience.listLists(user.userId), this.host.audience.listEmails(user.userId)]);
    return {
      triggerTypes: TRIGGER_CHOICES.map((c) => ({ ...c, checked: c.value === (values.triggerType || 'subscription') })),
      anyList: values.listIds.includes('any'),
      lists: lists.map((l) => ({ value: l.listId, label: l.name, checked: values.listIds.includes(String(l.listId)) })),
      anyEmail: values.emailIds.includes('any'),
      emails: emailChecks(emails, values.emailIds),
      linkMatchPattern: values.linkMatch === 'pattern',
      link: values.link,
      channel: values.channel,
      minValue: values.minValue,
      triggerType: values.triggerType || 'subscription',
    };
  }
}

/** A new action of this type with the placeholder id planner.js replaces when it adds one. */
function blank(type: string): DraftAction {
  return isActionType(type) ? newAction(type, '__ID__') : { id: '__ID__', type, settings: {} };
}
