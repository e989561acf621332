"""The in-memory adapter for tests and benchmarks: push events in, read what was sent."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.events import Attachment, Chat, Incoming, Sender, parse_command
from bot.messages import Accepted, Address, Capabilities, EventHandler, Outgoing, SentRef


@dataclass(frozen=True, slots=True)
class Sent:
    address: Address
    message: Outgoing
    message_id: str
    ref: str = ""
    """What the platform calls it (``SentRef``): what a reply to it names."""


@dataclass
class MemoryAdapter:
    name: str = "memory"
    capabilities: Capabilities = field(default_factory=Capabilities)
    sent: list[Sent] = field(default_factory=list)
    fail: Callable[[Address, Outgoing], Exception | None] | None = None
    """Decides, per send, an error to raise instead of sending (to test delivery)."""
    _handle: EventHandler | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sent_signal: asyncio.Condition | None = None

    async def start(self, handle: EventHandler) -> None:
        self._handle = handle
        self._sent_signal = asyncio.Condition()

    async def stop(self) -> None:
        self._handle = None

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        if self.fail is not None:
            error = self.fail(address, message)
            if error is not None:
                raise error
        ref = f"m{next(self._ids)}"
        self.sent.append(Sent(address, message, message_id, ref))
        if self._sent_signal is not None:
            async with self._sent_signal:
                self._sent_signal.notify_all()
        return SentRef(ref)

    async def push(self, event: Incoming) -> Accepted:
        if self._handle is None:
            raise RuntimeError("adapter is not started")
        return await self._handle(event)

    async def say(
        self,
        user: str,
        text: str = "",
        *,
        chat: str | None = None,
        name: str | None = None,
        choice: str | None = None,
        event_id: str | None = None,
        attachment: Attachment | None = None,
        replied_to: str | None = None,
    ) -> Accepted:
        """Send ``text`` (or press ``choice``) as ``user``; ``chat=None`` is their direct chat."""
        command = None if choice else parse_command(text)
        return await self.push(
            Incoming(
                platform=self.name,
                event_id=event_id or uuid.uuid4().hex,
                chat=Chat(chat or f"dm-{user}", direct=chat is None, title=chat or ""),
                sender=Sender(user, name or user.title()),
                text=text,
                command=command[0] if command else None,
                args=command[1] if command else (),
                choice=choice,
                attachment=attachment,
                replied_to=replied_to,
            )
        )

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Sent]:
        """Wait until at least ``count`` messages have been sent in total."""
        assert self._sent_signal is not None
        async with asyncio.timeout(timeout), self._sent_signal:
            await self._sent_signal.wait_for(lambda: len(self.sent) >= count)
        return self.sent
