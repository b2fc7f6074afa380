/** Injection tokens shared by the plug-in's feature modules. */
export const PLUGIN_CONFIG = Symbol('PLUGIN_CONFIG');
export const SEQUELIZE = Symbol('SEQUELIZE');
/** The runtime's own mysql2 pool (src/database/db.ts). */
export const DB = Symbol('DB');
export const TABLES = Symbol('TABLES');
/** A clock, so tests can move time instead of sleeping. */
export const CLOCK = Symbol('CLOCK');

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
