/**
 * Which branch an entry took at a branching action, read from that action's
 * execution-log Result as the engine writes it: `yes` / `no` (Yes/No
 * condition), `yes: <event id>` / `no: timed out` (Wait for event), `path A`…
 * (Random split). The answer is the branch key `branchesOf()` uses.
 */

/** The SQL expression grouping log rows by the branch their Result names (the text before any ':'). */
export const BRANCH_OF_RESULT_SQL = "SUBSTRING_INDEX(Result, ':', 1)";

const SPLIT_PATH = /^path ([A-E])$/;

/** `yes`, `no`, `path1`…, or null for a Result that names no branch. */
export function branchTaken(result: string | null | undefined): string | null {
  if (!result) return null;
  const head = result.split(':')[0].trim();
  if (head === 'yes' || head === 'no') return head;
  const path = SPLIT_PATH.exec(head);
  return path ? `path${path[1].charCodeAt(0) - 64}` : null;
}
