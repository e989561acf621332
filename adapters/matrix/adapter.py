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
import logging
import random
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    MegolmEvent,
    ProfileGetDisplayNameResponse,
    RoomGetEventResponse,
    RoomMessagesResponse,
    SyncResponse,
)

from adapters.matrix import parse, render
from adapters.matrix.base import Offer
from adapters.matrix.media import with_media
from adapters.matrix.sending import Sending
from adapters.matrix.session import LoginFailed
from bot.events import Chat, Incoming, InvalidText, Sender
from bot.messages import EventHandler, TransientError

log = logging.getLogger(__name__)

GAP_LIMIT = 1_000
"""Events fetched per room to fill a gap after a long downtime (the sync timeline is capped)."""
TIMELINE_LIMIT = 100


def _filter(timeline: int) -> dict[str, Any]:
    return {
        "presence": {"types": []},
        "account_data": {"types": ["m.direct"]},
        "room": {
            "timeline": {"limit": timeline},
            "state": {"lazy_load_members": True},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        },
    }


class MatrixAdapter(Sending):
    """Lifecycle, the sync loop and the events it brings in (see the module docstring)."""

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
        await self._direct_changed(response)
        await self._invites(response)
        if not first:
            await self._timeline(response)
        await self.session.put("next_batch", response.next_batch)
        self._next_batch = response.next_batch
        self.ready.set()

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
                except (parse.Malformed, InvalidText, AttributeError, TypeError) as error:
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
            found = parse.attachment(self.name, chat, event, names)
            if found is not None:
                return await with_media(self._client(), *found)
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
