"""``/report``: a secretary reports a completed item with its evidence, guided, in a direct
chat: branch (when they have several) → indicator (the nearest deadlines first) → period
(when more than one is open) → evidence (text, photos, files, several messages; "done" to
finish) → the numbers the indicator asks → a preview → submit.

A report for a period whose deadline passed is accepted and marked late, until the period
closes (``late_days`` after its deadline); until then it can be corrected, each correction a
new version with the earlier kept. Files are written to the evidence store as they arrive
(``evidence.FileStore``), so what a platform only lends is kept before the chat forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.commands import Where
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.events import Attachment
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from dialogs.supervision.board import colour_of
from dialogs.supervision.common import DOT, config, router, today
from dialogs.supervision.evidence import FileStore
from dialogs.supervision.indicators import Colour, Evidence
from dialogs.supervision.periods import Period, by_key, closes, open_periods
from dialogs.supervision.repository import Active, NewFile, Supervision, searchable
from store.models import Branch

DONE_WORDS = {"done", "完成", "好了", "提交"}
LISTED = 12
"""Indicators offered as buttons at most (the nearest deadlines)."""


@dataclass(frozen=True, slots=True)
class Due:
    """An indicator a branch may report now, for one of its open periods."""

    active: Active
    period: Period
    reported: bool


async def due_items(ctx: Context, branch_id: int) -> list[Due]:
    """What ``branch_id`` may report today: every open period of every active indicator,
    the unreported first, each group by deadline."""
    day, late_days = today(ctx), config(ctx).late_days
    supervision = ctx.store.get(Supervision)
    items: list[tuple[Active, Period]] = [
        (active, period)
        for active in await supervision.indicators()
        for period in open_periods(active.indicator, day, active.starts_on, late_days)
    ]
    reports = await supervision.current([branch_id], {period.key for _, period in items})
    found = [
        Due(active, period, (active.id, branch_id, period.key) in reports)
        for active, period in items
    ]
    return sorted(found, key=lambda d: (d.reported, d.period.due, d.active.indicator.key))


@router.command(
    "report",
    summary=_("report a completed item with its evidence"),
    role=Role.SECRETARY,
    where=Where.DIRECT,
)
async def report(ctx: Context) -> None:
    if not ctx.who.secretary_of:
        ctx.reply(_("Reports are made by a branch's secretary; you are not one."))
        return
    if not await ctx.store.get(Supervision).indicators():
        ctx.reply(
            _(
                "No indicators have been set yet: an admin imports them with "
                "`branchbot indicators import`."
            )
        )
        return
    await Reporting.start(ctx)


class Reporting(Dialog[None]):
    name = "sup_report"
    slot = "report"
    states = ["branch", "indicator", "period", "evidence", "numbers", "preview"]
    transitions = [
        {"trigger": "branched", "source": "branch", "dest": "indicator"},
        {"trigger": "picked", "source": "indicator", "dest": "period"},
        {"trigger": "dated", "source": ["indicator", "period"], "dest": "evidence"},
        {"trigger": "counted", "source": "evidence", "dest": "numbers"},
        {"trigger": "ready", "source": ["evidence", "numbers"], "dest": "preview"},
        {"trigger": "more", "source": "preview", "dest": "evidence"},
    ]
    timeout = 2 * 60 * 60

    # data: branch_id, indicator_id, period, texts [str], files [{name, mime, size, sha256}],
    # numbers {key: int}, asking (index of the number being asked)

    async def setup(self, ctx: Context, arguments: None) -> None:
        self.data.update(texts=[], files=[], numbers={}, asking=0)

    # -- branch -----------------------------------------------------------------------------

    async def on_enter_branch(self, ctx: Context) -> None:
        branches = sorted(ctx.who.secretary_of.items(), key=lambda item: item[1])
        if len(branches) == 1:
            self.data["branch_id"] = branches[0][0]
            await self.fire(ctx, "branched")
            return
        ctx.reply(
            _("Which branch is this report for?"),
            choices=[[Choice(name, f"b{branch_id}")] for branch_id, name in branches],
        )

    @answers("branch")
    async def chose_branch(self, ctx: Context, payload: str) -> None:
        branch_id = int(payload[1:]) if payload[1:].isdecimal() else 0
        if branch_id not in ctx.who.secretary_of:
            return
        self.data["branch_id"] = branch_id
        await self.fire(ctx, "branched")

    # -- indicator and period ---------------------------------------------------------------

    async def on_enter_indicator(self, ctx: Context) -> None:
        items = await due_items(ctx, self.data["branch_id"])
        if not items:
            ctx.reply(_("Nothing is open for reporting now."))
            self.finish()
            return
        shown: dict[int, Due] = {}
        for item in items:
            shown.setdefault(item.active.id, item)
        locale = ctx.translator.locale
        choices = [
            [Choice(self._item_label(ctx, item, locale), f"i{item.active.id}")]
            for item in list(shown.values())[:LISTED]
        ]
        ctx.reply(
            _("Which item are you reporting? The nearest deadlines come first."), choices=choices
        )

    def _item_label(self, ctx: Context, item: Due, locale: str) -> str:
        title = item.active.indicator.title.get(locale)
        period = item.period.label(locale)
        if item.reported:
            return ctx.text(_("{title} · {period} · reported (correct it)")).format(
                title=title, period=period
            )
        return ctx.text(_("{title} · {period} · due {due}")).format(
            title=title, period=period, due=ctx.translator.day(item.period.due)
        )

    @answers("indicator")
    async def chose_indicator(self, ctx: Context, payload: str) -> None:
        if not (payload.startswith("i") and payload[1:].isdecimal()):
            return
        indicator_id = int(payload[1:])
        items = [
            i for i in await due_items(ctx, self.data["branch_id"]) if i.active.id == indicator_id
        ]
        if not items:
            ctx.reply(_("That item is no longer open for reporting."))
            return
        self.data["indicator_id"] = indicator_id
        if len(items) == 1:
            self.data["period"] = items[0].period.key
            await self.fire(ctx, "dated")
        else:
            await self.fire(ctx, "picked")

    async def on_enter_period(self, ctx: Context) -> None:
        items = [
            i
            for i in await due_items(ctx, self.data["branch_id"])
            if i.active.id == self.data["indicator_id"]
        ]
        locale = ctx.translator.locale
        ctx.reply(
            _("For which period?"),
            choices=[
                [Choice(self._item_label(ctx, item, locale), f"p{item.period.key}")]
                for item in sorted(items, key=lambda i: i.period.due)
            ],
        )

    @answers("period")
    async def chose_period(self, ctx: Context, payload: str) -> None:
        if not payload.startswith("p"):
            return
        active = await self._active(ctx)
        if active is None:
            return
        open_keys = {
            p.key
            for p in open_periods(
                active.indicator, today(ctx), active.starts_on, config(ctx).late_days
            )
        }
        if payload[1:] not in open_keys:
            return
        self.data["period"] = payload[1:]
        await self.fire(ctx, "dated")

    async def _active(self, ctx: Context) -> Active | None:
        found = [
            a
            for a in await ctx.store.get(Supervision).indicators()
            if a.id == self.data.get("indicator_id")
        ]
        if not found:
            ctx.reply(_("That indicator was retired; nothing was reported."))
            self.finish()
            return None
        return found[0]

    def _period(self, active: Active) -> Period:
        period = by_key(active.indicator, self.data["period"])
        assert period is not None
        return period

    # -- evidence ---------------------------------------------------------------------------

    async def on_enter_evidence(self, ctx: Context) -> None:
        active = await self._active(ctx)
        if active is None:
            return
        indicator, locale = active.indicator, ctx.translator.locale
        period = self._period(active)
        kinds = ctx.listing(ctx.text(KIND_NAMES[kind]) for kind in indicator.evidence)
        lines = [
            ctx.t(
                _("**{title}**, {period} (due {due})."),
                title=indicator.title.get(locale),
                period=period.label(locale),
                due=ctx.translator.day(period.due),
            )
        ]
        if indicator.description is not None:
            lines.append(Markup.literal(indicator.description.get(locale)))
        lines.append(
            ctx.t(
                _(
                    "Send the evidence ({kinds}) in as many messages as you need; press Done or "
                    "send “done” when it is complete."
                ),
                kinds=kinds,
            )
        )
        ctx.reply(Markup.join(lines, "\n\n"), choices=[[Choice(ctx.text(_("Done")), "done")]])

    @answers("evidence", text=True)
    async def wrote(self, ctx: Context, text: str) -> None:
        text = text.strip()
        if text.lower() in DONE_WORDS:
            await self.finished_evidence(ctx, "done")
            return
        used = sum(len(part) for part in self.data["texts"])
        limit = config(ctx).text_max_length
        if used + len(text) > limit:
            ctx.reply(
                _("That would make the text longer than {length} characters; it was not added."),
                length=limit,
                choices=[[Choice(ctx.text(_("Done")), "done")]],
            )
            return
        if text:
            self.data["texts"].append(text)
            ctx.reply(
                _("Added. Send more, or press Done."),
                choices=[[Choice(ctx.text(_("Done")), "done")]],
            )

    @answers("evidence", files=True)
    async def attached(self, ctx: Context, attachment: Attachment) -> None:
        active = await self._active(ctx)
        if active is None:
            return
        settings = config(ctx)
        photo = attachment.mime.startswith("image/")
        kinds = set(active.indicator.evidence)
        if not (Evidence.FILE in kinds or (photo and Evidence.PHOTO in kinds)):
            ctx.reply(_("This item takes no files of that kind; send what it asks for above."))
            return
        if len(attachment.data) > settings.file_max_bytes:
            ctx.reply(
                _("That file is larger than {size} MB; it was not added."),
                size=settings.file_max_bytes // (1024 * 1024),
            )
            return
        if len(self.data["files"]) >= settings.files_per_report:
            ctx.reply(
                _n(
                    "A report takes {count} file at most.",
                    "A report takes {count} files at most.",
                ),
                count=settings.files_per_report,
            )
            return
        digest = await FileStore.of(ctx.settings).put(attachment.data)
        self.data["files"].append(
            {
                "name": attachment.name or "file",
                "mime": attachment.mime,
                "size": len(attachment.data),
                "sha256": digest,
            }
        )
        caption = ctx.event.text.strip()
        if caption:
            self.data["texts"].append(caption)
        ctx.reply(
            _("File added ({count} so far). Send more, or press Done."),
            count=len(self.data["files"]),
            choices=[[Choice(ctx.text(_("Done")), "done")]],
        )

    @answers("evidence")
    async def finished_evidence(self, ctx: Context, payload: str) -> None:
        if payload != "done":
            return
        active = await self._active(ctx)
        if active is None:
            return
        if not self._counts(active):
            ctx.reply(
                _(
                    "That is not evidence yet: send at least one item of what the indicator "
                    "asks for."
                )
            )
            return
        if active.indicator.numbers:
            self.data["asking"] = 0
            await self.fire(ctx, "counted")
        else:
            await self.fire(ctx, "ready")

    def _counts(self, active: Active) -> bool:
        kinds = set(active.indicator.evidence)
        if Evidence.TEXT in kinds and self.data["texts"]:
            return True
        for file in self.data["files"]:
            photo = str(file["mime"]).startswith("image/")
            if Evidence.FILE in kinds or (photo and Evidence.PHOTO in kinds):
                return True
        return False

    # -- numbers ----------------------------------------------------------------------------

    async def on_enter_numbers(self, ctx: Context) -> None:
        active = await self._active(ctx)
        if active is None:
            return
        spec = active.indicator.numbers[self.data["asking"]]
        ctx.reply(
            _("{label}? Send a number from {minimum} to {maximum}."),
            label=spec.label.get(ctx.translator.locale),
            minimum=spec.min,
            maximum=spec.max,
        )

    @answers("numbers", text=True)
    async def numbered(self, ctx: Context, text: str) -> None:
        active = await self._active(ctx)
        if active is None:
            return
        spec = active.indicator.numbers[self.data["asking"]]
        typed = text.strip().translate(FULL_WIDTH).removesuffix("%")
        value = int(typed) if typed.isdecimal() and len(typed) <= 9 else None
        if value is None or not spec.min <= value <= spec.max:
            ctx.reply(
                _("Send a number from {minimum} to {maximum}."), minimum=spec.min, maximum=spec.max
            )
            return
        self.data["numbers"][spec.key] = value
        self.data["asking"] += 1
        if self.data["asking"] < len(active.indicator.numbers):
            await self.enter(ctx, "numbers")
        else:
            await self.fire(ctx, "ready")

    # -- preview and submit -----------------------------------------------------------------

    async def on_enter_preview(self, ctx: Context) -> None:
        active = await self._active(ctx)
        if active is None:
            return
        locale, period = ctx.translator.locale, self._period(active)
        earlier = await ctx.store.get(Supervision).versions(
            active.id, self.data["branch_id"], period.key
        )
        branch = await ctx.store.session.get(Branch, self.data["branch_id"])
        lines = [
            ctx.t(
                _("**Your report**: {title}, {period}, {branch}"),
                title=active.indicator.title.get(locale),
                period=period.label(locale),
                branch=branch.name if branch else "",
            )
        ]
        if self.data["texts"]:
            lines.append(Markup.literal("\n\n".join(self.data["texts"])))
        for spec in active.indicator.numbers:
            lines.append(
                ctx.t(
                    _("{label}: {value}"),
                    label=spec.label.get(locale),
                    value=self.data["numbers"].get(spec.key, "–"),
                )
            )
        lines.append(ctx.t(_("Files: {count}"), count=len(self.data["files"])))
        if today(ctx) > period.due:
            lines.append(
                ctx.t(
                    _("The deadline passed on {due}: it will be marked late."),
                    due=ctx.translator.day(period.due),
                )
            )
        if earlier:
            lines.append(
                ctx.t(
                    _(
                        "This corrects the report of {day} (version {version}), which is kept in "
                        "the history."
                    ),
                    day=ctx.translator.day(earlier[0].on),
                    version=earlier[0].version,
                )
            )
        lines.append(ctx.t(_("Submit it?")))
        ctx.reply(
            Markup.join(lines, "\n\n"),
            choices=[
                [Choice(ctx.text(_("Submit")), "submit")],
                [
                    Choice(ctx.text(_("Add more")), "more"),
                    Choice(ctx.text(_("Discard")), "discard"),
                ],
            ],
        )

    @answers("preview")
    async def decided(self, ctx: Context, payload: str) -> None:
        if payload == "more":
            await self.fire(ctx, "more")
        elif payload == "discard":
            ctx.reply(_("The report was discarded; nothing was stored."))
            self.finish()
        elif payload == "submit":
            await self._submit(ctx)

    async def _submit(self, ctx: Context) -> None:
        active = await self._active(ctx)
        if active is None:
            return
        day, period = today(ctx), self._period(active)
        if (
            day > closes(period, config(ctx).late_days)
            or self.data["branch_id"] not in ctx.who.secretary_of
        ):
            ctx.reply(_("That period is closed now; nothing was reported."))
            self.finish()
            return
        branch = await ctx.store.session.get(Branch, self.data["branch_id"])
        indicator = active.indicator
        text = "\n\n".join(self.data["texts"])
        late = day > period.due
        report = await ctx.store.get(Supervision).submit(
            indicator_id=active.id,
            branch_id=self.data["branch_id"],
            period=period.key,
            late=late,
            by_id=ctx.who.member_id,
            today=day,
            text=text,
            numbers=dict(self.data["numbers"]),
            search=searchable(
                indicator.title.en,
                indicator.title.zh_Hans,
                branch.name if branch else "",
                period.key,
                period.label("en"),
                period.label("zh_Hans"),
                text,
                *(str(f["name"]) for f in self.data["files"]),
            ),
            files=[NewFile(**file) for file in self._files()],
        )
        colour = colour_of(indicator, period, report, day)
        ctx.reply(
            _("Reported: {title}, {period}. {dot} {colour}. `/board {branch}` shows your branch."),
            title=indicator.title.get(ctx.translator.locale),
            period=period.label(ctx.translator.locale),
            dot=DOT[colour],
            colour=ctx.text(RESULT[colour]),
            branch=branch.name if branch else "",
        )
        self.finish()

    def _files(self) -> list[dict[str, Any]]:
        return [
            {"name": f["name"], "mime": f["mime"], "size": int(f["size"]), "sha256": f["sha256"]}
            for f in self.data["files"]
        ]

    async def on_timeout(self, ctx: Context) -> None:
        ctx.reply(
            _(
                "I stopped waiting, and the unfinished report was discarded. Send /report to "
                "start again."
            )
        )
        self.finish()


KIND_NAMES = {Evidence.TEXT: _("text"), Evidence.PHOTO: _("photos"), Evidence.FILE: _("files")}
RESULT = {
    Colour.GREEN: _("on time"),
    Colour.YELLOW: _("late or short of the standard"),
    Colour.RED: _("short of the standard"),
    Colour.PENDING: _("not rated yet"),
}
FULL_WIDTH = str.maketrans("０１２３４５６７８９％", "0123456789%")
