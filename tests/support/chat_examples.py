"""The conversations quoted in the docs, as ```chat blocks, run against a real bot.

A block is a list of steps. A step is one line a person sends, followed by what the bot says:

    Ada> /branch add Library                     Ada writes in her direct chat with the bot
    Sam in the room> /bind Library               Sam writes in the group room
    Ada> [secretary]                             Ada presses the button "secretary" (the newest
                                                 message in that chat that has it)
    Ada> (file adapters/playground/sample-bank.yaml)   Ada sends that file of the repository
    Ada> (file skip-bad.csv: skip-bad)           ... with a caption after the colon
    bot: Branch Library created.                 a bot message in the same chat
    bot to Mei: ...                              a bot message in Mei's direct chat
    bot in the room: ...                         a bot message in the room
         more lines of the same message          (indented: continuation lines)
         [member] [secretary]                    the message's buttons, one line per row
         [image]                                 the message carries an image

Placeholders in the bot's lines, for what legitimately varies:

    {code}, {code2}, {mei_code} ...   an invite code; the first occurrence captures it, later
                                      ones (and later lines people send) must be the same value
    {date} {time} {number}            2026-12-05, 10:33, 42: any such value, each time
    …                                 any text within a line; a line of only … is any lines

Everything the bot sends after a step must be quoted, to everyone, in order per chat.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path

from adapters.memory import MemoryAdapter, Sent
from bot.app import BranchBot
from bot.events import Attachment
from store.bank_jobs import BankJobs
from store.broadcasts import Broadcasts
from store.repos import Repositories
from tests.support.chat import settle

ROOT = Path(__file__).resolve().parents[2]
ROOM = "room-library"
PERSON = re.compile(r"^(?P<who>[A-Z][a-z]+)(?P<room> in the room)?> (?P<said>.*)$")
BOT = re.compile(r"^bot(?: to (?P<to>[A-Z][a-z]+)| (?P<room>in the room))?: ?(?P<text>.*)$")
PRESS = re.compile(r"^\[(?P<label>[^\]]+)\]$")
FILE = re.compile(r"^\(file (?P<path>[^:)]+)(?:: (?P<caption>[^)]*))?\)$")
PLACEHOLDER = re.compile(r"\{(?P<name>[a-z_0-9]+)\}|…")
PATTERNS = {
    "code": r"[A-HJ-NP-Z2-9]{8}",
    "date": r"\d{4}-\d{2}-\d{2}",
    "time": r"\d{2}:\d{2}",
    "number": r"\d+",
}


def kind_of(name: str) -> str | None:
    """``code``, ``code2`` and ``mei_code`` are codes; ``date``, ``time``, ``number`` alike."""
    return next((k for k in PATTERNS if name.startswith(k) or name.endswith("_" + k)), None)


FENCE = re.compile(r"^(?P<indent> *)```chat[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
"""A ```chat fence, also indented inside a list item."""


@dataclass
class Step:
    who: str
    in_room: bool
    said: str
    line: int
    expected: dict[str, list[list[str]]] = field(default_factory=dict)
    """Chat ("room" or a person's name) -> the messages quoted there, each a list of lines."""


@dataclass
class Block:
    path: Path
    line: int
    steps: list[Step]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every ```chat block of a Markdown file, parsed into steps."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        first = text.count("\n", 0, match.start("body")) + 1
        indent = len(match["indent"])
        steps: list[Step] = []
        current: list[str] | None = None
        for offset, line in enumerate(match["body"].splitlines()):
            number = first + offset
            raw = line[indent:] if not line[:indent].strip() else line
            if not raw.strip():
                continue
            person = PERSON.match(raw)
            bot = BOT.match(raw)
            if person:
                steps.append(
                    Step(person["who"], bool(person["room"]), person["said"].strip(), number)
                )
                current = None
            elif bot:
                assert steps, f"{path}:{number}: a bot line before anyone said anything"
                step = steps[-1]
                chat = (
                    "room" if bot["room"] else bot["to"] or ("room" if step.in_room else step.who)
                )
                current = [bot["text"].strip()]
                step.expected.setdefault(chat, []).append(current)
            elif raw.startswith(" ") and current is not None:
                current.append(raw.strip())
            else:
                raise AssertionError(f"{path}:{number}: not a chat line: {raw!r}")
        found.append(Block(path, first - 1, steps))
    return found


def render(message: Sent) -> list[str]:
    """A bot message as the docs quote it: its plain text, buttons and image as lines."""
    lines = [line.strip() for line in message.message.text.plain().splitlines()]
    lines = [line for line in lines if line]
    for row in message.message.choices:
        lines.append(" ".join(f"[{choice.label}]" for choice in row))
    if message.message.image is not None:
        lines.append("[image]")
    return lines


class Mismatch(AssertionError):
    pass


@dataclass
class Conversation:
    """One bot, the people of the playground, and the values captured so far."""

    bot: BranchBot
    adapter: MemoryAdapter
    values: dict[str, str] = field(default_factory=dict)

    def chat_of(self, message: Sent) -> str:
        if message.address.direct:
            return (message.address.user_id or message.address.chat_id.removeprefix("dm-")).title()
        return "room"

    def fill(self, text: str) -> str:
        """A line a person sends, with the captured values put in."""

        def value(match: re.Match[str]) -> str:
            name = match["name"]
            if name is None or name not in self.values:
                raise Mismatch(f"nothing captured for {match[0]} yet")
            return self.values[name]

        return PLACEHOLDER.sub(value, text)

    def pattern(self, expected: str, known: dict[str, str]) -> tuple[re.Pattern[str], list[str]]:
        """A quoted line as a regex: codes already captured literally, new ones captured;
        dates, times and numbers match any value each time."""
        parts, names, at = [], [], 0
        for match in PLACEHOLDER.finditer(expected):
            parts.append(re.escape(expected[at : match.start()]))
            name = match["name"]
            kind = kind_of(name) if name else None
            if name is None:
                parts.append(".*?")
            elif kind is None:
                raise Mismatch(f"unknown placeholder {{{name}}}")
            elif kind != "code":
                parts.append(f"(?:{PATTERNS[kind]})")
            elif name in known:
                parts.append(re.escape(known[name]))
            elif name in names:
                parts.append(f"(?P={name})")
            else:
                parts.append(f"(?P<{name}>{PATTERNS[kind]})")
                names.append(name)
            at = match.end()
        parts.append(re.escape(expected[at:]))
        return re.compile("".join(parts)), names

    def match_message(self, expected: list[str], actual: list[str]) -> bool:
        found = self._lines(expected, actual, dict(self.values))
        if found is None:
            return False
        self.values = found
        return True

    def _lines(
        self, expected: list[str], actual: list[str], known: dict[str, str]
    ) -> dict[str, str] | None:
        """The values captured when ``expected`` matches ``actual`` line by line, else None."""
        if not expected:
            return None if actual else known
        head, rest = expected[0], expected[1:]
        if head == "…":
            for skip in range(len(actual) + 1):
                found = self._lines(rest, actual[skip:], known)
                if found is not None:
                    return found
            return None
        if not actual:
            return None
        regex, names = self.pattern(head, known)
        line = regex.fullmatch(actual[0])
        if line is None:
            return None
        return self._lines(rest, actual[1:], {**known, **{n: line[n] for n in names}})

    async def run(self, step: Step) -> None:
        user = step.who.lower()
        chat = ROOM if step.in_room else None
        said = self.fill(step.said)
        before = len(self.adapter.sent)
        press, upload = PRESS.match(said), FILE.match(said)
        if press:
            await self.adapter.say(user, chat=chat, choice=self.payload(step, press["label"]))
        elif upload:
            path = ROOT / upload["path"]
            attachment = Attachment(path.name, "application/octet-stream", path.read_bytes())
            await self.adapter.say(user, upload["caption"] or "", chat=chat, attachment=attachment)
        else:
            await self.adapter.say(user, said, chat=chat)
        await self.quiet()
        sent = self.adapter.sent[before:]
        actual: dict[str, list[list[str]]] = {}
        for message in sent:
            actual.setdefault(self.chat_of(message), []).append(render(message))
        problems = []
        for where in sorted(set(actual) | set(step.expected)):
            wanted, got = step.expected.get(where, []), actual.get(where, [])
            if len(wanted) != len(got) or not all(
                self.match_message(w, g) for w, g in zip(wanted, got, strict=True)
            ):
                problems.append(f"in {where}: quoted {wanted}\n    the bot said {got}")
        if problems:
            raise Mismatch(
                f"line {step.line}, {step.who}> {step.said}\n  "
                + "\n  ".join(problems)
                + "\n  as the docs would quote it:\n"
                + quote(step, actual)
            )

    async def quiet(self, timeout: float = 10.0) -> None:
        """Wait until the step's effects are out: the outbox, and any broadcast or bank file it
        started (both are worked on by the scheduler's ticks, not inside the event's handling)."""
        async with asyncio.timeout(timeout):
            while True:
                await settle(self.bot)
                async with self.bot.db.session() as session:
                    repos = Repositories(session)
                    if (
                        not await repos.get(Broadcasts).unfinished()
                        and not await repos.get(BankJobs).waiting()
                    ):
                        break
                await asyncio.sleep(0.05)
        await settle(self.bot)

    def payload(self, step: Step, label: str) -> str:
        """The button ``label`` on the newest message in the step's chat that has one."""
        where = "room" if step.in_room else step.who
        for message in reversed(self.adapter.sent):
            if self.chat_of(message) != where:
                continue
            for row in message.message.choices:
                for choice in row:
                    if choice.label == label:
                        return choice.payload
        raise Mismatch(f"line {step.line}: no button [{label}] in {where}")


def quote(step: Step, actual: dict[str, list[list[str]]]) -> str:
    """What the bot said after ``step``, written the way a ```chat block quotes it."""
    here = "room" if step.in_room else step.who
    out = [f"{step.who}{' in the room' if step.in_room else ''}> {step.said}"]
    for where, messages in actual.items():
        head = (
            "bot:"
            if where == here
            else ("bot in the room:" if where == "room" else f"bot to {where}:")
        )
        for lines in messages:
            out.append(f"{head} {lines[0] if lines else ''}")
            out += [" " * 5 + line for line in lines[1:]]
    return "\n".join(out)
