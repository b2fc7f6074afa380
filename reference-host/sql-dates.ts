/** MySQL DATETIME text in UTC, whole seconds, as the host stores subscription dates. */
export function toSqlDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** MySQL DATETIME(3) text in UTC (Sequelize would drop the milliseconds of a Date replacement). */
export function toSqlDateMs(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}
