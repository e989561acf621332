"""``/quiz group [n]``: a Kahoot-style round in the branch room, run by a secretary.

One room-wide conversation (``Dialog.room``) holds the round, so anyone in the room can press
its buttons. Each question is posted with a countdown (a stored deadline); an answer is scored
at once (right and fast scores most), acknowledged in the answerer's DM where the platform
can open one, and counted once per person. When the time is up the room sees the answer and
who was fastest; after the last question, the podium.

Only members of the room's branch are scored: anyone else who presses is told so privately
(never in the room), and no member record is ever created from a room. Answers and scores are
kept by account, never by member id, which ``/link`` may change during the round. An answer
that arrived after the deadline (plus ``GRACE``) earns nothing, and a typed number received
before the current question was posted was meant for the previous one. A secretary of the
branch (or an admin) can end a round early with ``/quiz stop``; the room then sees the
standings so far.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from typing import Any

from bot.commands import Int, Where
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from dialogs.learning.common import award_later, no_questions, router, today
from dialogs.learning.config import LearningConfig
from dialogs.learning.runs import GRACE, LETTERS, TRUTH, RunArguments, shown_option
from store.learning import Card, Learning

MAX_SCORE = 1000
"""Kahoot's scale: a right answer is worth 500 to 1000 by speed."""
MEDALS = ("🥇", "🥈", "🥉")


def speed_score(elapsed: float, seconds: float) -> int:
    """A right answer: 1000 at once, falling to 500 at the end of the countdown."""
    share = max(0.0, min(1.0, elapsed / seconds))
    return round(MAX_SCORE * (1 - share / 2))


class GroupRound(Dialog["GroupRound.Arguments"]):
    """One state, ``asking``, entered again for each question when the last one's time is up."""

    @dataclass(frozen=True, slots=True)
    class Arguments(RunArguments):
        branch_id: int
        """The room's branch: its members are scored."""
        branch: str

    name = "group_round"
    slot = "round"
    room = True
    states = ["asking"]

    def __init__(self, data: dict[str, Any] | None = None, state: str | None = None) -> None:
        super().__init__(data, state)
        self.said: list[Markup] = []
        """What goes out above the next question: the round's introduction."""

    async def setup(self, ctx: Context, arguments: GroupRound.Arguments) -> None:
        cards = await ctx.store.get(Learning).cards(0, arguments.ids)
        self.data.update(
            cards=[c.to_json() for c in cards],
            ids=[c.id for c in cards],
            at=0,
            nonce=secrets.token_hex(8),
            seconds=ctx.settings.section(LearningConfig).group_seconds,
            branch=arguments.branch_id,
            branch_name=arguments.branch,
            scores={},
            names={},
        )
        self.said.append(
            ctx.t(
                _n(
                    "**Group quiz**: {count} question for everyone in {branch}. "
                    "Right and fast wins!",
                    "**Group quiz**: {count} questions for everyone in {branch}. "
                    "Right and fast wins!",
                ),
                count=len(cards),
                branch=arguments.branch,
            )
        )

    def question(self) -> Card:
        return Card.from_json(self.data["cards"][self.data["at"]])

    async def on_enter_asking(self, ctx: Context) -> None:
        question = self.question()
        order = list(range(len(question.options)))
        if question.kind != "truefalse":
            random.shuffle(order)
        seconds: float = self.data["seconds"]
        started = ctx.clock.now().timestamp()
        self.data.update(order=order, asked=started, until=started + seconds, answered={})
        lines, self.said = self.said, []
        total = len(self.data["ids"])
        lines.append(
            ctx.t(_("**Question {number}/{total}**"), number=self.data["at"] + 1, total=total)
        )
        lines.append(Markup.literal(question.text))
        if question.kind != "truefalse":
            lines += [
                Markup.format("{letter}. {option}", letter=LETTERS[i], option=question.options[o])
                for i, o in enumerate(order)
            ]
        lines.append(ctx.t(_("⏱ {seconds} s, answer with the buttons"), seconds=f"{seconds:g}"))
        labels = (
            [ctx.text(label) for label in TRUTH]
            if question.kind == "truefalse"
            else [LETTERS[i] for i in range(len(order))]
        )
        ctx.reply(
            Markup.join(lines),
            choices=[[Choice(label, f"a{i}") for i, label in enumerate(labels)]],
        )
        self.expire_in(seconds)

    @answers("asking")
    async def answered(self, ctx: Context, payload: str) -> None:
        self.expire_in(max(0.1, self.data["until"] - ctx.clock.now().timestamp()))
        order: list[int] = self.data["order"]
        index = int(payload[1:]) if payload[:1] == "a" and payload[1:].isdecimal() else -1
        question = self.question()
        if not 0 <= index < len(order):
            return
        member = ctx.who.member_id
        if member is None or ctx.who.branch_id != self.data.get("branch"):
            self.acknowledge(
                ctx,
                _("This round is for the members of {branch}; your answer was not counted."),
                branch=self.data.get("branch_name", ""),
            )
            return
        if ctx.event.received_at < self.data["asked"]:
            self.acknowledge(
                ctx, _("That answer was for the previous question; it was not counted.")
            )
            return
        if ctx.event.received_at > self.data["until"] + GRACE:
            self.acknowledge(
                ctx, _("Sorry, your answer arrived after the time was up; it was not counted.")
            )
            return
        # Keyed by account, not member id: ``/link`` during the round changes the member id
        # but not the accounts, and a member's linked accounts answer once between them.
        key = ctx.who.identity
        if any(account in self.data["answered"] for account in ctx.who.identities):
            self.acknowledge(ctx, _("You have already answered this question."))
            return
        elapsed = max(0.0, ctx.event.received_at - self.data["asked"])
        correct = [order[index]] == question.answers
        self.data["answered"][key] = [correct, round(elapsed, 2)]
        self.data["names"][key] = ctx.who.name
        score = speed_score(elapsed, self.data["seconds"]) if correct else 0
        self.data["scores"][key] = self.data["scores"].get(key, 0) + score
        mine = await ctx.store.get(Learning).cards(member, [question.id])
        ctx.store.get(Learning).record_answer(
            member,
            ctx.who.branch_id,
            mine[0] if mine else question,
            f"{self.data['nonce']}:{self.data['at']}:{member}",
            "group",
            correct,
            4 if correct else 1,
            today(ctx),
        )
        if correct:
            award_later(ctx, member, "group_correct")
            speed = ctx.settings.section(LearningConfig).points["group_speed"].points
            bonus = round(speed * (1 - min(1.0, elapsed / self.data["seconds"])))
            if bonus:
                ctx.store.get(Learning).award_later(
                    member,
                    ctx.who.branch_id,
                    "group_speed",
                    bonus,
                    ctx.settings.section(LearningConfig).points["group_speed"].daily_cap,
                    today(ctx),
                )
        label = LETTERS[index]
        if question.kind == "truefalse":
            label = ctx.text(TRUTH[index])
        self.acknowledge(
            ctx, _("Got your answer: {letter}. Results when the time is up."), letter=label
        )

    def acknowledge(self, ctx: Context, message: str, **values: object) -> None:
        """Privately, where the platform can reach the person's DM; silence otherwise."""
        if ctx.capabilities.can_open_dm or ctx.event.platform in ctx.who.direct_chats:
            ctx.reply_direct(message, **values)

    @answers("asking", text=True)
    async def chatter(self, ctx: Context, text: str) -> None:
        """Room chatter during a round is not for the bot."""
        self.expire_in(max(0.1, self.data["until"] - ctx.clock.now().timestamp()))

    async def on_timeout(self, ctx: Context) -> None:
        question = self.question()
        answered: dict[str, list[Any]] = self.data["answered"]
        right = [k for k, (ok, _t) in answered.items() if ok]
        lines = [ctx.t(_("⏰ Time is up."))]
        order: list[int] = self.data["order"]
        shown = shown_option(ctx, question, order, question.answers[0])
        lines.append(ctx.t(_("The answer: {answer}"), answer=shown))
        if question.explanation:
            lines.append(Markup.format("💡 {text}", text=question.explanation))
        lines.append(
            ctx.t(
                _("✅ {right} right · ❌ {wrong} wrong"),
                right=len(right),
                wrong=len(answered) - len(right),
            )
        )
        if right:
            fastest = min(right, key=lambda k: answered[k][1])
            lines.append(
                ctx.t(
                    _("⚡ Fastest: {name} ({seconds} s)"),
                    name=self.data["names"][fastest],
                    seconds=f"{answered[fastest][1]:.1f}",
                )
            )
        self.data["at"] += 1
        if self.data["at"] < len(self.data["ids"]):
            ctx.reply(Markup.join(lines))
            await self.enter(ctx, "asking")
            return
        self.podium(ctx, lines)

    async def stop(self, ctx: Context) -> None:
        """Ended early by a secretary or an admin: the room sees the standings so far."""
        self.podium(ctx, [ctx.t(_("The round was stopped by {name}."), name=ctx.who.name)])

    def podium(self, ctx: Context, lines: list[Markup]) -> None:
        scores: dict[str, int] = self.data["scores"]
        # A podium of zeros would crown people who got nothing right: only scorers stand on it.
        ranked = sorted(
            (k for k in scores if scores[k] > 0), key=lambda k: (-scores[k], self.data["names"][k])
        )
        lines.append(ctx.t(_("🏁 **Final podium**")))
        if not scores:
            lines.append(ctx.t(_("Nobody answered this time.")))
        elif not ranked:
            lines.append(ctx.t(_("Nobody scored this time.")))
        for place, key in enumerate(ranked[:3]):
            lines.append(
                Markup.format(
                    "{medal} {name} — {score}",
                    medal=MEDALS[place],
                    name=self.data["names"][key],
                    score=scores[key],
                )
            )
        ctx.reply(Markup.join(lines))
        self.finish()


@router.command(
    "quiz group",
    summary=_("run a quiz for everyone in this room"),
    role=Role.SECRETARY,
    where=Where.GROUP,
    args=[
        Int(
            "count",
            _("number"),
            optional=True,
            maximum=20,
            invalid=_("Give a number of questions from 1 to 20."),
        )
    ],
)
async def quiz_group(ctx: Context, count: int | None) -> None:
    room = await ctx.store.rooms.by_chat(ctx.event.platform, ctx.event.chat.id)
    if room is None:
        ctx.reply(_("This room is not bound to a branch."))
        return
    branch = await ctx.store.branches.get(room.branch_id)
    if branch is None or not ctx.who.manages(branch.id):
        ctx.reply(_("Only the secretaries of this room's branch and admins can start a round."))
        return
    limit = ctx.settings.section(LearningConfig).group_questions
    if ctx.in_room(GroupRound.slot):
        ctx.reply(_("A round is already running in this room."))
        return
    # The room's branch, not the secretary's (an admin may start it): its members answer.
    ids = await ctx.store.get(Learning).sample(
        branch.id, count or limit, kinds=("single", "truefalse")
    )
    if not ids:
        no_questions(ctx)
        return
    await GroupRound.start(ctx, GroupRound.Arguments(ids, branch.id, branch.name))


@router.command(
    "quiz stop",
    summary=_("stop the quiz running in this room"),
    role=Role.SECRETARY,
    where=Where.GROUP,
)
async def quiz_stop(ctx: Context) -> None:
    room = await ctx.store.rooms.by_chat(ctx.event.platform, ctx.event.chat.id)
    if room is None or not ctx.who.manages(room.branch_id):
        ctx.reply(_("Only the secretaries of this room's branch and admins can stop a round."))
        return

    async def stop(dialog: Dialog) -> None:
        if isinstance(dialog, GroupRound):
            await dialog.stop(ctx)

    if not await ctx.step_room(GroupRound.slot, stop):
        ctx.reply(_("No round is running in this room."))
