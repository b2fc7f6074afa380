/** Injection tokens shared by the plug-in's feature modules. */
export const PLUGIN_CONFIG = Symbol('PLUGIN_CONFIG');
export const SEQUELIZE = Symbol('SEQUELIZE');
export const TABLES = Symbol('TABLES');
/** A clock, so tests can move time instead of sleeping. */
export const CLOCK = Symbol('CLOCK');

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
