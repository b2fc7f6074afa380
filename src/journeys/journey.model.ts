/**
 * Sequelize models of the journeys feature: the journey row and its trigger
 * index rows. They are defined per Sequelize instance (not as static classes
 * bound once), because table names carry the host prefix and one process may
 * run several instances (tests use a random prefix each). Never sync(): the
 * tables come from migrations/ only.
 */
import { DataTypes, Model, type CreationOptional, type InferAttributes, type InferCreationAttributes, type ModelStatic, type Sequelize } from 'sequelize';
import type { PluginTables } from '../database/tables';
import type { JourneyStatus, ReEntryRule } from '../engine/journey.types';

export const JOURNEY_MODELS = Symbol('JOURNEY_MODELS');

export class JourneyModel extends Model<InferAttributes<JourneyModel>, InferCreationAttributes<JourneyModel>> {
  declare JourneyID: CreationOptional<number>;
  declare RelOwnerUserID: number;
  declare Name: string;
  declare Notes: string | null;
  declare TriggerType: string;
  /** JSON of the trigger without its `type` (see journey.codec.ts). */
  declare TriggerSettings: string;
  declare Status: JourneyStatus;
  declare ReEntry: ReEntryRule;
  /** JSON of the action tree. */
  declare Actions: string;
  /** JSON of the goal, NULL for none. */
  declare Goal: string | null;
  declare Version: CreationOptional<number>;
  declare WebhookSecret: string;
  declare CreatedAt: CreationOptional<Date>;
  declare UpdatedAt: CreationOptional<Date>;
  declare LastActivityAt: CreationOptional<Date | null>;
}

export class JourneyTriggerModel extends Model<InferAttributes<JourneyTriggerModel>, InferCreationAttributes<JourneyTriggerModel>> {
  declare JourneyID: number;
  declare RelOwnerUserID: number;
  declare TriggerType: string;
  /** 0 = any list / email of the owner. */
  declare TargetID: number;
  declare Enabled: boolean;
}

export interface JourneyModels {
  Journey: ModelStatic<JourneyModel>;
  JourneyTrigger: ModelStatic<JourneyTriggerModel>;
}

export function defineJourneyModels(sequelize: Sequelize, tables: PluginTables): JourneyModels {
  // Fresh subclasses per instance, so each keeps its own Sequelize and table name.
  const Journey = class extends JourneyModel {};
  Journey.init(
    {
      JourneyID: { type: DataTypes.INTEGER.UNSIGNED, primaryKey: true, autoIncrement: true },
      RelOwnerUserID: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      Name: { type: DataTypes.STRING(250), allowNull: false },
      Notes: { type: DataTypes.TEXT, allowNull: true },
      TriggerType: { type: DataTypes.STRING(32), allowNull: false },
      TriggerSettings: { type: DataTypes.TEXT('long'), allowNull: false },
      Status: { type: DataTypes.ENUM('Enabled', 'Disabled'), allowNull: false, defaultValue: 'Disabled' },
      ReEntry: { type: DataTypes.ENUM('allow', 'once'), allowNull: false, defaultValue: 'allow' },
      Actions: { type: DataTypes.TEXT('long'), allowNull: false },
      Goal: { type: DataTypes.TEXT, allowNull: true },
      Version: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 1 },
      WebhookSecret: { type: DataTypes.STRING(100), allowNull: false },
      CreatedAt: { type: DataTypes.DATE(3) },
      UpdatedAt: { type: DataTypes.DATE(3) },
      LastActivityAt: { type: DataTypes.DATE(3), allowNull: true },
    },
    { sequelize, tableName: tables.journeys, modelName: 'Journey', timestamps: true, createdAt: 'CreatedAt', updatedAt: 'UpdatedAt' },
  );

  const JourneyTrigger = class extends JourneyTriggerModel {};
  JourneyTrigger.init(
    {
      JourneyID: { type: DataTypes.INTEGER.UNSIGNED, primaryKey: true },
      RelOwnerUserID: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      TriggerType: { type: DataTypes.STRING(32), allowNull: false },
      TargetID: { type: DataTypes.INTEGER.UNSIGNED, primaryKey: true },
      Enabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    },
    { sequelize, tableName: tables.triggers, modelName: 'JourneyTrigger', timestamps: false },
  );

  return { Journey, JourneyTrigger };
}
