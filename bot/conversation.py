"""Conversations: dialogs as state machines over ``transitions``, stored between events.

A dialog reads top to bottom as its diagram: the ``states`` and ``transitions`` tables, then
per state an ``on_enter_<state>`` coroutine that asks that state's question and an
``@answers("<state>")`` method for its answer (a button press or a choice's number typed;
``text=True`` for free text). A handler moves on with ``await self.fire(ctx, trigger)``, which
takes the declared transition and then asks the new state's question. A dialog is started
with typed arguments, ``SomeDialog.start(ctx, SomeDialog.Arguments(...))``; ``setup`` keeps in
``data`` what the steps need of them.

There is one ``Machine`` per dialog class with more than one state (built once,
``auto_transitions=False``); for each event a lightweight instance is rehydrated from its
stored row (state name, JSON data, version), added to that machine, fed the event and removed
again, and the engine writes it back in the same transaction as the replies. A dialog with one
state has no machine: it only asks and answers. The machine's callbacks are synchronous and do
no I/O, so it calls none of the dialog's hooks; the base awaits ``on_enter_<state>`` itself
after the transition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, cast, final, overload

from transitions import Machine, State
from typing_extensions import TypeVar

from bot.i18n import _

if TYPE_CHECKING:
    from bot.context import Context
    from bot.events import Attachment


ROOM = "*"
"""The user id a room-wide conversation (``Dialog.room``) is stored under."""

A = TypeVar("A", default=Any)
"""What a dialog is started with (its ``Arguments`` dataclass; ``None`` for nothing)."""
H = TypeVar("H", bound=Callable[..., Awaitable[None]])
ANSWERS = "__dialog_answers__"
"""The attribute ``@answers`` marks a method with: the ``(state, text)`` pairs it answers."""
FILES = "__dialog_files__"
"""The attribute ``@answers(..., files=True)`` marks a method with: the states it takes files in."""

Answer = Callable[["Context", str], Awaitable[None]]
Enter = Callable[["Context"], Awaitable[None]]


def answers(*states: str, text: bool = False, files: bool = False) -> Callable[[H], H]:
    """Mark a method as the answer to ``states``: ``handler(ctx, payload)`` for a button press
    or a choice's number typed, with ``text=True`` ``handler(ctx, text)`` for free text, or with
    ``files=True`` ``handler(ctx, attachment)`` for a file sent (an image for a letter)."""

    def mark(handler: H) -> H:
        if files:
            setattr(handler, FILES, [*getattr(handler, FILES, []), *states])
            return handler
        keys: list[tuple[str, bool]] = getattr(handler, ANSWERS, [])
        setattr(handler, ANSWERS, [*keys, *((state, text) for state in states)])
        return handler

    return mark


class _State(State):
    """A state that binds none of the model's methods: ``on_enter_<state>`` is a coroutine the
    dialog awaits itself, never a synchronous machine callback."""

    dynamic_methods: list[str] = []


class _Machine(Machine):
    state_cls = _State


class Dialog(Generic[A]):
    """Base of every conversation model."""

    name: ClassVar[str]
    states: ClassVar[list[str]]
    transitions: ClassVar[list[dict[str, Any]]] = []
    initial: ClassVar[str]
    """The state entered when the dialog begins: the first of ``states`` unless named."""
    slot: ClassVar[str] = "main"
    """Conversations in different slots of the same chat run side by side."""
    room: ClassVar[bool] = False
    """Started in a group chat, one conversation for the whole room (stored under user ``*``):
    anyone there may press its buttons or type a choice's number, unless they have a
    conversation of their own in that chat."""
    timeout: ClassVar[float | None] = 15 * 60
    """Seconds of silence after which the conversation ends (a stored deadline)."""

    _handlers: ClassVar[dict[tuple[str, bool], str]] = {}
    """``(state, text)`` → the name of the ``@answers`` method, collected per class."""
    _file_handlers: ClassVar[dict[str, str]] = {}
    """state → the name of the ``@answers(files=True)`` method."""
    _machines: ClassVar[dict[type[Dialog], Machine]] = {}
    state: str
    trigger: Callable[..., bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not hasattr(cls, "states"):
            return  # a base that declares no states (its subclasses do, and are checked)
        if not hasattr(cls, "initial"):
            cls.initial = cls.states[0]
        handlers: dict[tuple[str, bool], str] = {}
        file_handlers: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attribute, value in vars(klass).items():
                for key in getattr(value, ANSWERS, ()):
                    handlers[key] = attribute
                for state in getattr(value, FILES, ()):
                    file_handlers[state] = attribute
        cls._handlers = handlers
        cls._file_handlers = file_handlers
        hooks = [a[len("on_enter_") :] for a in dir(cls) if a.startswith("on_enter_")]
        named = {s for s, _text in handlers} | set(file_handlers) | set(hooks) | {cls.initial}
        if named - set(cls.states):
            raise ValueError(f"{cls.__name__} has no state {sorted(named - set(cls.states))}")

    def __init__(self, data: dict[str, Any] | None = None, state: str | None = None) -> None:
        self.data: dict[str, Any] = data if data is not None else {}
        self.state = state or self.initial
        self.finished = False
        self.deadline_in: float | None = self.timeout
        self.showed_choices = False
        """Set by the context when this step sent buttons (a room-wide step then moves on)."""
        self.choices: list[str] | None = None
        """The payloads of the choices shown, in the order their numbers may be typed."""

    @classmethod
    def machine(cls) -> Machine | None:
        """The class's one machine; ``None`` for a dialog with one state (nothing to move)."""
        if len(cls.states) == 1:
            return None
        machine = Dialog._machines.get(cls)
        if machine is None:
            machine = _Machine(
                model=None,
                states=cls.states,
                transitions=cls.transitions,
                initial=cls.initial,
                auto_transitions=False,
                ignore_invalid_triggers=False,
            )
            Dialog._machines[cls] = machine
        return machine

    # -- starting ---------------------------------------------------------------------------

    @overload
    @classmethod
    async def start(cls: type[Dialog[None]], ctx: Context) -> None: ...

    @overload
    @classmethod
    async def start(cls, ctx: Context, arguments: A) -> None: ...

    @classmethod
    async def start(cls, ctx: Context, arguments: Any = None) -> None:
        """Start this dialog for the speaker in this chat (replacing one in the same slot)."""
        await ctx.start(cls, arguments=arguments)

    @final
    async def begin(self, ctx: Context, arguments: A) -> None:
        """The engine starts the conversation: ``setup``, then the initial state's question."""
        await self.setup(ctx, arguments)
        if not self.finished:
            await self.enter(ctx, self.initial)

    async def setup(self, ctx: Context, arguments: A) -> None:
        """Keep in ``data`` what the steps need of ``arguments``: only ``data`` is stored."""

    # -- moving -----------------------------------------------------------------------------

    async def fire(self, ctx: Context, trigger: str) -> None:
        """Take the transition ``trigger`` from this state, then ask the new state's question."""
        self.trigger(trigger)
        await self._entered(ctx)

    async def enter(self, ctx: Context, state: str) -> None:
        """Ask ``state``'s question: the initial state's when the dialog begins, or this
        state's again (the next question of a run). A dialog moves to another state only by
        a declared transition (``fire``)."""
        if state != self.state:
            raise ValueError(f"{self.name} moves from {self.state} to {state} only by fire()")
        await self._entered(ctx)

    async def _entered(self, ctx: Context) -> None:
        hook = cast("Enter | None", getattr(self, f"on_enter_{self.state}", None))
        if hook is not None:
            await hook(ctx)

    def finish(self) -> None:
        """End the conversation: its row is deleted when the event commits."""
        self.finished = True

    def expire_in(self, seconds: float | None) -> None:
        """Set this step's deadline (``None``: no deadline), such as a quiz question's timer."""
        self.deadline_in = seconds

    # -- answering (the engine's entry points) ----------------------------------------------

    async def on_choice(self, ctx: Context, payload: str) -> None:
        """A button press (or its number typed) that belongs to this conversation's last step."""
        await self._answer(ctx, payload, text=False)

    async def on_text(self, ctx: Context, text: str) -> None:
        """A plain message while this conversation is active."""
        await self._answer(ctx, text, text=True)

    @classmethod
    def takes_files(cls, state: str) -> bool:
        """Whether ``state`` has an ``@answers(files=True)`` method."""
        return state in cls._file_handlers

    async def on_file(self, ctx: Context, attachment: Attachment) -> None:
        """A file sent while this conversation waits for one (``takes_files``)."""
        name = self._file_handlers.get(self.state)
        if name is None:
            ctx.reply(_("Please answer the question above, or send /cancel to stop."))
            return
        handler = cast("Callable[[Context, Attachment], Awaitable[None]]", getattr(self, name))
        await handler(ctx, attachment)

    async def _answer(self, ctx: Context, value: str, *, text: bool) -> None:
        name = self._handlers.get((self.state, text))
        if name is None:
            ctx.reply(_("Please answer the question above, or send /cancel to stop."))
            return
        handler = cast("Answer", getattr(self, name))
        await handler(ctx, value)

    async def on_timeout(self, ctx: Context) -> None:
        """The deadline passed with no answer."""
        ctx.reply(_("I stopped waiting for an answer. Send the command again to start over."))
        self.finish()


class DialogRegistry:
    """Dialog classes by name, so a stored row finds its class again after a restart."""

    def __init__(self) -> None:
        self._by_name: dict[str, type[Dialog]] = {}

    def register(self, cls: type[Dialog]) -> type[Dialog]:
        if cls.name in self._by_name and self._by_name[cls.name] is not cls:
            raise ValueError(f"two dialogs are called {cls.name!r}")
        self._by_name[cls.name] = cls
        cls.machine()
        return cls

    def classes(self) -> list[type[Dialog]]:
        return list(self._by_name.values())

    def get(self, name: str) -> type[Dialog] | None:
        return self._by_name.get(name)

    def rehydrate(self, name: str, state: str, data: dict[str, Any]) -> Dialog | None:
        cls = self.get(name)
        if cls is None or state not in cls.states:
            return None
        model = cls(data, state)
        machine = cls.machine()
        if machine is not None:
            machine.add_model(model, initial=state)
        return model

    @staticmethod
    def create(cls: type[Dialog]) -> Dialog:
        model = cls()
        machine = cls.machine()
        if machine is not None:
            machine.add_model(model)
        return model

    @staticmethod
    def release(model: Dialog) -> None:
        machine = type(model).machine()
        if machine is not None:
            machine.remove_model(model)
