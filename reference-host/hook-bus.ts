/**
 * The host's in-process hook bus. fire() runs every listener of the hook in
 * registration order and reports all failures together: a failing plug-in
 * never hides another listener, and the caller decides whether to surface it.
 */
import type { HookBusPort, HookHandler } from '../src/host/host.ports';

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

  on(hookName: string, handler: HookHandler): void {
    this.listeners.set(hookName, [...(this.listeners.get(hookName) ?? []), handler]);
  }

  /** Removes one listener (tests add and remove their own). */
  off(hookName: string, handler: HookHandler): void {
    this.listeners.set(hookName, (this.listeners.get(hookName) ?? []).filter((h) => h !== handler));
  }

  listenerCount(hookName: string): number {
    return this.listeners.get(hookName)?.length ?? 0;
  }

  async fire(hookName: string, payload: unknown): Promise<void> {
    const errors: unknown[] = [];
    for (const handler of this.listeners.get(hookName) ?? []) {
      try {
        await handler(payload);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new HookFailedError(hookName, errors);
  }
}
