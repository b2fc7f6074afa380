/**
 * What a worker process (no pages, no hook bus of its own) takes straight
 * from the host's MySQL schema: the audience reads, and the custom field
 * writes, which go in the same transaction as the step that makes them.
 * Subscribe, Unsubscribe and Send Email need the host's own path and come
 * from elsewhere (src/host/http, or the host's own ports).
 */
import type { Sequelize } from 'sequelize';
import type { AdminContextPort, AudiencePort, HookBusPort, SubscriptionCommandsPort } from '../host.ports';
import { MySqlAudience } from './mysql-audience';
import { MySqlCustomFieldWriter } from './mysql-custom-field-writer';

export interface MySqlWorkerBase {
  audience: AudiencePort;
  fieldWrites: Required<Pick<SubscriptionCommandsPort, 'setCustomField' | 'setCustomFields'>>;
  /** A worker serves no admin pages. */
  admin: AdminContextPort;
  /** A worker hears no host hooks: the host fires them to its web processes (or posts them to the hook ingest). */
  hooks: HookBusPort;
}

export function mysqlWorkerBase(sequelize: Sequelize, prefix: string): MySqlWorkerBase {
  const writer = new MySqlCustomFieldWriter(sequelize, prefix);
  return {
    audience: new MySqlAudience(sequelize, prefix),
    fieldWrites: {
      setCustomField: (userId, ref, fieldId, value, transaction) => writer.setCustomField(userId, ref, fieldId, value, transaction),
      setCustomFields: (userId, listId, writes, transaction) => writer.setCustomFields(userId, listId, writes, transaction),
    },
    admin: { currentUser: async () => null, loginUrl: () => '/', renderLayout: async () => '' },
    hooks: { on: () => undefined, fire: async () => undefined },
  };
}
