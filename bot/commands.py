"""Declarative commands: each declares its words, arguments, role and where it may be used.

The router checks all of that once, before a handler runs, and answers refusals itself, so a
handler only ever sees a caller who may run it and arguments already parsed (branches
resolved). ``/help`` is generated from the same declarations.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from bot.i18n import LOCALES, Translator, _
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from bot.numbers import BadNumber, Kind

if TYPE_CHECKING:
    from bot.context import Context
    from bot.events import Attachment
    from store.models import Branch

Handler = Callable[..., Awaitable[None]]
ProfileSection = Callable[["Context"], Awaitable[list[Markup]]]
"""Lines a feature adds to ``/me``."""
StartHandler = Callable[["Context", str], Awaitable[None]]
"""Handles ``/start <prefix><rest>`` deep links a feature made; called with ``rest``."""
FileHandler = Callable[["Context", "Attachment"], Awaitable[bool]]
"""Takes a file someone sent; ``False`` when the file is not of a kind it handles."""
ButtonHandler = Callable[["Context", str], Awaitable[None]]
"""Handles a press of a button that belongs to no conversation; gets what follows the prefix."""
NumberHandler = Callable[["Context", int], Awaitable[bool]]
"""Handles a typed number when no conversation waits for one; ``False``: not for me."""
ReplyHandler = Callable[["Context"], Awaitable[bool]]
"""Handles a platform reply to one of the bot's messages (``Incoming.replied_to``); ``False``:
not a message of mine."""
May = Callable[[Role], bool]
"""Whether the reader of a usage line has a role (``Principal.has``)."""

MAX_WORD = 128
"""Characters of a one-word argument (codes are 8, ids and numbers shorter): longer is
refused before any lookup."""
ECHO = 24
"""Characters of what someone typed that an answer repeats back (``shorten``)."""


def shorten(text: str, limit: int = ECHO) -> str:
    """What a person typed, cut to ``limit`` characters for an answer that repeats it."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Where(Enum):
    ANY = "any"
    DIRECT = "direct"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Arg:
    """One declared argument. ``label`` is a catalog message shown in the usage line."""

    name: str
    label: str
    optional: bool = False

    def usage(self, translate: Callable[[str], str], may: May) -> str:
        """How this argument is written for a reader who ``may`` use what roles; empty when
        they have no choice to make with it."""
        text = self.placeholder(translate, may)
        if not text:
            return ""
        return f"[{text}]" if self.optional else text

    def placeholder(self, translate: Callable[[str], str], may: May) -> str:
        return f"<{translate(self.label)}>"


@dataclass(frozen=True, slots=True)
class Word(Arg):
    """One word, such as a code."""


INT_DIGITS = 18
"""Digits an ``Int`` reads at most: anything longer is out of range, refused unread."""


@dataclass(frozen=True, slots=True)
class Int(Arg):
    """A whole number from ``minimum`` to ``maximum``, in the decimal digits of any script
    (``12``; ``１２`` from a Chinese keyboard), no sign. Anything else is answered here with
    ``invalid``: a catalog message that may name ``{minimum}``, ``{maximum}`` and, by the
    argument's name, what was typed."""

    minimum: int = field(default=1, kw_only=True)
    maximum: int = field(kw_only=True)
    invalid: str = field(default=_("Give a number from {minimum} to {maximum}."), kw_only=True)

    def value(self, text: str) -> int | None:
        """The number ``text`` is, or ``None`` when it is none or out of range."""
        if not text.isdecimal() or len(text) > INT_DIGITS:
            return None
        number = int(text)
        return number if self.minimum <= number <= self.maximum else None


@dataclass(frozen=True, slots=True)
class Rest(Arg):
    """Everything that is left, such as a name with spaces."""


@dataclass(frozen=True, slots=True)
class Option:
    """One word a ``OneOf`` takes. The handler always gets ``value``; people may type it, its
    ``label`` in any catalog language, or an alias, and usage lines show the label in the
    reader's language. ``role``: who may choose it, so ``/help`` offers it only to them."""

    value: str
    label: str
    aliases: tuple[str, ...] = ()
    role: Role = Role.ANYONE

    def words(self) -> set[str]:
        translated = {Translator(locale).text(self.label) for locale in LOCALES}
        return {word.lower() for word in (self.value, *translated, *self.aliases)}


@dataclass(frozen=True, slots=True)
class OneOf(Arg):
    """One of a few fixed words. ``default``: the value when it is left out; a reader whose
    only option is the default is shown no choice at all."""

    options: tuple[Option, ...] = ()
    default: str | None = None

    def choose(self, typed: str) -> str | None:
        """The value ``typed`` names, in any language; None when it names none."""
        word = typed.lower()
        return next((o.value for o in self.options if word in o.words()), None)

    def placeholder(self, translate: Callable[[str], str], may: May) -> str:
        shown = [o for o in self.options if may(o.role)]
        if self.optional and [o.value for o in shown] == [self.default]:
            return ""
        return "|".join(translate(o.label) for o in shown)


@dataclass(frozen=True, slots=True)
class BranchArg(Arg):
    """A branch by name (several words allowed, any case). ``managed``: the caller must be an
    admin or a secretary of that branch, checked here, once."""

    managed: bool = False


@dataclass(frozen=True, slots=True)
class Number(Arg):
    """A public number of one kind (``N12``, ``12`` or ``#12`` for a notice); the handler gets
    the row number. Text that is no such number is answered here, naming what it is."""

    kind: Kind = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class Command:
    words: tuple[str, ...]
    handler: Handler
    summary: str
    role: Role = Role.ANYONE
    args: tuple[Arg, ...] = ()
    where: Where = Where.ANY
    hidden: bool = False

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def usage(self, translate: Callable[[str], str], may: May) -> str:
        """The usage line for a reader who ``may`` use what roles (options they may not choose
        left out)."""
        parts = (arg.usage(translate, may) for arg in self.args)
        return " ".join(["/" + self.name, *(part for part in parts if part)])


@dataclass
class Router:
    """Holds the commands of one or more dialog modules (``include`` merges routers)."""

    commands: list[Command] = field(default_factory=list)
    profile_sections: list[ProfileSection] = field(default_factory=list)
    """Lines features add to ``/me`` (``profile_section``), so the core imports none of them."""
    start_payloads: dict[str, StartHandler] = field(default_factory=dict)
    """Deep-link payload prefixes (``lesson_``) and the feature handler for each
    (``start_payload``)."""
    file_handlers: list[FileHandler] = field(default_factory=list)
    """Features that take files sent to the bot (question banks), asked in turn."""
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    numbers: list[NumberHandler] = field(default_factory=list)
    replies: list[ReplyHandler] = field(default_factory=list)
    """Features that take platform replies to their messages, asked in turn."""
    privacy_sections: list[ProfileSection] = field(default_factory=list)
    """What features say in ``/privacy`` about what they store (``privacy_section``)."""

    def command(
        self,
        name: str,
        *,
        summary: str,
        role: Role = Role.ANYONE,
        args: Sequence[Arg] = (),
        where: Where = Where.ANY,
        hidden: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands.append(
                Command(tuple(name.split()), handler, summary, role, tuple(args), where, hidden)
            )
            return handler

        return register

    def button(self, prefix: str) -> Callable[[ButtonHandler], ButtonHandler]:
        """Register a stateless button: payloads ``<prefix>:<rest>`` go to the handler even
        when no conversation is active (a "received" button under a notice)."""

        def register(handler: ButtonHandler) -> ButtonHandler:
            if prefix in self.buttons or ":" in prefix or "|" in prefix:
                raise ValueError(f"button prefix {prefix!r} is taken or invalid")
            self.buttons[prefix] = handler
            return handler

        return register

    def profile_section(self, section: ProfileSection) -> ProfileSection:
        """Register lines a feature adds to the caller's ``/me``, after the core's own (in
        the order the features are composed)."""
        self.profile_sections.append(section)
        return section

    def start_payload(self, prefix: str) -> Callable[[StartHandler], StartHandler]:
        """Register the handler of ``/start <prefix>…`` deep links (it gets what follows the
        prefix). The longest matching prefix wins; ``""`` takes every payload no other claims
        (an invite code)."""

        def register(handler: StartHandler) -> StartHandler:
            if prefix in self.start_payloads:
                raise ValueError(f"start payload prefix {prefix!r} is taken")
            self.start_payloads[prefix] = handler
            return handler

        return register

    async def open_payload(self, ctx: Context, payload: str) -> bool:
        """Hand a deep link's payload to the handler of its longest prefix; ``False`` when no
        prefix claims it."""
        claims = [prefix for prefix in self.start_payloads if payload.startswith(prefix)]
        if not claims:
            return False
        prefix = max(claims, key=len)
        await self.start_payloads[prefix](ctx, payload[len(prefix) :])
        return True

    def number(self, handler: NumberHandler) -> NumberHandler:
        """Register a handler for numbers typed outside a conversation: where a platform has
        no buttons, stateless buttons arrive as their number."""
        self.numbers.append(handler)
        return handler

    def reply(self, handler: ReplyHandler) -> ReplyHandler:
        """Register a handler for platform replies to the bot's messages: asked before the
        conversation the chat holds, so a secretary in the middle of something else can still
        answer a letter by replying to it."""
        self.replies.append(handler)
        return handler

    def privacy_section(self, section: ProfileSection) -> ProfileSection:
        """Register what a feature says in ``/privacy`` (lines, in the reader's language)."""
        self.privacy_sections.append(section)
        return section

    async def replied(self, ctx: Context) -> bool:
        for handler in self.replies:
            if await handler(ctx):
                return True
        return False

    def include(self, other: Router) -> None:
        self.commands.extend(other.commands)
        self.profile_sections.extend(other.profile_sections)
        for prefix, opener in other.start_payloads.items():
            self.start_payload(prefix)(opener)
        self.file_handlers.extend(other.file_handlers)
        for prefix, handler in other.buttons.items():
            self.button(prefix)(handler)
        self.numbers.extend(other.numbers)
        self.replies.extend(other.replies)
        self.privacy_sections.extend(other.privacy_sections)

    async def press(self, ctx: Context, payload: str) -> bool:
        """Run the stateless button handler for ``payload``; ``False`` when it has none."""
        prefix, colon, rest = payload.partition(":")
        handler = self.buttons.get(prefix) if colon else None
        if handler is None:
            return False
        await handler(ctx, rest)
        return True

    async def typed_number(self, ctx: Context, number: int) -> bool:
        for handler in self.numbers:
            if await handler(ctx, number):
                return True
        return False

    def names(self) -> set[str]:
        return {command.words[0] for command in self.commands}

    def find(self, name: str, args: Sequence[str]) -> tuple[Command | None, list[Command]]:
        """The command for ``/name args`` and, when none matches, the family of ``name``."""
        family = [c for c in self.commands if c.words[0] == name]
        for command in sorted(family, key=lambda c: -len(c.words)):
            tail = command.words[1:]
            if tuple(a.lower() for a in args[: len(tail)]) == tail:
                return command, family
        return None, family

    async def dispatch_file(self, ctx: Context, attachment: Attachment) -> None:
        for handler in self.file_handlers:
            if await handler(ctx, attachment):
                return
        ctx.reply(_("I don't know what to do with {name}."), name=attachment.name)

    def suggest(self, name: str) -> str | None:
        matches = difflib.get_close_matches(name, sorted(self.names()), n=1, cutoff=0.6)
        return matches[0] if matches else None

    def visible_to(self, ctx: Context) -> list[Command]:
        return [c for c in self.commands if not c.hidden and ctx.who.has(c.role)]

    async def dispatch(self, ctx: Context, name: str, args: Sequence[str]) -> None:
        command, family = self.find(name, args)
        if command is None:
            await self._unknown(ctx, name, args, family)
            return
        if not ctx.who.has(command.role):
            ctx.reply(
                _("Only {who} can use /{command}."),
                who=ctx.text(command.role.who),
                command=command.name,
            )
            return
        if command.where is Where.DIRECT and not ctx.event.chat.direct:
            link = direct_link(ctx, command)
            if link is not None:
                ctx.reply(
                    _("Please send /{command} to me in a direct chat: the button opens one."),
                    command=command.name,
                    choices=[[Choice(ctx.text(_("Open a direct chat")), "", url=link)]],
                )
            else:
                ctx.reply(_("Please send /{command} to me in a direct chat."), command=command.name)
            return
        if command.where is Where.GROUP and ctx.event.chat.direct:
            ctx.reply(_("/{command} works in a group room: send it there."), command=command.name)
            return
        parsed = await self._parse(ctx, command, list(args[len(command.words) - 1 :]))
        if parsed is not None:
            await command.handler(ctx, **parsed)

    async def _unknown(
        self, ctx: Context, name: str, args: Sequence[str], family: list[Command]
    ) -> None:
        if family:
            usages = [
                c.usage(ctx.text, ctx.who.has)
                for c in family
                if ctx.who.has(c.role) and not c.hidden
            ]
            if usages:
                lines = [Markup.format("• `{usage}`", usage=usage) for usage in usages]
                ctx.reply(Markup.join([ctx.t(_("Usage:")), *lines]))
            else:
                role = min(c.role for c in family)
                ctx.reply(_("Only {who} can use /{command}."), who=ctx.text(role.who), command=name)
            return
        suggestion = self.suggest(name)
        if suggestion:
            ctx.reply(
                _("I don't know /{command}. Did you mean /{suggestion}? /help lists them all."),
                command=name,
                suggestion=suggestion,
            )
        else:
            ctx.reply(_("I don't know /{command}. /help lists what I can do."), command=name)

    async def _parse(
        self, ctx: Context, command: Command, tokens: list[str]
    ) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        position = 0
        for index, arg in enumerate(command.args):
            left = tokens[position:]
            needed_after = sum(1 for later in command.args[index + 1 :] if not later.optional)
            if len(left) <= needed_after or (
                isinstance(arg, OneOf) and arg.choose(left[0]) is None and arg.optional
            ):
                if not arg.optional:
                    self._usage(ctx, command)
                    return None
                values[arg.name] = arg.default if isinstance(arg, OneOf) else None
                continue
            if not isinstance(arg, (Rest, BranchArg)) and len(left[0]) > MAX_WORD:
                ctx.reply(
                    _("That {what} is too long: at most {limit} characters."),
                    what=ctx.text(arg.label),
                    limit=MAX_WORD,
                )
                return None
            if isinstance(arg, Rest):
                values[arg.name] = " ".join(left)
                position = len(tokens)
            elif isinstance(arg, OneOf):
                chosen = arg.choose(left[0])
                if chosen is None:
                    self._usage(ctx, command)
                    return None
                values[arg.name] = chosen
                position += 1
            elif isinstance(arg, BranchArg):
                found = await self._branch(ctx, left, needed_after)
                if found is None:
                    ctx.reply(
                        _("There is no branch called “{name}”."),
                        name=shorten(" ".join(left[: max(1, len(left) - needed_after)])),
                    )
                    return None
                branch, used = found
                if arg.managed and not ctx.who.manages(branch.id):
                    ctx.reply(
                        _("Only the secretaries of {branch} and admins can use /{command} for it."),
                        branch=branch.name,
                        command=command.name,
                    )
                    return None
                values[arg.name] = branch
                position += used
            elif isinstance(arg, Int):
                number = arg.value(left[0])
                if number is None:
                    bounds = {"minimum": arg.minimum, "maximum": arg.maximum}
                    shown = {**bounds, arg.name: shorten(left[0])}
                    ctx.reply(Markup.format(ctx.text(arg.invalid), **shown))
                    return None
                values[arg.name] = number
                position += 1
            elif isinstance(arg, Number):
                try:
                    values[arg.name] = arg.kind.digits(left[0])
                except BadNumber as error:
                    self._bad_number(ctx, arg.kind, error)
                    return None
                position += 1
            else:
                values[arg.name] = left[0]
                position += 1
        if position < len(tokens):
            self._usage(ctx, command)
            return None
        return values

    async def _branch(
        self, ctx: Context, tokens: list[str], needed_after: int
    ) -> tuple[Branch, int] | None:
        """The branch named by the longest run of leading words that leaves room for the
        arguments after it."""
        return await ctx.store.branches.named_by_run(tokens, max(1, len(tokens) - needed_after))

    @staticmethod
    def _bad_number(ctx: Context, kind: Kind, error: BadNumber) -> None:
        if error.found is None:
            ctx.reply(
                _("“{text}” is not a {kind}: write it like {example}."),
                text=shorten(error.text),
                kind=ctx.text(kind.noun),
                example=kind.example(),
            )
        else:
            ctx.reply(
                _("{text} is a {found}; this needs a {kind}, like {example}."),
                text=shorten(error.text),
                found=ctx.text(error.found.noun),
                kind=ctx.text(kind.noun),
                example=kind.example(),
            )

    def _usage(self, ctx: Context, command: Command) -> None:
        ctx.reply(_("Usage: `{usage}`"), usage=command.usage(ctx.text, ctx.who.has))


def direct_link(ctx: Context, command: Command) -> str | None:
    """Where the platform cannot open a direct chat itself (Telegram, a group robot), a link
    that opens one and sends ``/start <command>`` there, so the command starts in the direct
    chat (the web chat's where the platform has no links).

    Only the name travels, never arguments: anyone can post such a link, and a tap must not run
    ``/link <someone else's code>`` for the person who taps it.
    """
    if ctx.capabilities.can_open_dm:
        return None
    return ctx.link_to(command.words[0])


def direct_only(router: Router, name: str) -> Command | None:
    """The direct-chat-only command called ``name`` (what a ``direct_link`` may start)."""
    command, _family = router.find(name, ())
    return command if command is not None and command.where is Where.DIRECT else None


def help_text(ctx: Context, commands: Sequence[Command]) -> Markup:
    lines = []
    # Whole lines, not a hint glued on with a space: Chinese puts no space before （.
    templates = {
        Where.DIRECT: _("`{usage}` — {summary} (direct chat only)"),
        Where.GROUP: _("`{usage}` — {summary} (group room only)"),
    }
    for command in commands:
        template = templates.get(command.where, _("`{usage}` — {summary}"))
        lines.append(
            ctx.t(
                template,
                usage=command.usage(ctx.text, ctx.who.has),
                summary=ctx.text(command.summary),
            )
        )
    return Markup.join(lines)
