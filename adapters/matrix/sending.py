"""Sending: one outbox row becomes one or more ``m.room.message`` events, each small enough for
the homeserver; a message to a person goes to the direct room ``m.direct`` records, reopened
when that room is no longer theirs alone or is gone for the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging

import aiohttp
from nio import (
    LocalProtocolError,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
    SendRetryError,
    UploadResponse,
)

from adapters.matrix import render
from adapters.matrix.base import Offer, RoomGone, failure
from adapters.matrix.invites import Invites
from bot.messages import Address, Outgoing, Refusal, SentRef, TransientError, Unreachable

log = logging.getLogger(__name__)


class Sending(Invites):
    """``send`` for the delivery worker, and the direct rooms it opens."""

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        """Send one outbox row; its id (with this store's prefix) is the transaction id, so a
        resend after a crash returns the event the homeserver already has. Delivery starts
        before the adapters do, so rows left from before a restart wait here for the login.

        A message to a person goes to the direct room it names while that is still theirs
        alone (a person may have several: each is answered in itself), else to the one
        ``m.direct`` records (a stored chat id may be stale); if that room is gone for the
        bot, a new one is opened once."""
        if not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._logged_in.wait(), 30)
        to_person = address.user_id is not None and (address.direct or not address.chat_id)
        if not to_person:
            if not address.chat_id:
                raise Unreachable("no chat and no user to open a direct chat with", Refusal.GONE)
            return await self._send_in(address.chat_id, message, message_id)
        assert address.user_id is not None
        room = await self._person_room(address.chat_id, address.user_id)
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
        limit = render.MAX_ENCRYPTED_BYTES if room in client.encrypted_rooms else render.MAX_BYTES
        try:
            if message.image is not None or message.document is not None:
                await self._send_media(room, message, f"{txn}.image")
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
                    raise failure(answer)
                event_id = answer.event_id
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransientError(f"matrix send: {error!r}") from error
        except LocalProtocolError as error:
            # nio knows no such room. Before the first sync (or for a room the bot just
            # opened) that is a matter of time; after it, the bot is not in that room.
            if self.ready.is_set() and room not in client.rooms and room not in self._opened:
                raise RoomGone(f"matrix send: {error}", Refusal.GONE) from error
            raise TransientError(f"matrix send: {error}") from error
        except SendRetryError as error:
            raise TransientError(f"matrix send: {error}") from error
        if message.numbered:
            offer = Offer(tuple(c.payload for c in message.numbered), message.thread)
            self._remember(self._choices, event_id, offer)
        return SentRef(event_id)

    async def _send_media(self, room: str, message: Outgoing, txn: str) -> None:
        """The image or the document, uploaded (encrypted in an encrypted room) and sent as
        its own event before the text. The transaction id keeps its old ``.image`` suffix so a
        retry across an upgrade is still recognised as the same event."""
        media = message.image or message.document
        assert media is not None
        client = self._client()
        data = media.data
        secret = room in client.encrypted_rooms
        uploaded, keys = await client.upload(
            io.BytesIO(data),
            content_type=media.mime,
            filename=message.document.name if message.document else None,
            filesize=len(data),
            encrypt=secret,
        )
        if not isinstance(uploaded, UploadResponse):
            raise failure(uploaded)
        content = render.media_content(message, uploaded.content_uri, len(data))
        if secret and keys:
            content["file"] = {"url": content.pop("url"), **keys}
        answer = await client.room_send(
            room, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
        )
        if not isinstance(answer, RoomSendResponse):
            raise failure(answer)

    async def _person_room(self, chat_id: str, user_id: str) -> str:
        """``chat_id`` if it is a direct room of ``user_id`` by ``m.direct`` and membership,
        else their current one: the newest room ``m.direct`` records is not the only one."""
        if chat_id and await self._is_direct(chat_id, user_id):
            return chat_id
        return await self._direct_room(user_id)

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
                raise failure(answer)
            room_id = str(answer.room_id)
            self._opened.add(room_id)
            self.direct.add(user_id, room_id)
            await self._save_direct()
            log.info("matrix: opened direct room %s with %s", room_id, user_id)
            return room_id
