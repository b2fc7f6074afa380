/**
 * Reads and writes of journey rows, always scoped to the owner. Another user's
 * journey id is answered exactly like a missing one: NotFound.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Sequelize, Transaction } from 'sequelize';
import { JourneysException } from '../common/journeys.exception';
import type { Trigger } from '../engine/journey.types';
import { triggerTargets } from '../engine/trigger-match';
import { JOURNEY_MODELS, type JourneyModel, type JourneyModels } from './journey.model';

@Injectable()
export class JourneyRepository {
  constructor(@Inject(JOURNEY_MODELS) private readonly models: JourneyModels) {}

  get Journey() {
    return this.models.Journey;
  }

  /** The owner's journey, or NotFound. `lock` takes a row lock for the transaction. */
  async findOwned(userId: number, journeyId: number, options: { transaction?: Transaction; lock?: boolean } = {}): Promise<JourneyModel> {
    const row =
      Number.isSafeInteger(journeyId) && journeyId > 0
        ? await this.models.Journey.findOne({
            where: { JourneyID: journeyId, RelOwnerUserID: userId },
            transaction: options.transaction,
            lock: options.lock && options.transaction ? options.transaction.LOCK.UPDATE : undefined,
          })
        : null;
    if (!row) throw JourneysException.notFound(`Journey ${journeyId}`);
    return row;
  }

  /** The owner's journeys, oldest first; `withoutActions` leaves the (possibly large) action trees out. */
  listOwned(userId: number, options: { withoutActions?: boolean } = {}): Promise<JourneyModel[]> {
    return this.models.Journey.findAll({
      where: { RelOwnerUserID: userId },
      order: [['JourneyID', 'ASC']],
      ...(options.withoutActions ? { attributes: { exclude: ['Actions'] } } : {}),
    });
  }

  /** Rebuilds the journey's rows in the matching index: one per target (0 = any), Enabled mirroring the status. */
  async writeTriggerIndex(journey: JourneyModel, trigger: Trigger, transaction: Transaction): Promise<void> {
    await this.models.JourneyTrigger.destroy({ where: { JourneyID: journey.JourneyID }, transaction });
    const targets = [...new Set(triggerTargets(trigger))];
    if (targets.length === 0) return;
    await this.models.JourneyTrigger.bulkCreate(
      targets.map((TargetID) => ({
        JourneyID: journey.JourneyID,
        RelOwnerUserID: journey.RelOwnerUserID,
        TriggerType: trigger.type,
        TargetID,
        Enabled: journey.Status === 'Enabled',
      })),
      { transaction },
    );
  }

  async setTriggerIndexEnabled(journeyId: number, enabled: boolean, transaction: Transaction): Promise<void> {
    await this.models.JourneyTrigger.update({ Enabled: enabled }, { where: { JourneyID: journeyId }, transaction });
  }
}

const RETRIED_LOCK_ERRORS = ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'];

/**
 * A transaction retried (up to 3 attempts) when InnoDB picks it as a deadlock
 * victim: the workers lock entries then their journey row (LastActivityAt),
 * while a save locks the journey row then exits entries, so the two can cross.
 * The work only touches MySQL, so running it again is safe.
 */
export async function transactionWithRetry<T>(sequelize: Sequelize, work: (transaction: Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sequelize.transaction(work);
    } catch (error) {
      const e = error as { parent?: { code?: string }; original?: { code?: string } };
      const code = e?.parent?.code ?? e?.original?.code;
      if (attempt >= 3 || !code || !RETRIED_LOCK_ERRORS.includes(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.floor(Math.random() * 20)));
    }
  }
}
