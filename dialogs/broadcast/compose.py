"""``/broadcast``: text → branches → where → category → acknowledgement → when → preview →
confirm. Confirming writes one broadcast row (or one schedule row); the fan-out worker does the
rest outside the conversation's transaction."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands import Router, Where
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from bot.numbers import NOTICE, SCHEDULE
from bot.timetable import BadSchedule, NeverFires, When, parse_when
from dialogs.broadcast.fanout import CATEGORIES, notice, user_text
from dialogs.broadcast.schedule_words import schedule_words
from store.broadcasts import Broadcasts

router = Router()

MAX_TEXT = 3000
WHERE = {
    "rooms": _("Branch rooms"),
    "members": _("Members' direct chats"),
    "both": _("Both"),
}
GOES = {
    "rooms": _("the branch rooms"),
    "members": _("members' direct chats"),
    "both": _("the branch rooms and members' direct chats"),
}
"""The choice of ``WHERE`` in words, for the summary before Send."""
CHOOSABLE = ("notice", "meeting", "public")
PREVIEW = "preview"
"""The stateless button prefix of the preview's copy of the notice's buttons."""


def managed_branches(ctx: Context) -> dict[int, str] | None:
    """The branches the speaker may send to; ``None`` means all (an admin)."""
    return None if ctx.who.is_admin else dict(ctx.who.secretary_of)


class BroadcastDialog(Dialog[None]):
    """Text, branches, where, category, acknowledgement, when (now, or a typed schedule), then
    the preview to confirm; the preview may send the author back to type another time."""

    name = "broadcast"
    states = ["text", "branches", "where", "category", "ack", "when", "schedule", "confirm"]
    transitions = [
        {"trigger": "got_text", "source": "text", "dest": "branches"},
        {"trigger": "got_branches", "source": "branches", "dest": "where"},
        {"trigger": "got_where", "source": "where", "dest": "category"},
        {"trigger": "got_category", "source": "category", "dest": "ack"},
        {"trigger": "got_ack", "source": "ack", "dest": "when"},
        {"trigger": "later", "source": "when", "dest": "schedule"},
        {"trigger": "now", "source": "when", "dest": "confirm"},
        {"trigger": "got_time", "source": "schedule", "dest": "confirm"},
        {"trigger": "retime", "source": "confirm", "dest": "schedule"},
    ]
    timeout = 30 * 60

    async def on_text(self, ctx: Context, text: str) -> None:
        """A button's label typed (``Send``, any case) is the same as pressing it, like
        typing its number; any other text is this state's typed answer."""
        offered = self.data.get("labels") or {}
        key = _label_key(text)
        payload = offered.get("labels", {}).get(key) if key else None
        if payload is not None and offered.get("state") == self.state:
            await self.on_choice(ctx, payload)
        else:
            await super().on_text(ctx, text)

    # -- text -------------------------------------------------------------------------

    async def on_enter_text(self, ctx: Context) -> None:
        ctx.reply(
            _(
                "Send the text of the notice (several lines are fine). You can write "
                "`**bold**`, `_italic_`, `` `code` `` and `[label](https://example.org)`. "
                "/cancel stops."
            )
        )

    @answers("text", text=True)
    async def typed_text(self, ctx: Context, text: str) -> None:
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            ctx.reply(_("The text must be 1 to {most} characters long."), most=MAX_TEXT)
            return
        self.data["text"] = user_text(text).to_json()
        await self.fire(ctx, "got_text")

    # -- branches ---------------------------------------------------------------------

    async def on_enter_branches(self, ctx: Context) -> None:
        allowed = managed_branches(ctx)
        if allowed is not None and len(allowed) == 1:
            (branch_id,) = allowed
            self.data["branches"] = {"ids": [branch_id]}
            await self.fire(ctx, "got_branches")
            return
        if allowed is None:
            branches = {b.id: b.name for b in await ctx.store.branches.all()}
        else:
            branches = allowed
        choices = [[Choice(ctx.text(_("All branches")), "all")]]
        choices += [[Choice(name, f"b{bid}")] for bid, name in sorted(branches.items())[:10]]
        self._ask(
            ctx,
            _("To which branches? Press one, or type several names separated by commas."),
            choices,
        )

    @answers("branches")
    async def chose_branches(self, ctx: Context, payload: str) -> None:
        allowed = managed_branches(ctx)
        if payload == "all":
            scope: dict[str, Any] = {"all": True} if allowed is None else {"ids": sorted(allowed)}
        elif payload.startswith("b") and payload[1:].isdecimal():
            branch_id = int(payload[1:])
            if allowed is not None and branch_id not in allowed:
                return
            scope = {"ids": [branch_id]}
        else:
            return
        self.data["branches"] = scope
        await self.fire(ctx, "got_branches")

    @answers("branches", text=True)
    async def typed_branches(self, ctx: Context, text: str) -> None:
        allowed = managed_branches(ctx)
        ids: list[int] = []
        for name in (part.strip() for part in text.replace("，", ",").split(",")):
            if not name:
                continue
            branch = await ctx.store.branches.by_name(name)
            if branch is None or (allowed is not None and branch.id not in allowed):
                ctx.reply(_("There is no branch called “{name}” that you manage."), name=name)
                return
            ids.append(branch.id)
        if not ids:
            ctx.reply(_("Please name at least one branch."))
            return
        self.data["branches"] = {"ids": sorted(set(ids))}
        await self.fire(ctx, "got_branches")

    # -- where, category, acknowledgement ---------------------------------------------

    async def on_enter_where(self, ctx: Context) -> None:
        self._ask(
            ctx,
            _("Where shall it go?"),
            [[Choice(ctx.text(label), key)] for key, label in WHERE.items()],
        )

    @answers("where")
    async def chose_where(self, ctx: Context, payload: str) -> None:
        if payload not in WHERE:
            return
        self.data["where"] = payload
        await self.fire(ctx, "got_where")

    async def on_enter_category(self, ctx: Context) -> None:
        self._ask(
            ctx,
            _("What kind of notice is it?"),
            [[Choice(ctx.text(CATEGORIES[key]), key)] for key in CHOOSABLE],
        )

    @answers("category")
    async def chose_category(self, ctx: Context, payload: str) -> None:
        if payload not in CHOOSABLE:
            return
        self.data["category"] = payload
        await self.fire(ctx, "got_category")

    async def on_enter_ack(self, ctx: Context) -> None:
        self._ask(
            ctx,
            _("Ask each member to confirm with a “received” button?"),
            [
                [Choice(ctx.text(_("Yes, ask for “received”")), "yes")],
                [Choice(ctx.text(_("No")), "no")],
            ],
        )

    @answers("ack")
    async def chose_ack(self, ctx: Context, payload: str) -> None:
        if payload not in ("yes", "no"):
            return
        self.data["ack"] = payload == "yes"
        await self.fire(ctx, "got_ack")

    # -- when -------------------------------------------------------------------------

    async def on_enter_when(self, ctx: Context) -> None:
        self._ask(
            ctx,
            _("When?"),
            [
                [Choice(ctx.text(_("Send now")), "now")],
                [Choice(ctx.text(_("Later or repeating")), "later")],
            ],
        )

    @answers("when")
    async def chose_when(self, ctx: Context, payload: str) -> None:
        if payload == "now":
            self.data["when"] = None
            await self.fire(ctx, "now")
        elif payload == "later":
            await self.fire(ctx, "later")

    async def on_enter_schedule(self, ctx: Context) -> None:
        if self.data.get("when"):  # back from the preview: its moment went by meanwhile
            _refuse_past(ctx)
            return
        ctx.reply(
            _(
                "Type when, in {zone} time: `{example}` once, or `daily 08:30`, "
                "`weekdays 08:30`, `weekly mon 09:00`, `monthly 1 09:00`, "
                "`cron <minute hour day month weekday>`."
            ),
            zone=ctx.settings.timezone,
            example=_example(ctx),
        )

    @answers("schedule", text=True)
    async def typed_schedule(self, ctx: Context, text: str) -> None:
        try:
            when = parse_when(text, ctx.settings.timezone)
        except NeverFires as error:
            ctx.reply(
                _(
                    "`{rule}` has no date in the next five years (a day its months do not "
                    "have, such as 31 April?). Type another time, or /cancel."
                ),
                rule=str(error),
            )
            return
        except BadSchedule:
            ctx.reply(
                _(
                    "I can't read that time. Examples: `{example}`, `daily 08:30`, "
                    "`weekly mon 09:00`, `cron 0 9 * * 1`."
                ),
                example=_example(ctx),
            )
            return
        if _past(ctx, when):
            _refuse_past(ctx)
            return
        self.data["when"] = {"spec": when.spec}
        await self.fire(ctx, "got_time")

    # -- confirm ----------------------------------------------------------------------

    async def on_enter_confirm(self, ctx: Context) -> None:
        """The preview, exactly as readers will see it, then Send or Cancel."""
        message = notice(
            Markup.from_json(self.data["text"]),
            self.data["category"],
            None,
            self.data["ack"],
            ctx.translator.locale,
            ctx.settings.default_locale,
        )
        ctx.reply(Markup.join([ctx.t(_("**Preview** (exactly as it will look):")), Markup()]))
        # The preview's own buttons look as the readers' will, but only answer "this is the
        # preview": a stateless payload, so pressing one leaves Send and Cancel valid.
        inert = [[Choice(c.label, f"{PREVIEW}:") for c in row] for row in message.choices]
        ctx.reply(message.text, choices=inert)
        when = self.data["when"]
        if when:
            moment = schedule_words(ctx.translator, when["spec"], ctx.settings.timezone)
        else:
            moment = ctx.t(_("now"))
        self._ask(
            ctx,
            ctx.t(
                _("Goes to: {branches}, in {where}. When: {when}. Send it?"),
                branches=await self._branch_names(ctx),
                where=ctx.text(GOES[self.data["where"]]),
                when=moment,
            ),
            [
                [Choice(ctx.text(_("Send")), "send")],
                [Choice(ctx.text(_("Cancel")), "cancel")],
            ],
        )

    @answers("confirm")
    async def chose_confirm(self, ctx: Context, payload: str) -> None:
        if payload == "cancel":
            ctx.reply(_("Cancelled. Nothing was sent."))
            self.finish()
            return
        if payload != "send":
            return
        where = self.data["where"]
        fields = {
            "created_by": ctx.who.member_id,
            "report_to": {
                "platform": ctx.here.platform,
                "chat_id": ctx.here.chat_id,
                "direct": ctx.here.direct,
                "user_id": ctx.here.user_id,
                "locale": ctx.translator.locale,
            },
            "text": self.data["text"],
            "category": self.data["category"],
            "rooms": where in ("rooms", "both"),
            "members": where in ("members", "both"),
            "ack": self.data["ack"],
        }
        store = ctx.store.get(Broadcasts)
        when = self.data["when"]
        if when is None:
            self.finish()
            broadcast = await store.create(branch_ids=self.data["branches"], **fields)
            ctx.reply(
                _("Notice {number} is on its way. I will report when it is out."),
                number=NOTICE.format(broadcast.id),
            )
            return
        parsed = parse_when(when["spec"], ctx.settings.timezone)
        if _past(ctx, parsed):
            # The preview may have waited while the moment went by: ask again, do not send now.
            await self.fire(ctx, "retime")
            return
        self.finish()
        schedule = await store.add_schedule(
            kind="broadcast",
            spec=parsed.spec,
            cron=parsed.cron,
            run_at=parsed.run_at,
            template=fields,
            created_by=ctx.who.member_id,
            branch_ids=self.data["branches"],
        )
        ctx.reply(
            _(
                "Scheduled as {number}: {spec}. `/schedules` lists them, "
                "`/unschedule {number}` stops it."
            ),
            number=SCHEDULE.format(schedule.id),
            spec=schedule_words(ctx.translator, parsed.spec, ctx.settings.timezone),
        )

    def _ask(self, ctx: Context, message: str | Markup, choices: list[list[Choice]]) -> None:
        """Ask with buttons, remembering their labels: typing one (``Send``, any case) is
        the same as pressing it, like typing its number."""
        # An emoji-only label has no key: it would match any typed emoji or punctuation.
        labels = {key: c.payload for row in choices for c in row if (key := _label_key(c.label))}
        self.data["labels"] = {"state": self.state, "labels": labels}
        ctx.reply(message, choices=choices)

    async def _branch_names(self, ctx: Context) -> str:
        """Every branch by name, or for an admin's "all" (later branches too) their count."""
        branches = {b.id: b.name for b in await ctx.store.branches.all()}
        scope = self.data["branches"]
        if scope.get("all"):
            return ctx.t(_("all branches ({count})"), count=len(branches)).plain()
        return ctx.listing(branches[i] for i in scope["ids"] if i in branches)


@router.button(PREVIEW)
async def preview_pressed(ctx: Context, rest: str) -> None:
    ctx.reply(_("This is only the preview; press Send or Cancel below."))


def _label_key(text: str) -> str:
    """A label as typed: any case, without its emoji, spaces or punctuation (``📢 Notice``)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LNM")


def _example(ctx: Context) -> str:
    """A moment to show in examples: tomorrow at 09:00 (a fixed date soon lies in the past)."""
    today = ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date()
    return f"{today + timedelta(days=1):%Y-%m-%d} 09:00"


def _past(ctx: Context, when: When) -> bool:
    """A one-off moment already gone would fire at once, which nobody asked for."""
    return when.run_at is not None and when.run_at <= ctx.clock.now()


def _refuse_past(ctx: Context) -> None:
    ctx.reply(
        _("That moment has already passed ({zone} time). Type a time in the future, or /cancel."),
        zone=ctx.settings.timezone,
    )


@router.command(
    "broadcast", summary=_("send a notice to branches"), role=Role.SECRETARY, where=Where.DIRECT
)
async def broadcast(ctx: Context) -> None:
    await BroadcastDialog.start(ctx)
