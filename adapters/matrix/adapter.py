"""The Matrix adapter: a sync loop in, ``room_send`` with the outbox id as transaction id out.

The sync token is stored only after every event of a sync response has been taken in by the
core, so a crash replays at most one response (the core drops the events it has seen) and a
restart continues where the last response ended: nothing sent while the bot was down is lost.
nio's own retries are switched off (``max_limit_exceeded=0``, ``max_timeouts=0``): a send that
meets ``M_LIMIT_EXCEEDED`` raises ``RetryLater`` at once, so the delivery worker, not a sleeping
request, decides when to try again, and other work goes on meanwhile. With a crypto store
(``store_path``) nio decrypts the timeline in place and encrypts sends; without one, encrypted
rooms are explained and left.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import random
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DirectRoomsResponse,
    ErrorResponse,
    JoinResponse,
    LocalProtocolError,
    MegolmEvent,
    ProfileGetDisplayNameResponse,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomGetStateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    SendRetryError,
    SyncResponse,
    UploadResponse,
)

from adapters.matrix import parse, render
from adapters.matrix.rooms import DirectRooms
from adapters.matrix.session import KeyValueStore, LoginFailed, MatrixSettings, Session
from bot.events import Chat, Incoming, Sender
from bot.markup import Markup
from bot.messages import (
    Address,
    Capabilities,
    DeliveryError,
    EventHandler,
    Outgoing,
    RetryLater,
    SentRef,
    TransientError,
    Unreachable,
)

log = logging.getLogger(__name__)

MAX_TEXT = 30_000
"""Characters the core may put in one message; the adapter splits it by size (``MAX_BYTES``)."""
MAX_BYTES = 60_000
"""JSON bytes of one event's content: Synapse refuses events over 65,536 bytes, and the HTML
copy of the text travels in the same event."""
MAX_ENCRYPTED_BYTES = 40_000
"""The same in an encrypted room: the ciphertext is base64, a third bigger than the JSON."""
REMEMBERED_CHOICES = 10_000
GAP_LIMIT = 1_000
"""Events fetched per room to fill a gap after a long downtime (the sync timeline is capped)."""
TIMELINE_LIMIT = 100
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


def _filter(timeline: int) -> dict[str, Any]:
    return {
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "timeline": {"limit": timeline},
            "state": {"lazy_load_members": True},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        },
    }


def _source(event: Any) -> dict[str, Any]:
    """The raw event; nio's invite-state parsers move ``content`` out of ``source``."""
    source: dict[str, Any] = dict(event.source)
    if "content" not in source and isinstance(getattr(event, "content", None), dict):
        source["content"] = event.content
    return source


def _failure(response: ErrorResponse) -> DeliveryError:
    code = response.status_code
    if code == "M_LIMIT_EXCEEDED":
        return RetryLater(max(0.05, (response.retry_after_ms or 1000) / 1000), whole_account=True)
    if code in GONE:
        return RoomGone(str(response))
    if code in REFUSED:
        return Unreachable(str(response))
    return TransientError(str(response))


class MatrixAdapter:
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

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, handle: EventHandler) -> None:
        """Log in (or reuse the stored device), read ``m.direct``, start syncing."""
        self._handle = handle
        self._stopping = False
        store_path = self.settings.store_path
        self.client = AsyncClient(
            self.settings.homeserver,
            self.settings.user_id,
            store_path=store_path or "",
            config=AsyncClientConfig(
                max_limit_exceeded=0,
                max_timeouts=0,
                request_timeout=30,
                encryption_enabled=self.encrypted,
                store_sync_tokens=False,
            ),
        )
        self._full_state = self.encrypted
        try:
            await self.session.login(self.client)
            if self.encrypted and self.client.olm is None:
                raise LoginFailed("matrix: end-to-end encryption needs matrix-nio[e2e]")
            await self._keys()
            self._txn = await self.session.txn_prefix()
            self._next_batch = await self.session.get("next_batch")
            await self._load_direct()
        except BaseException:
            await self.client.close()
            self.client = None
            raise
        self._logged_in.set()
        self._task = asyncio.create_task(self._sync_forever(), name="matrix-sync")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._handle = None
        self._logged_in.clear()
        if self.client is not None:
            await self.client.close()
            self.client = None
        self.ready.clear()

    @property
    def encrypted(self) -> bool:
        """End-to-end encryption is on when there is a crypto store to keep the keys in."""
        return bool(self.settings.store_path)

    async def _keys(self) -> None:
        """The crypto chores a sync leaves: upload our keys, learn and claim others', and send
        the room keys waiting to go out as to-device messages."""
        client = self._client()
        if not self.encrypted:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

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

    # -- the sync loop -------------------------------------------------------------------

    async def _sync_forever(self) -> None:
        failures = 0
        while True:
            try:
                await self._sync_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                delay = min(self.settings.max_backoff, 0.25 * 2**failures)
                delay *= random.uniform(0.5, 1.0)
                log.warning("matrix sync failed (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)

    async def _sync_once(self) -> None:
        client = self._client()
        first = self._next_batch is None
        try:
            response = await client.sync(
                timeout=0 if first or not self.ready.is_set() else self.settings.sync_timeout_ms,
                since=self._next_batch,
                sync_filter=_filter(0 if first else TIMELINE_LIMIT),
                # With encryption, nio must know every room's members and state to encrypt.
                full_state=self._full_state or None,
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransientError(f"sync: {error!r}") from error
        if not isinstance(response, SyncResponse):
            if getattr(response, "status_code", None) == "M_UNKNOWN_TOKEN":
                await self.session.password_login(client, client.device_id)
            raise TransientError(f"sync: {response}")
        self._full_state = False
        await self._keys()
        await self._invites(response)
        if not first:
            await self._timeline(response)
        await self.session.put("next_batch", response.next_batch)
        self._next_batch = response.next_batch
        self.ready.set()

    async def _invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            try:
                await self._invited(room_id, [_source(e) for e in info.invite_state])
            except (parse.Malformed, KeyError, TypeError, AttributeError) as error:
                log.warning("matrix: dropped malformed invite to %s: %s", room_id, error)

    async def _invited(self, room_id: str, state: list[dict[str, Any]]) -> None:
        client = self._client()
        me = self.settings.user_id
        invite = next(
            (e for e in state if e.get("type") == "m.room.member" and e.get("state_key") == me),
            None,
        )
        inviter = invite.get("sender", "") if invite else ""
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        if server not in self.settings.servers:
            log.info("matrix: declined an invite to %s from %s", room_id, inviter or "unknown")
            await client.room_leave(room_id)
            return
        answer = await client.join(room_id)
        if not isinstance(answer, JoinResponse):
            log.warning("matrix: could not join %s: %s", room_id, answer)
            return
        log.info("matrix: joined %s on the invitation of %s", room_id, inviter)
        if not self.encrypted and any(e.get("type") == "m.room.encryption" for e in state):
            await self._refuse_encrypted(room_id)
            return
        content = invite.get("content", {}) if invite else {}
        if isinstance(content, dict) and content.get("is_direct") is True:
            async with self._direct_lock:
                if self.direct.add(inviter, room_id):
                    await self._save_direct()

    async def _refuse_encrypted(self, room_id: str) -> None:
        """Say why the bot cannot stay (it has no end-to-end encryption), then leave."""
        if room_id in self._encrypted_noticed:
            return
        self._encrypted_noticed.add(room_id)
        client = self._client()
        notice = render.contents(
            Outgoing(self.notices.encrypted_room), MAX_BYTES, msgtype="m.notice"
        )
        await client.room_send(room_id, "m.room.message", notice[0])
        await client.room_leave(room_id)
        async with self._direct_lock:
            if self.direct.is_direct(room_id):
                self.direct.forget(room_id)
                await self._save_direct()
        log.info("matrix: left encrypted room %s", room_id)

    async def _timeline(self, response: SyncResponse) -> None:
        """Turn every new event into an ``Incoming`` and hand them all to the core at once (the
        core keeps arrival order per person), then return when all are taken in."""
        events: list[Incoming] = []
        client = self._client()
        self._opened -= set(client.rooms)
        for room_id in response.rooms.leave:
            self._members.pop(room_id, None)
        for room_id, info in response.rooms.join.items():
            sources = [e.source for e in info.timeline.events]
            if info.timeline.limited and info.timeline.prev_batch and self._next_batch:
                sources = await self._gap(room_id, info.timeline.prev_batch) + sources
            if any(
                isinstance(e, dict) and e.get("type") == "m.room.member"
                for e in [*sources, *(state.source for state in info.state)]
            ):
                self._members.pop(room_id, None)
            if not self.encrypted and any(
                e.get("type") in ("m.room.encryption", "m.room.encrypted")
                for e in [*sources, *(s.source for s in info.state)]
                if isinstance(e, dict)
            ):
                await self._refuse_encrypted(room_id)
                continue
            sources = self._after_own_join(sources)
            fresh = {source.get("event_id") for source in sources if isinstance(source, dict)}
            for undecrypted in info.timeline.events:
                if isinstance(undecrypted, MegolmEvent) and undecrypted.event_id in fresh:
                    await self._undecryptable(room_id, undecrypted)
            for source in sources:
                try:
                    incoming = await self._incoming(room_id, source)
                except (parse.Malformed, AttributeError, TypeError) as error:
                    log.warning(
                        "matrix: dropped malformed event %s in %s: %s",
                        source.get("event_id") if isinstance(source, dict) else "?",
                        room_id,
                        error,
                    )
                    continue
                if incoming is not None:
                    events.append(incoming)
        if events and self._handle is not None:
            await asyncio.gather(*(self._handle(event) for event in events))

    def _after_own_join(self, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A room the bot just joined arrives with its recent history: that is not for us."""
        for index in range(len(sources) - 1, -1, -1):
            event = sources[index]
            if (
                isinstance(event, dict)
                and event.get("type") == "m.room.member"
                and event.get("state_key") == self.settings.user_id
                and (event.get("content") or {}).get("membership") == "join"
                and ((event.get("unsigned") or {}).get("prev_content") or {}).get("membership")
                != "join"
            ):
                return sources[index + 1 :]
        return sources

    async def _gap(self, room_id: str, prev_batch: str) -> list[dict[str, Any]]:
        """Events between the stored sync token and a capped timeline, oldest first."""
        client = self._client()
        found: list[dict[str, Any]] = []
        start = prev_batch
        while len(found) < GAP_LIMIT:
            page = await client.room_messages(room_id, start=start, end=self._next_batch, limit=100)
            if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                break
            found.extend(e.source for e in page.chunk)
            if not page.end or page.end == start:
                break
            start = page.end
        found.reverse()
        return found

    async def _incoming(self, room_id: str, event: dict[str, Any]) -> Incoming | None:
        if not isinstance(event, dict) or event.get("sender") == self.settings.user_id:
            return None
        kind = event.get("type")
        sender = event.get("sender")
        direct = isinstance(sender, str) and await self._is_direct(room_id, sender)
        chat = Chat(room_id, direct)
        if kind == "m.room.encrypted":
            return None  # nio could not decrypt it: ``_undecryptable`` asked for the keys
        if kind == "m.room.message":
            names = {sender: await self._name(sender)} if isinstance(sender, str) else {}
            return parse.message(self.name, chat, event, names)
        if kind == "m.reaction":
            reaction = parse.reaction(event)
            if reaction is None:
                return None
            offer = await self._offer(room_id, reaction.target)
            if not 1 <= reaction.number <= len(offer.payloads):
                return None
            return Incoming(
                platform=self.name,
                event_id=reaction.event_id,
                chat=chat,
                sender=await self._sender(reaction.sender),
                choice=offer.payloads[reaction.number - 1],
                reply_to=reaction.target,
                thread=offer.thread,
            )
        return None

    async def _sender(self, user_id: str) -> Sender:
        return Sender(user_id, await self._name(user_id))

    async def _name(self, user_id: str) -> str:
        """A sender's display name (asked once, remembered in a bounded map)."""
        if user_id in self._names:
            return self._names[user_id]
        answer = await self._client().get_displayname(user_id)
        name = ""
        if isinstance(answer, ProfileGetDisplayNameResponse) and answer.displayname:
            name = str(answer.displayname)
        self._remember(self._names, user_id, name)
        return name

    async def _offer(self, room_id: str, event_id: str) -> Offer:
        """The choices a bot message offered and its thread: remembered from sending it, or read
        back from the event itself (after a restart; nio decrypts it in an encrypted room), and
        only from an event the bot sent."""
        if event_id in self._choices:
            return self._choices[event_id]
        answer = await self._client().room_get_event(room_id, event_id)
        offer = Offer((), None)
        if isinstance(answer, RoomGetEventResponse):
            source = answer.event.source
            content = source.get("content")
            content = content if isinstance(content, dict) else {}
            stored = content.get(render.CHOICES_KEY)
            relates = content.get("m.relates_to")
            relates = relates if isinstance(relates, dict) else {}
            thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
            if source.get("sender") == self.settings.user_id and isinstance(stored, list):
                offer = Offer(
                    tuple(p for p in stored if isinstance(p, str)),
                    thread if isinstance(thread, str) else None,
                )
        self._remember(self._choices, event_id, offer)
        return offer

    async def _is_direct(self, room_id: str, user_id: str) -> bool:
        """A room is direct for ``user_id`` only when ``m.direct`` maps it to them and nobody
        but they and the bot is in it: an inviter's ``is_direct`` alone proves nothing, and a
        direct room someone else joined is a group from then on."""
        if self.direct.user_of(room_id) != user_id:
            return False
        members = await self._room_members(room_id)
        return members is not None and user_id in members and len(members) <= 2

    async def _room_members(self, room_id: str) -> frozenset[str] | None:
        """Who is joined or invited, from the homeserver (nio lazy-loads members, so its own
        view is partial); ``None`` when the bot cannot see the room any more."""
        if room_id in self._members:
            return self._members[room_id]
        answer = await self._client().room_get_state(room_id)
        if not isinstance(answer, RoomGetStateResponse):
            if getattr(answer, "status_code", None) in GONE:
                return None
            raise TransientError(f"matrix room state of {room_id}: {answer}")
        members = frozenset(
            event["state_key"]
            for event in answer.events
            if isinstance(event, dict)
            and event.get("type") == "m.room.member"
            and isinstance(event.get("state_key"), str)
            and isinstance(event.get("content"), dict)
            and event["content"].get("membership") in ("join", "invite")
        )
        self._remember(self._members, room_id, members)
        return members

    async def _undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        """Ask the sender's devices for the missing room key (an answer lets nio read later
        messages of that session) and tell the sender once that this message went unread."""
        client = self._client()
        log.warning("matrix: could not decrypt %s in %s", event.event_id, room_id)
        with contextlib.suppress(LocalProtocolError):  # already asked for this session
            await client.request_room_key(event)
        key = f"{room_id} {event.sender}"
        if key in self._unreadable_noticed or event.sender == self.settings.user_id:
            return
        self._remember(self._unreadable_noticed, key, True)
        notice = render.contents(
            Outgoing(self.notices.undecryptable, reply_to=event.event_id),
            MAX_ENCRYPTED_BYTES,
            msgtype="m.notice",
        )
        with contextlib.suppress(LocalProtocolError, SendRetryError):
            await client.room_send(
                room_id, "m.room.message", notice[0], ignore_unverified_devices=True
            )

    @staticmethod
    def _remember(cache: OrderedDict[str, Any], key: str, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > REMEMBERED_CHOICES:
            cache.popitem(last=False)

    # -- sending -------------------------------------------------------------------------

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        """Send one outbox row; its id (with this store's prefix) is the transaction id, so a
        resend after a crash returns the event the homeserver already has. Delivery starts
        before the adapters do, so rows left from before a restart wait here for the login.

        A message to a person goes to their direct room as ``m.direct`` records it (a stored
        chat id may be stale); if that room is gone for the bot, a new one is opened once."""
        if not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._logged_in.wait(), 30)
        to_person = address.user_id is not None and (address.direct or not address.chat_id)
        if not to_person:
            if not address.chat_id:
                raise Unreachable("no chat and no user to open a direct chat with")
            return await self._send_in(address.chat_id, message, message_id)
        assert address.user_id is not None
        room = await self._direct_room(address.user_id)
        try:
            return await self._send_in(room, message, message_id)
        except RoomGone:
            async with self._direct_lock:
                self.direct.forget(room)
                await self._save_direct()
            log.info("matrix: direct room %s is gone; opening a new one", room)
        return await self._send_in(await self._direct_room(address.user_id), message, message_id)

    async def _send_in(self, room: str, message: Outgoing, message_id: str) -> SentRef:
        client = self._client()
        txn = f"{self._txn}.{message_id}"
        limit = MAX_ENCRYPTED_BYTES if room in client.encrypted_rooms else MAX_BYTES
        try:
            if message.image is not None:
                await self._send_image(room, message, f"{txn}.image")
            event_id = ""
            for index, content in enumerate(render.contents(message, limit)):
                answer = await client.room_send(
                    room,
                    "m.room.message",
                    content,
                    tx_id=txn if index == 0 else f"{txn}.{index}",
                    ignore_unverified_devices=True,
                )
                if not isinstance(answer, RoomSendResponse):
                    raise _failure(answer)
                event_id = answer.event_id
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransientError(f"matrix send: {error!r}") from error
        except LocalProtocolError as error:
            # nio knows no such room. Before the first sync (or for a room the bot just
            # opened) that is a matter of time; after it, the bot is not in that room.
            if self.ready.is_set() and room not in client.rooms and room not in self._opened:
                raise RoomGone(f"matrix send: {error}") from error
            raise TransientError(f"matrix send: {error}") from error
        except SendRetryError as error:
            raise TransientError(f"matrix send: {error}") from error
        if message.numbered:
            offer = Offer(tuple(c.payload for c in message.numbered), message.thread)
            self._remember(self._choices, event_id, offer)
        return SentRef(event_id)

    async def _send_image(self, room: str, message: Outgoing, txn: str) -> None:
        assert message.image is not None
        client = self._client()
        data = message.image.data
        secret = room in client.encrypted_rooms
        uploaded, keys = await client.upload(
            io.BytesIO(data), content_type=message.image.mime, filesize=len(data), encrypt=secret
        )
        if not isinstance(uploaded, UploadResponse):
            raise _failure(uploaded)
        content = render.image_content(message, uploaded.content_uri, len(data))
        if secret and keys:
            content["file"] = {"url": content.pop("url"), **keys}
        answer = await client.room_send(
            room, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
        )
        if not isinstance(answer, RoomSendResponse):
            raise _failure(answer)

    async def _direct_room(self, user_id: str) -> str:
        """The direct room with ``user_id``, opened (and recorded in ``m.direct``) if there is
        none that is still theirs alone: this is how the bot reaches a member who never wrote
        to it, and how private things stay out of a room someone else has joined."""
        async with self._direct_lock:
            stale = False
            while (room := self.direct.room_for(user_id)) is not None:
                if await self._is_direct(room, user_id):
                    break
                self.direct.forget(room)
                stale = True
            if stale:
                await self._save_direct()
            if room is not None:
                return room
            try:
                answer = await self._client().room_create(
                    is_direct=True,
                    invite=[user_id],
                    preset=RoomPreset.private_chat,
                    # Only the bot may invite: the room must stay the two of them.
                    power_level_override={"invite": 100},
                )
            except (aiohttp.ClientError, TimeoutError) as error:
                raise TransientError(f"matrix room_create: {error!r}") from error
            if not isinstance(answer, RoomCreateResponse):
                raise _failure(answer)
            room_id = str(answer.room_id)
            self._opened.add(room_id)
            self.direct.add(user_id, room_id)
            await self._save_direct()
            log.info("matrix: opened direct room %s with %s", room_id, user_id)
            return room_id
