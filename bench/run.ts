/**
 * `npm run bench`: every benchmark, one after the other (never at the same
 * time: they would share the two cores), each with its baseline measured in the
 * same run. Options come from the environment (see enrolment.bench.ts,
 * long-waits.bench.ts and host-subscribe.bench.ts); `npm run bench -- enrolment`,
 * `-- long-waits` or `-- host-subscribe` runs one.
 * BENCH_FEEDS (default `hooks,acceptMany`): the enrolment benchmark runs once
 * per feed, each time with its own baseline.
 *
 *   npm run build && npm run bench
 */
import * as os from 'os';
import { enrolmentOptionsFromEnv, runEnrolmentBench } from './enrolment.bench';
import { hostSubscribeOptionsFromEnv, runHostSubscribeBench } from './host-subscribe.bench';
import { longWaitsOptionsFromEnv, runLongWaitsBench } from './long-waits.bench';
import { log } from './bench-support';

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only && only !== 'enrolment' && only !== 'long-waits' && only !== 'host-subscribe') {
    throw new Error(`unknown benchmark ${only}: enrolment, long-waits or host-subscribe`);
  }
  const started = new Date();
  log(`node ${process.version}, ${os.cpus().length} cores, started ${started.toISOString()}`);
  if (!only || only === 'enrolment') {
    const feeds = (process.env.BENCH_FEEDS ?? 'hooks,acceptMany').split(',').map((f) => f.trim());
    for (const feed of feeds) {
      if (feed !== 'hooks' && feed !== 'acceptMany') throw new Error(`BENCH_FEEDS: unknown feed ${feed}`);
      await runEnrolmentBench({ ...enrolmentOptionsFromEnv(), feed });
    }
  }
  if (!only || only === 'long-waits') await runLongWaitsBench(longWaitsOptionsFromEnv());
  if (!only || only === 'host-subscribe') {
    const { problems } = await runHostSubscribeBench(hostSubscribeOptionsFromEnv());
    if (problems.length > 0) process.exitCode = 1;
  }
  log(`done in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
