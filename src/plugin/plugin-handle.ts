/**
 * What the host keeps after `load` and passes to every hook handler in hooks/.
 */
import type { AppConfig } from '../config/env';
import type { TriggerIntake } from '../runtime/trigger-intake';

export interface PluginHandle {
  config: AppConfig;
  /** Gated intake: answers `{ enrolled: 0 }` without enrolling once the plug-in is disabled. */
  intake: TriggerIntake;
  /** False after `disable`: the plug-in takes no new work but keeps all data. */
  readonly accepting: boolean;
}
