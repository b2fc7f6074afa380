/**
 * Renders planner pages: a view under views/pages/ inside the plug-in's
 * content wrapper (views/layouts/plugin.hbs), handed to the host, which wraps
 * it in its own admin layout and menu. Templates and partials are compiled once
 * and cached; helpers never return unescaped user data.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import Handlebars from 'handlebars';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { HOST_PORTS, type HostPorts } from '../host/host.ports';
import { CSRF_FIELD, CsrfService } from './csrf.service';
import { plannerHelpers } from './helpers';
import type { PageModel } from './page-model';
import { pluginFiles } from './plugin-files';
import { plannerPaths } from './planner.paths';

/** The host menu item the planner pages belong to (plugin.json: Campaigns → Journeys). */
export const ACTIVE_MENU = 'Journeys';

const ASSET_VERSION = String(Date.now().toString(36));

type Template = Handlebars.TemplateDelegate;

@Injectable()
export class PageRenderer {
  private readonly handlebars = Handlebars.create();
  private readonly pages = new Map<string, Template>();
  private readonly layout: Template;

  constructor(
    @Inject(HOST_PORTS) private readonly host: HostPorts,
    private readonly csrf: CsrfService,
  ) {
    for (const [name, helper] of Object.entries(plannerHelpers)) this.handlebars.registerHelper(name, helper as Handlebars.HelperDelegate);
    const partials = join(pluginFiles.views, 'partials');
    for (const file of hbsFiles(partials)) {
      const name = relative(partials, file).replace(/\.hbs$/, '');
      this.handlebars.registerPartial(name, this.compile(file));
    }
    this.layout = this.compile(join(pluginFiles.views, 'layouts', 'plugin.hbs'));
  }

  /** Full HTML of a planner page: the page view in the plug-in wrapper in the host layout. */
  async render(req: Request, res: Response, view: string, model: PageModel): Promise<string> {
    const data = { ...model, csrfField: CSRF_FIELD, csrfToken: this.csrf.token(req, res), listUrl: plannerPaths.list() };
    // The page's own rendered HTML (every user value in it escaped by its template), marked
    // trusted by type rather than by a triple-stash, so no view emits anything unescaped.
    const body = new this.handlebars.SafeString(this.page(view)(data));
    const content = this.layout({ ...data, body });
    return this.host.admin.renderLayout(req, {
      title: model.title,
      content,
      activeMenu: ACTIVE_MENU,
      stylesheets: [`${plannerPaths.asset('journeys.css')}?v=${ASSET_VERSION}`],
      scripts: [`${plannerPaths.asset('planner.js')}?v=${ASSET_VERSION}`, `${plannerPaths.asset('planner-settings.js')}?v=${ASSET_VERSION}`],
    });
  }

  private page(view: string): Template {
    let template = this.pages.get(view);
    if (!template) {
      if (!/^[a-z0-9/-]+$/.test(view)) throw new Error(`Bad view name ${view}`);
      template = this.compile(join(pluginFiles.views, 'pages', `${view}.hbs`));
      this.pages.set(view, template);
    }
    return template;
  }

  private compile(file: string): Template {
    return this.handlebars.compile(readFileSync(file, 'utf8'), { preventIndent: true });
  }
}

function hbsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return hbsFiles(path);
    return entry.name.endsWith('.hbs') ? [path] : [];
  });
}
