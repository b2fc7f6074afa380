/** A journey's conversion rate: entries that met its goal over entries that entered it (0–1), null while nobody entered. */
export function conversionRate(converted: number, total: number): number | null {
  return total > 0 ? converted / total : null;
}
