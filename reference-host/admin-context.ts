/**
 * AdminContextPort of the reference host: the session's user and the host
 * layout with its top menu. Plug-ins add entries under Campaigns from their manifest.
 */
import type { Request } from 'express';
import type { AdminContextPort, AudiencePort, HostUser, MenuEntry } from '../src/host/host.ports';
import type { HostLogin, HostSessions } from './session';
import { layoutTemplate, renderedHtml } from './views';

interface MenuItem {
  title: string;
  route?: string;
  children: MenuEntry[];
}

export class HostAdminContext implements AdminContextPort {
  private readonly pluginEntries: MenuEntry[] = [];

  constructor(
    private readonly sessions: HostSessions,
    private readonly audience: AudiencePort,
  ) {}

  addMenuEntries(entries: MenuEntry[]): void {
    this.pluginEntries.push(...entries);
  }

  get menuEntries(): readonly MenuEntry[] {
    return this.pluginEntries;
  }

  /** Null when the session is missing, forged, expired or logged out, or its user no longer exists: all mean logged out. */
  async currentLogin(req: Request): Promise<HostLogin | null> {
    const session = await this.sessions.sessionOf(req);
    const user = session ? await this.audience.getUser(session.userId) : null;
    return session && user ? { user, session } : null;
  }

  async currentUser(req: Request): Promise<HostUser | null> {
    return (await this.currentLogin(req))?.user ?? null;
  }

  loginUrl(): string {
    return '/login';
  }

  private menu(): MenuItem[] {
    return [
      { title: 'Dashboard', route: '/', children: [] },
      {
        title: 'Campaigns',
        children: [
          { location: 'Campaigns', title: 'Campaigns', route: '/campaigns' },
          { location: 'Campaigns', title: 'Autoresponders', route: '/campaigns#autoresponders' },
          ...this.pluginEntries.filter((e) => e.location === 'Campaigns'),
        ],
      },
    ];
  }

  async renderLayout(req: Request, page: { title: string; content: string; activeMenu?: string; stylesheets?: string[]; scripts?: string[] }): Promise<string> {
    const user = await this.currentUser(req);
    const path = req.path ?? '/';
    const menu = this.menu().map((item) => {
      const children = item.children.map((c) => ({ ...c, active: page.activeMenu === c.title || path === c.route || path.startsWith(`${c.route}/`) }));
      return { ...item, children, active: page.activeMenu === item.title || path === item.route || children.some((c) => c.active) };
    });
    return layoutTemplate({
      title: page.title,
      content: renderedHtml(page.content),
      stylesheets: page.stylesheets ?? [],
      scripts: page.scripts ?? [],
      user,
      menu,
    });
  }
}
