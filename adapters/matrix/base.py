"""What the parts of the Matrix adapter share: the client, the settings, the ``m.direct``
record and the bounded memories. ``invites`` (rooms and who is in them), ``sending`` and
``adapter`` (lifecycle, sync loop, events in) each add a small class on top, in that order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nio import AsyncClient, DirectRoomsResponse, ErrorResponse

from adapters.matrix.rooms import DirectRooms
from adapters.matrix.session import KeyValueStore, MatrixSettings, Session
from bot.markup import Markup
from bot.messages import (
    Capabilities,
    DeliveryError,
    EventHandler,
    Refusal,
    RetryLater,
    TransientError,
    Unreachable,
)

log = logging.getLogger(__name__)

MAX_TEXT = 30_000
"""Characters the core may put in one message; the adapter splits it by size
(``render.MAX_BYTES``)."""
REMEMBERED = 10_000
"""Entries in each bounded memory (choices offered, display names, room members)."""
GONE = frozenset({"M_FORBIDDEN", "M_NOT_FOUND"})
"""The room is gone for the bot (it left, was kicked, or the room never existed)."""
REFUSED = frozenset({*GONE, "M_BAD_JSON", "M_TOO_LARGE", "M_NOT_JSON"})


@dataclass(frozen=True, slots=True)
class Notices:
    """What the adapter itself says, translated by the composition root (adapters see no
    catalogs)."""

    encrypted_room: Markup
    undecryptable: Markup
    """Told once to someone whose encrypted message the bot could not decrypt."""


class RoomGone(Unreachable):
    """The homeserver refused a send because the bot is not (or no longer) in the room."""


@dataclass(frozen=True, slots=True)
class Offer:
    """What a bot message with numbered choices offered, and the thread it was in, so a keycap
    reaction (which carries no thread) is answered where the question was asked."""

    payloads: tuple[str, ...]
    thread: str | None


def failure(response: ErrorResponse) -> DeliveryError:
    code = response.status_code
    if code == "M_LIMIT_EXCEEDED":
        return RetryLater(max(0.05, (response.retry_after_ms or 1000) / 1000), whole_account=True)
    if code in GONE:
        forbidden = code == "M_FORBIDDEN"  # in the room no more, or may not post there
        return RoomGone(str(response), Refusal.FORBIDDEN if forbidden else Refusal.GONE)
    if code in REFUSED:
        return Unreachable(str(response), Refusal.REFUSED)
    return TransientError(str(response))


class AdapterBase:
    """The state every part of the adapter reads; the sync task and senders share it."""

    name = "matrix"

    def __init__(self, settings: MatrixSettings, store: KeyValueStore, notices: Notices) -> None:
        self.settings = settings
        self.session = Session(settings, store)
        self.notices = notices
        self.capabilities = Capabilities(
            buttons=False,
            edits=False,
            images=True,
            threads=True,
            can_open_dm=True,
            max_text_length=MAX_TEXT,
            messages_per_second=settings.messages_per_second,
        )
        if settings.store_path:
            Path(settings.store_path).mkdir(parents=True, exist_ok=True)
        self.client: AsyncClient | None = None
        self.direct = DirectRooms()
        self.ready = asyncio.Event()
        """Set once the first sync is through: from then on every new message is seen."""
        self._handle: EventHandler | None = None
        self._task: asyncio.Task[None] | None = None
        self._next_batch: str | None = None
        self._full_state = False
        """Ask the next sync for every room's full state (nio needs it to encrypt)."""
        self._txn = ""
        self._choices: OrderedDict[str, Offer] = OrderedDict()
        self._members: OrderedDict[str, frozenset[str]] = OrderedDict()
        """Who is joined or invited per room, asked when needed and forgotten whenever a
        membership event of that room passes through sync."""
        self._opened: set[str] = set()
        """Rooms the bot created that sync has not shown yet (nio cannot encrypt for them)."""
        self._unreadable_noticed: OrderedDict[str, bool] = OrderedDict()
        """Who was told in which room that their message could not be decrypted."""
        self._names: OrderedDict[str, str] = OrderedDict()
        self._encrypted_noticed: set[str] = set()
        self._direct_lock = asyncio.Lock()
        self._logged_in = asyncio.Event()
        self._stopping = False

    @property
    def encrypted(self) -> bool:
        """End-to-end encryption is on when there is a crypto store to keep the keys in."""
        return bool(self.settings.store_path)

    def _client(self) -> AsyncClient:
        if self.client is None:
            raise TransientError("matrix adapter is not started")
        return self.client

    async def _load_direct(self) -> None:
        answer = await self._client().list_direct_rooms()
        if isinstance(answer, DirectRoomsResponse) and isinstance(answer.rooms, dict):
            self.direct.load(answer.rooms)

    async def _save_direct(self) -> None:
        client = self._client()
        path = (
            f"/_matrix/client/v3/user/{quote(self.settings.user_id, safe='')}/account_data/m.direct"
        )
        response = await client.send(
            "PUT",
            path,
            json.dumps(self.direct.content()),
            {"Authorization": f"Bearer {client.access_token}", "Content-Type": "application/json"},
        )
        async with response:
            if response.status != 200:
                log.warning("matrix: could not store m.direct: HTTP %d", response.status)

    @staticmethod
    def _remember(cache: OrderedDict[str, Any], key: str, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > REMEMBERED:
            cache.popitem(last=False)
