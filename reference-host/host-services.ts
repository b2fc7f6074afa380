import type { Sequelize } from 'sequelize';
import type { MySqlAudience } from '../src/host/mysql/mysql-audience';
import type { HostTables } from '../src/host/mysql/host-tables';
import type { HostActivity } from './activity.service';
import type { HostAdminContext } from './admin-context';
import type { HostEmailSender } from './email-sender.service';
import type { HostHookBus } from './hook-bus';
import type { HostSessions } from './session';
import type { HostSubscriptions } from './subscriptions.service';

export const HOST_SERVICES = Symbol('HOST_SERVICES');

/** The reference host's own services, shared by its controllers. */
export interface HostServices {
  sequelize: Sequelize;
  tables: HostTables;
  audience: MySqlAudience;
  subscriptions: HostSubscriptions;
  /** The Send Email path and its outbox. */
  email: HostEmailSender;
  activity: HostActivity;
  admin: HostAdminContext;
  hooks: HostHookBus;
  session: HostSessions;
}
