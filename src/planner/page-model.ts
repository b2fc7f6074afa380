/** What a planner controller returns: a view model (rendered by PageInterceptor) or a redirect. */
export interface PageModel {
  /** Page title in the host layout (plain text). */
  title: string;
  /** HTTP status of the page, 200 when absent. */
  status?: number;
  [key: string]: unknown;
}

export class PageRedirect {
  constructor(readonly url: string) {}
}

export const redirectTo = (url: string) => new PageRedirect(url);
