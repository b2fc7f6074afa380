/**
 * External actions at scale: EXTERNAL_COUNT subscribers (default 20,000) of a
 * pre-filled list imported (fired through the host's hook bus, all at once)
 * into the journey
 *   Update Custom Field → Webhook → Subscribe to list → Wait 5 s → Webhook,
 * and its Send Email variant (the first Webhook replaced by Send Email: the
 * host records each send in its outbox),
 * with a local webhook receiver (127.0.0.1, answers 200;
 * WEBHOOK_ALLOW_PRIVATE=true). The host runs as ROLE=web (pages, API, hook
 * intake, the HTTP host API) and listens; the queue work runs in 1, then 2
 * separate worker processes (src/worker.main), which reach the host's
 * subscription path over its HTTP host API. Measured: entries/s to drain,
 * from the first event handed in until every entry is `completed`. Checked
 * row by row: every entry completed, every field written, each webhook-id
 * received (at least once; duplicates counted), every subscriber subscribed
 * to the target list once, each email in the outbox once. Also printed: per action, claim → done times from
 * the execution log; errors the host logged (its HTTP host API); InnoDB
 * deadlocks; each process's CPU share.
 *
 * Baselines, same run: as many plain keep-alive HTTP POSTs to the same
 * receiver (EXTERNAL_POST_CONCURRENCY in flight, default 64), and the raw Bull
 * ceiling (as many no-op jobs, addBulk ×1,000, concurrency 50).
 * Target: ≥ 1,000 entries/s with 2 workers.
 *
 *   npm run build && npm run bench -- external
 *
 * Environment: EXTERNAL_COUNT=20000  EXTERNAL_WORKERS=1,2  EXTERNAL_JOURNEYS=webhook,send_email  WORKER_CONCURRENCY=4
 *   EXTERNAL_POST_CONCURRENCY=64  EXTERNAL_TIMEOUT=120 (seconds per run to wait for the drain; a run that
 *   has not drained by then reports the entries completed per second so far, checks those, and is NOT MET)
 */
import { customFieldColumn } from '../src/host/mysql/host-tables';
import { referenceHostTables } from '../reference-host/schema';
import type { Action } from '../src/engine/journey.types';
import { plainPosts, rawBullCeiling, RAW_BULL_CONCURRENCY, startReceiver, type RateResult, type WebhookReceiver } from './bench-baselines';
import { cpuShares, ResourceMonitor, resourceRows, rssTargetMet, type ResourceReport } from './bench-resources';
import {
  count,
  countHostErrors,
  createEnabledJourney,
  createFilledList,
  createList,
  envInt,
  fmtInt,
  fmtMs,
  innodbDeadlocks,
  load1,
  log,
  machineNote,
  met,
  now,
  printGrid,
  printTable,
  sleep,
  withHost,
  type BenchHost,
  type TableRow,
} from './bench-support';
import { percentiles } from './bench-latency';
import { startWorkers, stopChildren } from './bench-workers';

/** The journey's second action: a Webhook, or a Send Email (the Send Email variant). */
export type ExternalVariant = 'webhook' | 'send_email';
const VARIANTS: readonly ExternalVariant[] = ['webhook', 'send_email'];

export interface ExternalBenchOptions {
  subscribers: number;
  workerCounts: number[];
  variants: ExternalVariant[];
  workerConcurrency: number;
  postConcurrency: number;
  timeoutSeconds: number;
}

export function externalOptionsFromEnv(): ExternalBenchOptions {
  const workerCounts = (process.env.EXTERNAL_WORKERS || '1,2').split(',').map((w) => Number(w.trim()));
  if (workerCounts.some((w) => !Number.isInteger(w) || w < 1))
    throw new Error(`EXTERNAL_WORKERS must list worker counts ≥ 1, got ${process.env.EXTERNAL_WORKERS}`);
  const variants = (process.env.EXTERNAL_JOURNEYS || VARIANTS.join(',')).split(',').map((v) => v.trim());
  const unknown = variants.filter((v) => !VARIANTS.includes(v as ExternalVariant));
  if (unknown.length > 0 || variants.length === 0)
    throw new Error(`EXTERNAL_JOURNEYS must list ${VARIANTS.join(' and/or ')}, got ${process.env.EXTERNAL_JOURNEYS} (unknown: ${unknown.join(', ')})`);
  return {
    subscribers: envInt('EXTERNAL_COUNT', 20_000),
    workerCounts,
    variants: variants as ExternalVariant[],
    workerConcurrency: envInt('WORKER_CONCURRENCY', 4),
    postConcurrency: envInt('EXTERNAL_POST_CONCURRENCY', 64),
    timeoutSeconds: envInt('EXTERNAL_TIMEOUT', 120),
  };
}

const SOURCE_LIST = 601;
const TARGET_LIST = 602;
/** The Webhook actions of each variant (each delivers a webhook-id per entry). */
const WEBHOOKS: Record<ExternalVariant, string[]> = { webhook: ['hook_first', 'hook_after_wait'], send_email: ['hook_after_wait'] };
const SECOND_ACTION: Record<ExternalVariant, string> = { webhook: 'hook_first', send_email: 'send_welcome' };
const VARIANT_TITLE: Record<ExternalVariant, string> = {
  webhook: 'Update Custom Field → Webhook → Subscribe → Wait 5 s → Webhook',
  send_email: 'Update Custom Field → Send Email → Subscribe → Wait 5 s → Webhook',
};
/** The journey's action ids, in order. */
const journeyActions = (variant: ExternalVariant) => ['set_city', SECOND_ACTION[variant], 'subscribe_target', 'wait_5s', 'hook_after_wait'];

interface DrainResult {
  variant: ExternalVariant;
  workers: number;
  ms: number;
  fedMs: number;
  /** Completed entries per second; every entry when `drained`, else those completed before the time limit. */
  perSecond: number;
  drained: boolean;
  checks: string;
  checksOk: boolean;
  load: string;
  resources: ResourceReport;
  /** Per action: done, claim → done p50 / p99 / max, retried, last done at. */
  actions: string[][];
}

/** One run: a fresh sandbox, N worker processes, the import, the drain, the checks. */
async function drainRun(
  opts: ExternalBenchOptions,
  receiver: WebhookReceiver,
  variant: ExternalVariant,
  workers: number,
  baselines?: (host: BenchHost) => Promise<void>,
): Promise<DrainResult> {
  const env = { ROLE: 'web', WEBHOOK_ALLOW_PRIVATE: 'true', SWEEP_INTERVAL_SECONDS: '3600' };
  return withHost(
    env,
    async (host) => {
      const monitor = await ResourceMonitor.start(host.config);
      const n = opts.subscribers;
      const ids = await createFilledList(host, SOURCE_LIST, 'External source', n);
      await createList(host, TARGET_LIST, 'External target');
      const city = host.demo.fields.city;
      const second: Action =
        variant === 'webhook'
          ? { id: SECOND_ACTION.webhook, type: 'webhook', settings: { url: `${receiver.url}/first`, method: 'POST' } }
          : { id: SECOND_ACTION.send_email, type: 'send_email', settings: { emailId: host.demo.emails.welcome, whenUndeliverable: 'skip' } };
      const journeyId = await createEnabledJourney(host, `Bench: external actions (${variant})`, { type: 'subscription', listIds: [SOURCE_LIST] }, [
        { id: 'set_city', type: 'update_custom_field', settings: { fieldId: city, value: 'External %Subscriber:EmailAddress%' } },
        second,
        { id: 'subscribe_target', type: 'subscribe', settings: { listId: TARGET_LIST } },
        { id: 'wait_5s', type: 'wait', settings: { amount: 5, unit: 'seconds' } },
        { id: 'hook_after_wait', type: 'webhook', settings: { url: `${receiver.url}/after-wait`, method: 'POST' } },
      ]);
      log(
        `sandbox ${host.prefix} / ${host.config.QUEUE_PREFIX}; ${variant} journey ${journeyId}; ${workers} worker process(es) × concurrency ${opts.workerConcurrency}`,
      );
      const children = await startWorkers(
        host,
        { count: workers, concurrency: opts.workerConcurrency, ports: 'http', env: { WEBHOOK_ALLOW_PRIVATE: 'true' } },
        monitor,
      );
      try {
        receiver.received.clear();
        const hostErrors = countHostErrors(host);
        const deadlocksBefore = await innodbDeadlocks(host);
        const occurredAt = new Date().toISOString();
        const payloads = ids.map((id) => ({
          EventID: `external-${variant}-${workers}-${id}`,
          UserID: host.demo.userA.userId,
          ListID: SOURCE_LIST,
          SubscriberID: id,
          EmailAddress: `import${id}@example.com`,
          OccurredAt: occurredAt,
        }));
        const cpuFrom = monitor.cpuMark();
        const startedAt = Date.now();
        const t0 = now();
        await Promise.all(payloads.map((p) => host.hooks.fire('Subscriber.Subscribed', p)));
        const fedMs = now() - t0;
        const ended = `SELECT COUNT(*) AS n FROM \`${host.t.entries}\` WHERE ListID = ? AND State IN ('completed', 'failed', 'exited')`;
        const deadline = now() + opts.timeoutSeconds * 1000;
        let lastLog = now();
        let settled = 0;
        while ((settled = await count(host, ended, [SOURCE_LIST])) < n && now() < deadline) {
          if (now() - lastLog > 10_000) {
            log(`  … ${fmtInt(settled)} / ${fmtInt(n)} ended`);
            lastLog = now();
          }
          await sleep(50);
        }
        const ms = now() - t0;
        const load = load1();
        const cpu = cpuShares(cpuFrom, monitor.cpuMark());
        await stopChildren(children, monitor);
        const checks = await check(host, receiver, variant, n);
        const actions = await actionTimings(host, variant, startedAt);
        const drained = settled >= n;
        const perSecond = (checks.completed * 1000) / ms;
        const deadlocks = (await innodbDeadlocks(host)) - deadlocksBefore;
        const text = `${checks.text}; host errors logged: ${fmtInt(hostErrors.count())}${hostErrors.first() ? ` (first: ${hostErrors.first()})` : ''}; InnoDB deadlocks (server-wide): ${fmtInt(deadlocks)}; ${cpu}`;
        log(
          `${variant}, ${workers} worker(s): ${fmtInt(perSecond)} entries/s (${fmtMs(ms)}${drained ? '' : `, NOT drained in ${opts.timeoutSeconds} s`}); ${text}`,
        );
        const resources = await monitor.snapshot(); // before the baselines run in this process
        if (baselines) await baselines(host);
        await monitor.stop();
        return { variant, workers, ms, fedMs, perSecond, drained, checks: text, checksOk: checks.ok, load, resources, actions };
      } finally {
        await stopChildren(children, monitor);
      }
    },
    { listen: true },
  );
}

/**
 * Where the time went, per action of the journey, from the execution log:
 * how many were done, claim → done (p50 / p99 / max), how many needed more
 * than one attempt, and when the last one was done (seconds after the first
 * event was handed in).
 */
async function actionTimings(host: BenchHost, variant: ExternalVariant, startedAt: number): Promise<string[][]> {
  const rows = await host.query<{ ActionID: string; Status: string; Attempts: number; CreatedAt: Date; CompletedAt: Date | null }>(
    `SELECT l.ActionID, l.Status, l.Attempts, l.CreatedAt, l.CompletedAt FROM \`${host.t.log}\` l JOIN \`${host.t.entries}\` e ON e.EntryID = l.EntryID WHERE e.ListID = ?`,
    [SOURCE_LIST],
  );
  const byAction = new Map<string, typeof rows>();
  for (const row of rows) byAction.set(row.ActionID, [...(byAction.get(row.ActionID) ?? []), row]);
  const order = journeyActions(variant).filter((a) => byAction.has(a));
  return order.map((action) => {
    const list = byAction.get(action)!;
    const done = list.filter((r) => r.Status === 'done' && r.CompletedAt);
    const spans = percentiles(done.map((r) => new Date(r.CompletedAt!).getTime() - new Date(r.CreatedAt).getTime()));
    const last = done.reduce((at, r) => Math.max(at, new Date(r.CompletedAt!).getTime()), -Infinity);
    const retried = list.filter((r) => Number(r.Attempts) > 1).length;
    const cell = (x: number) => (Number.isNaN(x) ? '-' : fmtMs(x));
    return [
      action,
      `${fmtInt(done.length)}/${fmtInt(list.length)}`,
      `${cell(spans.p50)} / ${cell(spans.p99)} / ${cell(spans.max)}`,
      fmtInt(retried),
      Number.isFinite(last) ? `${((last - startedAt) / 1000).toFixed(1)} s` : '-',
    ];
  });
}

/**
 * Row by row, over the entries that completed: their field written, every
 * webhook-id received, their address subscribed to the target list, (Send
 * Email variant) the email in the host's outbox exactly once. Entries
 * still in flight (a run that did not drain in time) are counted, not checked;
 * a failed entry fails the check.
 */
async function check(
  host: BenchHost,
  receiver: WebhookReceiver,
  variant: ExternalVariant,
  n: number,
): Promise<{ ok: boolean; completed: number; text: string }> {
  const entries = await host.query<{ EntryID: number; State: string }>(`SELECT EntryID, State FROM \`${host.t.entries}\` WHERE ListID = ?`, [SOURCE_LIST]);
  const completed = entries.filter((e) => e.State === 'completed');
  const failed = entries.filter((e) => e.State === 'failed').length;
  const source = `\`${host.t.entries}\` e JOIN \`${host.tables.subscribers(SOURCE_LIST)}\` s ON s.SubscriberID = e.SubscriberID`;
  const done = `e.ListID = ${SOURCE_LIST} AND e.State = 'completed'`;
  const written = await count(
    host,
    `SELECT COUNT(*) AS n FROM ${source} WHERE ${done} AND s.\`${customFieldColumn(host.demo.fields.city)}\` = CONCAT('External ', s.EmailAddress)`,
  );
  const subscribed = await count(
    host,
    `SELECT COUNT(*) AS n FROM ${source} JOIN \`${host.tables.subscribers(TARGET_LIST)}\` t ON t.EmailAddress = s.EmailAddress WHERE ${done} AND t.SubscriptionStatus = 'Subscribed'`,
  );
  const targetRows = await count(host, `SELECT COUNT(*) AS n FROM \`${host.tables.subscribers(TARGET_LIST)}\``);
  const webhooks = WEBHOOKS[variant];
  let missing = 0;
  let duplicates = 0;
  for (const entry of entries) {
    for (const action of webhooks) {
      const times = receiver.received.get(`msg_${entry.EntryID}_${action}`) ?? 0;
      if (times === 0 && entry.State === 'completed') missing++;
      duplicates += Math.max(0, times - 1);
    }
  }
  const c = completed.length;
  const inFlight = n - c - failed;
  const mail = variant === 'send_email' ? await outboxCheck(host) : null;
  const ok =
    entries.length === n &&
    failed === 0 &&
    written === c &&
    missing === 0 &&
    subscribed === c &&
    targetRows <= n &&
    (!mail || (mail.sent >= c && mail.repeated === 0));
  const text =
    `${fmtInt(c)}/${fmtInt(n)} completed${inFlight > 0 ? ` (${fmtInt(inFlight)} still in flight, not checked)` : ''}${failed > 0 ? `, ${fmtInt(failed)} FAILED` : ''}; ` +
    `of the completed: ${fmtInt(written)} fields written, ${fmtInt(c * webhooks.length - missing)}/${fmtInt(c * webhooks.length)} webhook-ids received, ` +
    `${fmtInt(subscribed)} subscribed to the target list; ${fmtInt(duplicates)} duplicate deliveries; ${fmtInt(targetRows)} target list rows` +
    (mail ? `; outbox: ${fmtInt(mail.sent)} emails sent to ${fmtInt(mail.subscribers)} subscribers (${fmtInt(mail.repeated)} sent twice or more)` : '');
  return { ok, completed: c, text };
}

/** The host's outbox for the source list: sends recorded, distinct subscribers, subscribers with more than one. */
async function outboxCheck(host: BenchHost): Promise<{ sent: number; subscribers: number; repeated: number }> {
  const outbox = referenceHostTables(host.prefix).emailOutbox;
  const [row] = await host.query<{ sent: number; subscribers: number }>(
    `SELECT COUNT(*) AS sent, COUNT(DISTINCT RelSubscriberID) AS subscribers FROM \`${outbox}\` WHERE RelListID = ? AND RelEmailID = ? AND Status = 'sent'`,
    [SOURCE_LIST, host.demo.emails.welcome],
  );
  const repeated = await count(
    host,
    `SELECT COUNT(*) AS n FROM (SELECT RelSubscriberID FROM \`${outbox}\` WHERE RelListID = ? AND RelEmailID = ? GROUP BY RelSubscriberID HAVING COUNT(*) > 1) r`,
    [SOURCE_LIST, host.demo.emails.welcome],
  );
  return { sent: Number(row.sent), subscribers: Number(row.subscribers), repeated };
}

export async function runExternalBench(opts: ExternalBenchOptions): Promise<{ rows: TableRow[] }> {
  const receiver = await startReceiver();
  try {
    let posts: RateResult | undefined;
    let bull: RateResult | undefined;
    let baselineLoad = '';
    const measureBaselines = async (host: BenchHost) => {
      const body = JSON.stringify({ type: 'journey.webhook', data: { subscriber: { emailAddress: 'import1@example.com' }, padding: 'x'.repeat(600) } });
      log(`baseline: ${fmtInt(opts.subscribers)} plain keep-alive POSTs, ${opts.postConcurrency} in flight`);
      posts = await plainPosts(`${receiver.url}/plain`, opts.subscribers, opts.postConcurrency, body);
      log(`baseline: raw Bull, ${fmtInt(opts.subscribers)} no-op jobs`);
      bull = await rawBullCeiling(host, opts.subscribers);
      baselineLoad = load1();
      log(`baselines: ${fmtInt(posts.perSecond)} POSTs/s, ${fmtInt(bull.perSecond)} Bull jobs/s`);
    };
    const runs: DrainResult[] = [];
    for (const variant of opts.variants) {
      for (const workers of opts.workerCounts) runs.push(await drainRun(opts, receiver, variant, workers, runs.length === 0 ? measureBaselines : undefined));
    }

    const rows: TableRow[] = [];
    for (const variant of opts.variants) {
      const mine = runs.filter((r) => r.variant === variant);
      const two = mine.find((r) => r.workers === 2);
      const tableRows: TableRow[] = mine.map((r) => ({
        metric: r.drained
          ? `entries/s to drain, ${r.workers} worker process(es) (${fmtInt(opts.subscribers)} entries, ${fmtMs(r.ms)})`
          : `entries/s completed, ${r.workers} worker process(es): NOT drained within ${opts.timeoutSeconds} s`,
        journeys: fmtInt(r.perSecond),
        baseline: `${fmtInt(posts!.perSecond)} POSTs/s`,
        verdict: `${(r.perSecond / posts!.perSecond).toFixed(2)}× plain POSTs${r.workers === 2 ? `; target ≥ 1,000/s ${met(r.drained && r.perSecond >= 1000)}` : ''} (${r.load})`,
      }));
      tableRows.push({
        metric: `raw Bull ceiling (${fmtInt(opts.subscribers)} no-op jobs, concurrency ${RAW_BULL_CONCURRENCY}), per s`,
        journeys: two ? fmtInt(two.perSecond) : '-',
        baseline: fmtInt(bull!.perSecond),
        verdict: `${two ? `${(two.perSecond / bull!.perSecond).toFixed(2)}× raw Bull with 2 workers` : ''} (${baselineLoad})`,
      });
      for (const r of mine) tableRows.push(...resourceRows(r.resources).map((row) => ({ ...row, metric: `${r.workers} worker(s): ${row.metric}` })));
      printTable(`External actions: ${VARIANT_TITLE[variant]}`, tableRows, [
        ...mine.map((r) => `checks, ${r.workers} worker(s): ${r.checksOk ? 'OK' : 'FAILED'}: ${r.checks}; events handed in in ${fmtMs(r.fedMs)}`),
        `host ROLE=web (hook intake, HTTP host API) listening on 127.0.0.1; worker processes × concurrency ${opts.workerConcurrency} on the HTTP host API; webhook receiver on 127.0.0.1 in the bench process`,
        `the drain includes the 5 s Wait of the last entries; baseline POSTs carry a 0.7 KB JSON body, ${opts.postConcurrency} in flight; baselines measured once, in the first run`,
        `every process ≤ 300 MB RSS: ${met(mine.every((r) => rssTargetMet(r.resources)))}`,
        machineNote(),
      ]);
      for (const r of mine) {
        printGrid(
          `Where the time went, ${variant} journey, ${r.workers} worker process(es) (execution log)`,
          ['action', 'done', 'claim → done p50 / p99 / max', 'retried', 'last done at'],
          r.actions,
          ['claim → done: from the step that reached the action to the action done (external actions: including their wait for a sender and any retries)'],
        );
      }
      rows.push(...tableRows.map((row) => ({ ...row, metric: `${variant}: ${row.metric}` })));
    }
    if (!runs.every((r) => r.checksOk)) throw new Error('outcome check failed: see the checks lines above');
    return { rows };
  } finally {
    await receiver.close();
  }
}

if (require.main === module) {
  runExternalBench(externalOptionsFromEnv()).then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
