/**
 * The host's in-process hook bus. fire() runs every listener of the hook in
 * registration order and reports all failures together: a failing plug-in
 * never hides another listener, and the caller decides whether to surface it.
 */
import { AsyncLocalStorage } from 'async_hooks';
import type { HookBusPort, HookHandler } from '../src/host/host.ports';

/** One fire() seen by collect(): the hook, its payload and what each listener returned (in order). */
export interface FiredHook {
  hookName: string;
  payload: unknown;
  results: unknown[];
}

interface Collector {
  fired: FiredHook[];
  open: boolean;
}

export class HookFailedError extends AggregateError {
  constructor(
    readonly hookName: string,
    errors: unknown[],
  ) {
    super(errors, `${errors.length} listener(s) of ${hookName} failed: ${errors.map((e) => (e as Error)?.message ?? String(e)).join('; ')}`);
    this.name = 'HookFailedError';
  }
}

export class HostHookBus implements HookBusPort {
  private readonly listeners = new Map<string, HookHandler[]>();
  private readonly collectors = new AsyncLocalStorage<Collector>();

  /**
   * Runs `work` and reports every hook it fired, in the order fired (an outer
   * hook before the hooks its listeners fired), with the listeners' results:
   * the dashboard's forms tell from it how many journeys a subscription enrolled.
   */
  async collect<T>(work: () => Promise<T>): Promise<{ result: T; fired: FiredHook[] }> {
    const collector: Collector = { fired: [], open: true };
    try {
      const result = await this.collectors.run(collector, work);
      return { result, fired: [...collector.fired] };
    } finally {
      // Work queued during `work` may keep this context; it must not keep adding to it.
      collector.open = false;
    }
  }

  on(hookName: string, handler: HookHandler): void {
    this.listeners.set(hookName, [...(this.listeners.get(hookName) ?? []), handler]);
  }

  /** Removes one listener (tests add and remove their own). */
  off(hookName: string, handler: HookHandler): void {
    this.listeners.set(
      hookName,
      (this.listeners.get(hookName) ?? []).filter((h) => h !== handler),
    );
  }

  listenerCount(hookName: string): number {
    return this.listeners.get(hookName)?.length ?? 0;
  }

  async fire(hookName: string, payload: unknown): Promise<void> {
    const errors: unknown[] = [];
    const collector = this.collectors.getStore();
    const seen: FiredHook | undefined = collector?.open ? { hookName, payload, results: [] } : undefined;
    if (seen) collector!.fired.push(seen);
    for (const handler of this.listeners.get(hookName) ?? []) {
      try {
        const result: unknown = await handler(payload);
        seen?.results.push(result);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new HookFailedError(hookName, errors);
  }
}
