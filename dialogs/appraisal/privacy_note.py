"""What ``/privacy`` says about surveys, in plain words: what is stored, who sees what, the k rule.

Every claim here is one docs/privacy.md explains and tests/appraisal checks; change them
together.
"""

from __future__ import annotations

from bot.context import Context
from bot.i18n import _
from bot.markup import Markup
from dialogs.appraisal.common import router
from dialogs.appraisal.config import AppraisalConfig


@router.privacy_section
async def survey_privacy(ctx: Context) -> list[Markup]:
    k = ctx.settings.section(AppraisalConfig).k
    return [
        ctx.t(_("**Your privacy in surveys**")),
        ctx.t(
            _(
                "• Who has answered: the bot keeps that you submitted a round, and the "
                "day, so that secretaries can see progress and remind those who have "
                "not."
            )
        ),
        ctx.t(
            _(
                "• What was answered: kept by branch, with no name, no account and no "
                "time, moved there only in shuffled batches of at least {k} "
                "submissions, so that nobody, not even an admin or whoever runs the "
                "server, can tell which answers are yours."
            ),
            k=k,
        ),
        ctx.t(
            _(
                "• Until you press Submit, your draft answers are stored with your "
                "conversation; they are deleted when you submit or when the survey "
                "closes."
            )
        ),
        ctx.t(
            _(
                "• Reports show a figure only when at least {k} people answered; a "
                "smaller group shows nothing. The grades others gave you are shown "
                "only to you and your secretary, as counts per grade, with at least "
                "{k} graders."
            ),
            k=k,
        ),
    ]
