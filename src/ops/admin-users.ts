/**
 * Who may open the operator tools (the queue dashboard). The host's admin
 * context knows who is logged in but not who operates the installation, so
 * the plug-in takes a list of host UserIDs from its configuration:
 * ADMIN_USER_IDS (comma-separated), by default `1` — the first user, the
 * installation's owner in Oempro and the demo user of the reference host.
 */
import type { AppConfig } from '../config/env';

export function adminUserIds(config: Pick<AppConfig, 'ADMIN_USER_IDS'>): Set<number> {
  return new Set(config.ADMIN_USER_IDS.split(',').map(Number));
}
