/**
 * `work`, or a rejection once `ms` have passed without an answer. The work is
 * not cancelled: it may still finish later (its outcome then goes unheard).
 */
export async function withinMs<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined); // a late failure, after the time ran out, is nobody's to handle
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
