"""Answering a survey round in a direct chat: one question at a time, then a review, then Submit.

The conversation runs in its own slot (``survey``), so a quiz or a broadcast being written in
the same chat does not end it. Its stored data is the draft: the template as it was when the
member started, where they are, and the answers so far (the member's id is never in it, since
``/link`` may change it; each step asks ``ctx.who``). It waits until the round closes, also
over restarts; pressing the invitation again or ``/survey answer R3`` shows the current
question again. Submit hands the answers to ``Appraisal.submit`` and ends the conversation in
the same transaction, so the draft is deleted with the submit. A ``grade_members`` question is
asked member by member, and the excellent quota is checked before the answering moves on and
again at Submit. Every message that shows a question or an answer (the questions with their
marks, the review, the quota and the answer checks) is an ephemeral reply: the outbox keeps
no text of it once it is delivered (docs/privacy.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.context import Context
from bot.conversation import Dialog, answers
from bot.i18n import _, _n
from bot.markup import Markup
from bot.messages import Choice
from dialogs.appraisal.common import ROUND, SLOT
from dialogs.appraisal.config import AppraisalConfig
from dialogs.appraisal.repository import Appraisal, SubmitResult
from dialogs.appraisal.templates import GRADES, Question, Template

GRADE_LABELS = {
    "excellent": _("Excellent"),
    "competent": _("Competent"),
    "basically_competent": _("Basically competent"),
    "not_competent": _("Not competent"),
}
"""The four grades as members read them (优秀 / 合格 / 基本合格 / 不合格)."""
LABEL = 40
"""Characters of an option shown on a button; the whole option is in the question's text."""


@dataclass(frozen=True, slots=True)
class Arguments:
    """The round to answer, the member's branch in it, and whom they grade."""

    number: int
    branch_id: int
    template: Template
    closes_at: float
    """The round's closing moment (a UTC timestamp): the draft waits until then."""
    members: list[tuple[int, str]]
    """The other eligible members of the branch, for ``grade_members`` questions."""


def quota(count: int, share: float) -> int:
    """How many of ``count`` graded members may be excellent (rounded down)."""
    return math.floor(count * share + 1e-9)


class Answering(Dialog[Arguments]):
    """``asking`` is entered again for each question (and each member of a grading question);
    ``review`` lists every answer with Submit."""

    name = "survey"
    slot = SLOT
    states = ["asking", "review"]
    transitions = [
        {"trigger": "reviewed", "source": "asking", "dest": "review"},
        {"trigger": "back", "source": "review", "dest": "asking"},
    ]
    timeout = None

    async def setup(self, ctx: Context, arguments: Arguments) -> None:
        self.data.update(
            number=arguments.number,
            branch=arguments.branch_id,
            template=arguments.template.to_json(),
            closes=arguments.closes_at,
            members=[[member_id, name] for member_id, name in arguments.members],
            at=0,
            sub=0,
            answers={},
            grades={},
        )
        ctx.reply(
            Markup.join(
                [
                    ctx.t(
                        _("**{title}** (survey {number})"),
                        title=self._title(ctx),
                        number=self._shown(),
                    ),
                    ctx.t(
                        _(
                            "One question at a time. You can go back, skip optional questions, "
                            "and stop at any time: your answers wait here until the survey "
                            "closes. Nothing is sent before you press Submit."
                        )
                    ),
                ]
            )
        )

    # -- the draft --------------------------------------------------------------------------

    _parsed: tuple[object, Template] | None = None

    def _template(self) -> Template:
        """Parsed once per draft loaded (an event asks for it several times): the draft keeps
        the definition as JSON, and rebuilding it was a fifth of an answer's cost."""
        source = self.data["template"]
        if self._parsed is None or self._parsed[0] is not source:
            self._parsed = (source, Template.from_json(source))
        return self._parsed[1]

    def _questions(self) -> tuple[Question, ...]:
        return self._template().questions

    def _title(self, ctx: Context) -> str:
        return self._template().title.get(ctx.translator.locale)

    def _shown(self) -> str:
        return ROUND.format(self.data["number"])

    def _wait(self, ctx: Context) -> None:
        """The draft waits until the round closes (its deadline then ends it politely)."""
        self.expire_in(max(1.0, float(self.data["closes"]) - ctx.clock.now().timestamp()))

    async def _still_open(self, ctx: Context) -> bool:
        """A round closed early (``/survey close``) takes no more answers."""
        row = await ctx.store.get(Appraisal).round(self.data["number"])
        if row is None or not row.is_open(ctx.clock.now()):
            ctx.reply(closed(), number=self._shown())
            self.finish()
            return False
        return True

    # -- asking -----------------------------------------------------------------------------

    async def on_enter_asking(self, ctx: Context) -> None:
        questions = self._questions()
        at = self.data["at"]
        question = questions[at]
        locale = ctx.translator.locale
        head = [ctx.t(_("**{number}/{total}**"), number=at + 1, total=len(questions))]
        section = self._section_of(ctx, at)
        if section is not None:
            head.append(Markup.format("**{title}**", title=section))
        lines = [*head, Markup.literal(question.text.get(locale))]
        rows: list[list[Choice]] = []
        answer = self.data["answers"].get(question.key)
        if question.kind == "scale" and question.scale is not None:
            for point, label in question.scale.labels:
                lines.append(
                    Markup.format("{point}: {label}", point=point, label=label.get(locale))
                )
            values = list(question.scale.points)
            rows += [
                [Choice(("✓ " if v == answer else "") + str(v), f"v{v}") for v in values[i : i + 5]]
                for i in range(0, len(values), 5)
            ]
        elif question.kind in ("single", "multiple"):
            chosen = answer if isinstance(answer, list) else [answer]
            for index, option in enumerate(question.options):
                text = option.get(locale)
                lines.append(Markup.format("{n}. {text}", n=index + 1, text=text))
                mark = "✓ " if index in chosen else ""
                rows.append([Choice(mark + _cut(text), f"o{index}")])
            if question.kind == "multiple":
                lines.append(self._choose_hint(ctx, question))
                rows.append([Choice(ctx.text(_("Done")), "done")])
        elif question.kind == "text":
            most = self._longest(ctx, question)
            lines.append(ctx.t(_("Type your answer (at most {most} characters)."), most=most))
            if isinstance(answer, str):
                lines.append(ctx.t(_("Your answer so far: {answer}"), answer=_cut(answer, 200)))
        elif question.kind == "grade_members":
            lines, rows = self._grading(ctx, question, lines)
        rows.append(self._navigation(ctx, question))
        ctx.reply(Markup.join(lines), choices=rows, ephemeral=True)
        self._wait(ctx)

    def _section_of(self, ctx: Context, at: int) -> str | None:
        """The section's title above its first question (none for an untitled section)."""
        index = 0
        for section in self._template().sections:
            if at == index:
                return section.title.get(ctx.translator.locale) or None
            index += len(section.questions)
        return None

    def _grading(
        self, ctx: Context, question: Question, lines: list[Markup]
    ) -> tuple[list[Markup], list[list[Choice]]]:
        members = self.data["members"]
        if not members:
            lines.append(ctx.t(_("There is nobody else in your branch to grade.")))
            return lines, []
        sub = self.data["sub"]
        member_id, name = members[sub]
        given = self.data["grades"].get(str(member_id))
        lines.append(
            ctx.t(
                _("Member {number} of {total}: **{name}**"),
                number=sub + 1,
                total=len(members),
                name=name,
            )
        )
        most = quota(len(members), ctx.settings.section(AppraisalConfig).excellent_quota)
        lines.append(
            ctx.t(
                _("At most {most} of the {total} may be graded “{excellent}”."),
                most=most,
                total=len(members),
                excellent=ctx.text(GRADE_LABELS["excellent"]),
            )
        )
        rows = [
            [Choice(("✓ " if grade == given else "") + ctx.text(GRADE_LABELS[grade]), f"g{i}")]
            for i, grade in enumerate(GRADES)
        ]
        return lines, rows

    def _navigation(self, ctx: Context, question: Question) -> list[Choice]:
        """Back, then Next (an answer is there to keep) or Skip (an optional question), Later.
        A grading question is answered member by member, so it offers Next only when there is
        nobody to grade."""
        row = []
        if self.data["at"] > 0 or self.data["sub"] > 0:
            row.append(Choice(ctx.text(_("Back")), "back"))
        grading = question.kind == "grade_members"
        if self._answered(question) and (not grading or not self.data["members"]):
            row.append(Choice(ctx.text(_("Next")), "next"))
        elif not question.required:
            row.append(Choice(ctx.text(_("Skip")), "skip"))
        row.append(Choice(ctx.text(_("Later")), "later"))
        return row

    def _choose_hint(self, ctx: Context, question: Question) -> Markup:
        low = question.min_choices or 0
        high = question.max_choices or len(question.options)
        return ctx.t(_("Choose {low} to {high}, then Done."), low=low, high=high)

    def _longest(self, ctx: Context, question: Question) -> int:
        limit = ctx.settings.section(AppraisalConfig).text_max_length
        return min(question.max_length or limit, limit)

    @answers("asking")
    async def chose(self, ctx: Context, payload: str) -> None:
        if not await self._still_open(ctx):
            return
        question = self._questions()[self.data["at"]]
        if payload == "later":
            self._later(ctx)
            return
        if payload == "back":
            await self._back(ctx)
            return
        if payload == "next" and self._answered(question):
            await self._advance(ctx)
            return
        if payload == "skip" and not question.required:
            self.data["answers"].pop(question.key, None)
            if question.kind == "grade_members":
                self.data["grades"] = {}
            await self._advance(ctx)
            return
        kind, rest = payload[:1], payload[1:]
        if payload == "done" and question.kind == "multiple":
            await self._toggle(ctx, question, None)
            return
        if not rest.isdecimal() or len(rest) > 3:
            return
        value = int(rest)
        if question.kind == "scale" and kind == "v" and question.scale is not None:
            if value in question.scale.points:
                self.data["answers"][question.key] = value
                await self._advance(ctx)
        elif question.kind == "single" and kind == "o" and value < len(question.options):
            self.data["answers"][question.key] = value
            await self._advance(ctx)
        elif question.kind == "multiple" and kind == "o" and value < len(question.options):
            await self._toggle(ctx, question, value)
        elif question.kind == "grade_members" and kind == "g" and value < len(GRADES):
            await self._grade(ctx, question, GRADES[value])

    async def _toggle(self, ctx: Context, question: Question, index: int | None) -> None:
        """Press an option on or off (``index``), or Done (``None``) within the bounds."""
        picked: list[int] = list(self.data["answers"].get(question.key) or [])
        if index is None:
            low = question.min_choices or (1 if question.required else 0)
            high = question.max_choices or len(question.options)
            if not low <= len(picked) <= high:
                await self._again(
                    ctx,
                    _("Please choose {low} to {high} options (you chose {count})."),
                    low=low,
                    high=high,
                    count=len(picked),
                )
                return
            await self._advance(ctx)
            return
        chosen = sorted(set(picked) ^ {index})
        if chosen:
            self.data["answers"][question.key] = chosen
        else:
            self.data["answers"].pop(question.key, None)
        await self.enter(ctx, "asking")

    async def _grade(self, ctx: Context, question: Question, grade: str) -> None:
        members = self.data["members"]
        member_id, _name = members[self.data["sub"]]
        self.data["grades"][str(member_id)] = grade
        if self.data["sub"] + 1 < len(members):
            self.data["sub"] += 1
            await self.enter(ctx, "asking")
            return
        if self._over_quota(ctx):
            self.data["sub"] = 0
            await self.enter(ctx, "asking")
            return
        await self._advance(ctx)

    def _over_quota(self, ctx: Context) -> bool:
        """Too many excellent grades: say so, with the numbers (before the answering moves
        on, and at Submit)."""
        members = self.data["members"]
        most = quota(len(members), ctx.settings.section(AppraisalConfig).excellent_quota)
        given = sum(1 for grade in self.data["grades"].values() if grade == "excellent")
        if given <= most:
            return False
        ctx.reply(
            _n(
                "You graded {count} member “{excellent}”, but at most {most} of the {total} "
                "may be. Please change some of the grades.",
                "You graded {count} members “{excellent}”, but at most {most} of the {total} "
                "may be. Please change some of the grades.",
            ),
            count=given,
            most=most,
            total=len(members),
            excellent=ctx.text(GRADE_LABELS["excellent"]),
            ephemeral=True,
        )
        return True

    @answers("asking", text=True)
    async def typed(self, ctx: Context, text: str) -> None:
        if not await self._still_open(ctx):
            return
        question = self._questions()[self.data["at"]]
        if question.kind != "text":
            await self._again(ctx, _("Please answer with one of the buttons (or type its number)."))
            return
        text = text.strip()
        low = question.min_length or 1
        high = self._longest(ctx, question)
        if not low <= len(text) <= high:
            await self._again(
                ctx,
                _("Your answer must be {low} to {high} characters long (it has {count})."),
                low=low,
                high=high,
                count=len(text),
            )
            return
        self.data["answers"][question.key] = text
        await self._advance(ctx)

    async def _again(self, ctx: Context, message: str | None, **values: object) -> None:
        """Say why an answer was not taken, then ask this step again: a reply makes the
        buttons above it stale, so the question comes again with fresh ones."""
        if message is not None:
            ctx.reply(Markup.format(ctx.text(message), **values), ephemeral=True)
        await self.enter(ctx, self.state)

    async def _advance(self, ctx: Context) -> None:
        if self.data["at"] + 1 < len(self._questions()):
            self.data["at"] += 1
            self.data["sub"] = 0
            await self.enter(ctx, "asking")
        else:
            await self.fire(ctx, "reviewed")

    async def _back(self, ctx: Context) -> None:
        if self.data["sub"] > 0:
            self.data["sub"] -= 1
        elif self.data["at"] > 0:
            self.data["at"] -= 1
            previous = self._questions()[self.data["at"]]
            if previous.kind == "grade_members" and self.data["members"]:
                self.data["sub"] = len(self.data["members"]) - 1
        await self.enter(ctx, "asking")

    def _later(self, ctx: Context) -> None:
        ctx.reply(
            _(
                "Your answers so far are kept until the survey closes. To go on, press the "
                "button in the invitation or send /survey answer {number}."
            ),
            number=self._shown(),
        )
        self.choices = None
        self._wait(ctx)

    async def resume(self, ctx: Context, number: int) -> None:
        """The invitation pressed again (or ``/survey answer``): show where the draft is."""
        if number != self.data["number"]:
            ctx.reply(
                _("Please finish survey {number} first; its question is below."),
                number=self._shown(),
            )
        if not await self._still_open(ctx):
            return
        await self.enter(ctx, self.state)

    # -- review -----------------------------------------------------------------------------

    async def on_enter_review(self, ctx: Context) -> None:
        locale = ctx.translator.locale
        lines = [ctx.t(_("**Your answers to survey {number}**"), number=self._shown())]
        for index, question in enumerate(self._questions()):
            shown = self._answer_words(ctx, question)
            lines.append(
                Markup.format(
                    "{n}. {text}: {answer}",
                    n=index + 1,
                    text=_cut(question.text.get(locale), 60),
                    answer=shown,
                )
            )
        lines.append(ctx.t(_("Once submitted, your answers cannot be changed.")))
        rows = [
            [Choice(ctx.text(_("Submit")), "submit")],
            [
                Choice(ctx.text(_("Back")), "back"),
                Choice(ctx.text(_("From the first question")), "first"),
            ],
        ]
        rows.append([Choice(ctx.text(_("Later")), "later")])
        ctx.reply(Markup.join(lines), choices=rows, ephemeral=True)
        self._wait(ctx)

    def _answer_words(self, ctx: Context, question: Question) -> str:
        locale = ctx.translator.locale
        answer = self.data["answers"].get(question.key)
        if question.kind == "grade_members":
            counts = {grade: 0 for grade in GRADES}
            for grade in self.data["grades"].values():
                counts[grade] += 1
            if not self.data["grades"]:
                return ctx.text(_("(skipped)"))
            return ctx.listing(
                f"{ctx.text(GRADE_LABELS[grade])} {count}" for grade, count in counts.items()
            )
        if answer is None:
            return ctx.text(_("(skipped)"))
        if question.kind == "single":
            return _cut(question.options[int(answer)].get(locale), 60)
        if question.kind == "multiple":
            return ctx.listing(_cut(question.options[i].get(locale), 30) for i in answer)
        return _cut(str(answer), 60)

    @answers("review")
    async def chose_in_review(self, ctx: Context, payload: str) -> None:
        if not await self._still_open(ctx):
            return
        if payload == "later":
            self._later(ctx)
        elif payload == "back":
            await self.fire(ctx, "back")
        elif payload == "first":
            self.data["at"] = self.data["sub"] = 0
            await self.fire(ctx, "back")
        elif payload == "submit":
            await self._submit(ctx)

    @answers("review", text=True)
    async def typed_in_review(self, ctx: Context, text: str) -> None:
        await self._again(ctx, _("Please press Submit, or Back to change an answer."))

    async def _submit(self, ctx: Context) -> None:
        missing = [
            index + 1
            for index, question in enumerate(self._questions())
            if question.required and not self._answered(question)
        ]
        if missing:
            await self._again(
                ctx,
                _("Please answer the required questions first: {numbers}."),
                numbers=ctx.listing(str(n) for n in missing),
            )
            return
        if self._over_quota(ctx):
            await self._again(ctx, None)
            return
        member_id = ctx.who.member_id
        result = SubmitResult.NOT_ELIGIBLE
        store = ctx.store.get(Appraisal)
        if member_id is not None:
            result = await store.submit(
                self.data["number"],
                member_id,
                self.data["branch"],
                dict(self.data["answers"]),
                {int(member): grade for member, grade in self.data["grades"].items()},
            )
        self.finish()
        if result is SubmitResult.SUBMITTED:
            ctx.reply(
                _(
                    "Thank you: your answers to survey {number} are submitted. They are kept "
                    "without your name, and nobody can change them now. /privacy says who "
                    "sees what."
                ),
                number=self._shown(),
            )
        elif result is SubmitResult.ALREADY:
            ctx.reply(already_submitted(), number=self._shown())
        elif result is SubmitResult.CLOSED:
            ctx.reply(closed(), number=self._shown())
        else:
            ctx.reply(not_invited(), number=self._shown())

    def _answered(self, question: Question) -> bool:
        if question.kind == "grade_members":
            return len(self.data["grades"]) == len(self.data["members"])
        return question.key in self.data["answers"]

    async def on_timeout(self, ctx: Context) -> None:
        ctx.reply(
            _("Survey {number} has closed; your answers were not submitted and are deleted."),
            number=self._shown(),
        )
        self.finish()


def already_submitted() -> str:
    return _("You have already submitted your answers to survey {number}; they cannot be changed.")


def closed() -> str:
    return _("Survey {number} has closed, so it takes no more answers. Thank you all the same.")


def not_invited() -> str:
    return _(
        "Survey {number} is not one you were invited to: it is for the members of its "
        "branches when it opened."
    )


def _cut(text: str, limit: int = LABEL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
