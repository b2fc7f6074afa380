/**
 * What a post of the Action Planner form does. Editing buttons (add, move,
 * remove, add rule…) re-render the unsaved draft; "Save Journey Actions"
 * validates the whole tree (every violation at once), asks for confirmation
 * when the journey is live, subscribers sit at actions the draft removes or
 * stand before actions it adds, and saves with the version the page was built from.
 */
import { Injectable } from '@nestjs/common';
import { JourneysErrorCode, JourneysException } from '../common/journeys.exception';
import type { HostUser } from '../host/host.ports';
import { JourneysService } from '../journeys/journeys.service';
import { impactWords, type ImpactWords } from './edit-impact-words';
import { applyOp, draftFromForm, expectedVersion, opFromForm } from './forms/actions.form';
import type { FormBody } from './forms/form-values';
import { JourneyPages } from './journey-pages.service';
import { redirectTo, type PageModel, type PageRedirect } from './page-model';
import { plannerPaths } from './planner.paths';

@Injectable()
export class PlannerForm {
  constructor(
    private readonly journeys: JourneysService,
    private readonly pages: JourneyPages,
  ) {}

  /**
   * For planner.js: what saving this draft would do, without saving, so it can
   * ask before a live save: `affected` leave, `reached` stand before added
   * actions, `impact` says so in the page's words.
   */
  async preview(
    user: HostUser,
    journeyId: number,
    body: FormBody,
  ): Promise<{ live: boolean; affected: number; removedActionIds: string[]; violations: number; reached: number; impact: ImpactWords }> {
    const [journey, preview] = await Promise.all([
      this.journeys.get(user.userId, journeyId),
      this.journeys.previewActions(user.userId, journeyId, draftFromForm(body)),
    ]);
    return {
      live: journey.status === 'Enabled',
      affected: preview.affected,
      removedActionIds: preview.removedActionIds,
      violations: preview.violations.length,
      reached: preview.reached.count,
      impact: impactWords(preview),
    };
  }

  async submit(user: HostUser, journeyId: number, body: FormBody): Promise<PageModel | PageRedirect> {
    const draft = draftFromForm(body);
    const version = expectedVersion(body);
    const op = opFromForm(body);
    if (op.kind !== 'save') {
      return this.pages.planner(user, journeyId, { draft: applyOp(draft, op), version });
    }
    const [journey, preview] = await Promise.all([this.journeys.get(user.userId, journeyId), this.journeys.previewActions(user.userId, journeyId, draft)]);
    if (preview.violations.length > 0) {
      throw new JourneysException(JourneysErrorCode.InvalidActions, 'The journey actions have problems', preview.violations);
    }
    const enabled = journey.status === 'Enabled';
    if ((enabled || preview.affected > 0 || preview.reached.count > 0) && !op.confirmed) {
      return this.pages.planner(user, journeyId, { draft, version, preview: { ...preview, enabled } });
    }
    await this.journeys.saveActions(user.userId, journeyId, draft, version);
    return redirectTo(`${plannerPaths.planner(journeyId)}?done=actionsSaved`);
  }
}
