"""Conversations: dialogs as state machines over ``transitions``, stored between events.

A dialog is a class that declares its states and transitions. There is one ``Machine`` per
dialog class (built once, ``auto_transitions=False``); for each event a lightweight instance is
rehydrated from its stored row (state name, JSON data, version), added to that machine, fed the
event and removed again, and the engine writes it back in the same transaction as the replies.
Callbacks are synchronous and do no I/O: reading the store happens in the async ``on_*``
methods before a transition is triggered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

from transitions import Machine

from bot.i18n import _

if TYPE_CHECKING:
    from bot.context import Context


ROOM = "*"
"""The user id a room-wide conversation (``Dialog.room``) is stored under."""


class Dialog:
    """Base of every conversation model."""

    name: ClassVar[str]
    states: ClassVar[list[str]]
    transitions: ClassVar[list[dict[str, Any]]] = []
    initial: ClassVar[str]
    slot: ClassVar[str] = "main"
    """Conversations in different slots of the same chat run side by side."""
    room: ClassVar[bool] = False
    """Started in a group chat, one conversation for the whole room (stored under user ``*``):
    anyone there may press its buttons or type a choice's number, unless they have a
    conversation of their own in that chat."""
    timeout: ClassVar[float | None] = 15 * 60
    """Seconds of silence after which the conversation ends (a stored deadline)."""

    _machines: ClassVar[dict[type[Dialog], Machine]] = {}
    state: str
    trigger: Callable[..., bool]

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data if data is not None else {}
        self.finished = False
        self.deadline_in: float | None = self.timeout
        self.showed_choices = False
        """Set by the context when this step sent buttons (a room-wide step then moves on)."""
        self.choices: list[str] | None = None
        """The payloads of the choices shown, in the order their numbers may be typed."""

    @classmethod
    def machine(cls) -> Machine:
        machine = Dialog._machines.get(cls)
        if machine is None:
            machine = Machine(
                model=None,
                states=cls.states,
                transitions=cls.transitions,
                initial=cls.initial,
                auto_transitions=False,
                ignore_invalid_triggers=False,
            )
            Dialog._machines[cls] = machine
        return machine

    def finish(self) -> None:
        """End the conversation: its row is deleted when the event commits."""
        self.finished = True

    def expire_in(self, seconds: float | None) -> None:
        """Set this step's deadline (``None``: no deadline), such as a quiz question's timer."""
        self.deadline_in = seconds

    async def begin(self, ctx: Context, **arguments: Any) -> None:
        """Called once when the dialog starts."""

    async def on_text(self, ctx: Context, text: str) -> None:
        """A plain message while this conversation is active."""
        ctx.reply(_("Please answer the question above, or send /cancel to stop."))

    async def on_choice(self, ctx: Context, payload: str) -> None:
        """A button press (or its number typed) that belongs to this conversation's last step."""
        ctx.reply(_("Please answer the question above, or send /cancel to stop."))

    def on_timeout(self, ctx: Context) -> Awaitable[None] | None:
        """The deadline passed with no answer (a dialog may make this a coroutine)."""
        ctx.reply(_("I stopped waiting for an answer. Send the command again to start over."))
        self.finish()
        return None


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
        if cls is None or state not in cls.machine().states:
            return None
        model = cls(data)
        cls.machine().add_model(model, initial=state)
        return model

    @staticmethod
    def create(cls: type[Dialog]) -> Dialog:
        model = cls()
        cls.machine().add_model(model)
        return model

    @staticmethod
    def release(model: Dialog) -> None:
        type(model).machine().remove_model(model)
