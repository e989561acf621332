"""One run of questions in a DM, the machinery every mode shares.

A run keeps, in its conversation data, the question ids, where it is, the score, and the order
the current question's options were shown in; never the member id, which ``/link`` can change
mid-run (each step asks ``learner(ctx)``). Buttons carry indexes into that shuffled view
(``a2``), never the key, so the right answer never leaves the server. The questions
themselves are read once, at the start, into the same data. Each question has a
stored deadline; when it passes the question counts as wrong and the run moves on, also after
a restart. Answers are recorded under ``<run nonce>:<question number>``, unique in the store,
so a repeated answer can never count twice.

An answer is judged by when it arrived, not when it is handled: one received more than
``GRACE`` seconds after the deadline counts as a timeout (the sweep, a busy engine or a restart
may handle it later), and typed text received before the current question was asked was meant
for an earlier one, so it is not taken as an answer to this one.
"""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass
from typing import Any, ClassVar

from typing_extensions import TypeVar

from bot.context import Context
from bot.conversation import Dialog, answers
from bot.i18n import _
from bot.markup import Markup
from bot.messages import Choice
from dialogs.learning.common import award_later, learner, today
from dialogs.learning.config import LearningConfig
from store.banks import normalize
from store.learning import Card, Learning

LETTERS = string.ascii_uppercase
TRUTH = (_("True"), _("False"))
"""A true/false question's two answers, by option index; its stored options are the English
words, so wherever an answer is shown (buttons, feedback, a round's result) it is this label."""
GRACE = 1.0
"""Seconds an answer may arrive after the deadline and still count (network and clock jitter)."""


def shown_option(ctx: Context, question: Card, order: list[int], option: int) -> str:
    """An option as the reader saw it: ``B. Paris``, or 对/错 for a true/false question."""
    if question.kind == "truefalse":
        return ctx.text(TRUTH[option])
    return f"{LETTERS[order.index(option)]}. {question.options[option]}"


@dataclass(frozen=True, slots=True)
class RunArguments:
    """What every run starts with; a mode's ``Arguments`` add to it."""

    ids: list[int]
    """The questions, in the order they are asked."""


R = TypeVar("R", bound=RunArguments, default=RunArguments)


class QuestionRun(Dialog[R]):
    """Asks ``data["ids"]`` one by one; subclasses say what a run is worth and how it ends.

    ``reading`` (a lesson's text, until "Start the quiz") --go--> ``asking``, entered again for
    each question until the last is settled."""

    states = ["reading", "asking"]
    transitions = [{"trigger": "go", "source": "reading", "dest": "asking"}]
    initial = "asking"
    mode: ClassVar[str] = ""
    per_answer: ClassVar[str | None] = None
    """The points activity each right answer earns, if any."""

    def seconds(self, ctx: Context) -> float:
        return ctx.settings.section(LearningConfig).question_seconds

    def stop_after(self, correct: bool) -> bool:
        """Whether a run ends after this answer even with questions left (the challenge)."""
        return False

    async def conclude(self, ctx: Context, lines: list[Markup]) -> None:
        """The run is over: add the summary to ``lines`` and record results."""
        raise NotImplementedError

    def __init__(self, data: dict[str, Any] | None = None, state: str | None = None) -> None:
        super().__init__(data, state)
        self.said: list[Markup] = []
        """What goes out above the next question: the run's title, the last answer's verdict."""

    async def setup(self, ctx: Context, arguments: R) -> None:
        await self.load(ctx, arguments.ids)

    # -- asking -----------------------------------------------------------------------------

    async def load(self, ctx: Context, ids: list[int]) -> None:
        """Keep the run's questions (and the member's schedules) in the conversation data."""
        member = await learner(ctx)
        cards = await ctx.store.get(Learning).cards(member, ids)
        day = today(ctx)
        self.data.update(
            cards=[c.to_json() for c in cards],
            ids=[c.id for c in cards],
            at=0,
            right=0,
            nonce=secrets.token_hex(8),
            day=day.isoformat(),  # the local day the run began (the daily quiz's day)
        )

    def current(self) -> Card:
        return Card.from_json(self.data["cards"][self.data["at"]])

    async def on_enter_asking(self, ctx: Context) -> None:
        question = self.current()
        order = list(range(len(question.options)))
        if question.kind != "truefalse":
            random.shuffle(order)
        seconds = self.seconds(ctx)
        asked = ctx.clock.now().timestamp()
        self.data.update(order=order, picked=[], asked=asked, until=asked + seconds)
        self.choices = None
        lines, self.said = [*self.said, self.render(ctx, question, order, seconds)], []
        ctx.reply(Markup.join(lines), choices=self.buttons(ctx, question, order))
        self.expire_in(seconds)

    def render(self, ctx: Context, question: Card, order: list[int], seconds: float) -> Markup:
        total = len(self.data["ids"])
        head = ctx.t(_("**Question {number}/{total}**"), number=self.data["at"] + 1, total=total)
        if self.mode == "challenge":
            head = ctx.t(_("**Question {number}**"), number=self.data["at"] + 1)
        if question.category:
            head = head + Markup.format(" · {category}", category=question.category)
        parts = [head, Markup.literal(question.text)]
        if question.kind in ("single", "multiple"):
            parts += [
                Markup.format("{letter}. {option}", letter=LETTERS[i], option=question.options[o])
                for i, o in enumerate(order)
            ]
        hint = {
            "multiple": _("Choose every right answer, then Done. ⏱ {seconds} s"),
            "fill": _("Type your answer. ⏱ {seconds} s"),
        }.get(question.kind, _("⏱ {seconds} s"))
        parts.append(ctx.t(hint, seconds=f"{seconds:g}"))
        return Markup.join(parts)

    def buttons(self, ctx: Context, question: Card, order: list[int]) -> list[list[Choice]]:
        if question.kind == "fill":
            return []
        if question.kind == "truefalse":
            return [[Choice(ctx.text(label), f"a{i}") for i, label in enumerate(TRUTH)]]
        picked: list[int] = self.data.get("picked", [])
        row = [
            Choice(("✓ " if i in picked else "") + LETTERS[i], f"a{i}") for i in range(len(order))
        ]
        rows = [row]
        if question.kind == "multiple":
            rows.append([Choice(ctx.text(_("Done")), "done")])
        return rows

    # -- answering --------------------------------------------------------------------------

    @answers("reading")
    async def pressed_start(self, ctx: Context, payload: str) -> None:
        if payload == "go":
            await self.fire(ctx, "go")

    @answers("reading", text=True)
    async def typed_while_reading(self, ctx: Context, text: str) -> None:
        ctx.reply(_("Press the button to start the quiz, or send /cancel."))

    @answers("asking")
    async def chose(self, ctx: Context, payload: str) -> None:
        question = self.current()
        if self.late(ctx):
            await self.settle(ctx, question, None, late=True)
            return
        order: list[int] = self.data["order"]
        if payload == "done" and question.kind == "multiple":
            await self.settle(ctx, question, sorted(order[i] for i in self.data["picked"]))
            return
        index = int(payload[1:]) if payload[:1] == "a" and payload[1:].isdecimal() else -1
        if not 0 <= index < len(order):
            ctx.reply(_("Please answer with one of the buttons."))
            return
        if question.kind == "multiple":
            picked: list[int] = self.data["picked"]
            self.data["picked"] = sorted(set(picked) ^ {index})
            chosen = ctx.listing(LETTERS[i] for i in self.data["picked"]) or "—"
            ctx.reply(
                _("Chosen: {letters}. Press Done when ready."),
                letters=chosen,
                choices=self.buttons(ctx, question, order),
            )
            self.expire_in(max(1.0, self.data["until"] - ctx.clock.now().timestamp()))
            return
        await self.settle(ctx, question, [order[index]])

    @answers("asking", text=True)
    async def typed(self, ctx: Context, text: str) -> None:
        if ctx.event.received_at < self.data.get("asked", 0.0):
            ctx.reply(_("That answer was for the previous question; it was not counted."))
            return
        question = self.current()
        if self.late(ctx):
            await self.settle(ctx, question, None, late=True)
            return
        if question.kind == "fill":
            typed = normalize(text)
            right = any(typed == normalize(a) for a in question.answers)
            await self.settle(ctx, question, [] if not right else list(question.answers[:1]), text)
            return
        order: list[int] = self.data["order"]
        letters = [c for c in text.upper() if c.isalpha()]
        if question.kind == "truefalse":
            word = normalize(text)
            truth = {"true": 0, "t": 0, "对": 0, "false": 1, "f": 1, "错": 1}.get(word)
            if truth is None:
                ctx.reply(_("Please answer with one of the buttons."))
                return
            await self.settle(ctx, question, [truth])
            return
        valid = LETTERS[: len(order)]
        if (
            not letters
            or any(c not in valid for c in letters)
            or (question.kind == "single" and len(letters) != 1)
        ):
            ctx.reply(
                _("Please answer with a letter from A to {last}."), last=LETTERS[len(order) - 1]
            )
            return
        await self.settle(ctx, question, sorted({order[LETTERS.index(c)] for c in letters}))

    def late(self, ctx: Context) -> bool:
        """Whether this answer arrived after the question's time was up."""
        until: float = self.data["until"]
        return ctx.event.received_at > until + GRACE

    async def on_timeout(self, ctx: Context) -> None:
        """A lesson left unread ends quietly; a question unanswered counts as wrong."""
        if self.state == "reading":
            self.finish()
            return
        await self.settle(ctx, self.current(), None)

    async def settle(
        self,
        ctx: Context,
        question: Card,
        chosen: list[Any] | None,
        typed: str = "",
        *,
        late: bool = False,
    ) -> None:
        """Score the current question once, explain it, then go on or end."""
        if question.kind == "fill":
            correct = bool(chosen)
        else:
            correct = chosen is not None and sorted(chosen) == sorted(question.answers)
        quality = 4 if correct else (0 if chosen is None else 1)
        member = await learner(ctx)
        attempt = f"{self.data['nonce']}:{self.data['at']}"
        ctx.store.get(Learning).record_answer(
            member, ctx.who.branch_id, question, attempt, self.mode, correct, quality, today(ctx)
        )
        lines: list[Markup] = []
        if correct:
            self.data["right"] += 1
            if self.per_answer:
                award_later(ctx, member, self.per_answer)
        if late:
            lines.append(ctx.t(_("Sorry, your answer arrived after the time was up.")))
        if chosen is None:
            lines.append(ctx.t(_("⏰ Time is up.")))
        lines.append(
            ctx.t(_("✅ Right!"))
            if correct
            else ctx.t(
                _("❌ Not quite. The answer: {answer}"), answer=self.answer_text(ctx, question)
            )
        )
        notes = self.feedback(question, chosen, correct)
        lines += [Markup.literal(note) for note in notes]
        if question.explanation:
            lines.append(Markup.format("💡 {text}", text=question.explanation))
        if self.stop_after(correct):
            self.data["ids"] = self.data["ids"][: self.data["at"] + 1]
            self.data["cards"] = self.data["cards"][: self.data["at"] + 1]
        self.data["at"] += 1
        await self.proceed(ctx, lines)

    def answer_text(self, ctx: Context, question: Card) -> str:
        if question.kind == "fill":
            return str(question.answers[0])
        order: list[int] = self.data["order"]
        return ctx.listing(shown_option(ctx, question, order, a) for a in question.answers)

    @staticmethod
    def feedback(question: Card, chosen: list[Any] | None, correct: bool) -> list[str]:
        notes = question.feedback or []
        if question.kind == "fill":
            return [] if correct or not notes or not notes[0] else [notes[0]]
        return [notes[i] for i in chosen or [] if i < len(notes) and notes[i]]

    async def proceed(self, ctx: Context, lines: list[Markup]) -> None:
        """The next question, with ``lines`` above it; or, after the last, the summary."""
        if self.data["at"] < len(self.data["ids"]):
            self.said = lines
            await self.enter(ctx, "asking")
            return
        self.choices = None
        await self.conclude(ctx, lines)
        if lines:
            ctx.reply(Markup.join(lines))
        self.finish()
