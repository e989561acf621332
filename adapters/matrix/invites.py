"""Rooms and who is in them: invitations taken or declined, encrypted rooms left when the bot
cannot read them, and whether a room is really one person's direct chat.

An inviter's ``is_direct`` is recorded in ``m.direct`` but proves nothing by itself: a room is
direct for a person only while ``m.direct`` maps it to them and nobody else is joined or
invited, so invite codes and private notices never go to a room others read.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from nio import (
    JoinResponse,
    LocalProtocolError,
    MegolmEvent,
    RoomGetStateResponse,
    SendRetryError,
    SyncResponse,
    UnknownAccountDataEvent,
)

from adapters.matrix import parse, render
from adapters.matrix.base import GONE, AdapterBase
from bot.messages import Outgoing, TransientError

log = logging.getLogger(__name__)


def _source(event: Any) -> dict[str, Any]:
    """The raw event; nio's invite-state parsers move ``content`` out of ``source``."""
    source: dict[str, Any] = dict(event.source)
    if "content" not in source and isinstance(getattr(event, "content", None), dict):
        source["content"] = event.content
    return source


class Invites(AdapterBase):
    """Invitations, encrypted rooms, room members and unreadable messages."""

    async def _invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            try:
                await self._invited(room_id, [_source(e) for e in info.invite_state])
            except (parse.Malformed, KeyError, TypeError, AttributeError) as error:
                log.warning("matrix: dropped malformed invite to %s: %s", room_id, error)

    async def _direct_changed(self, response: SyncResponse) -> None:
        """Take ``m.direct`` as sync brings it: another client of the account (Element, or the
        one the account was used with before) may record a direct room the bot did not."""
        for event in response.account_data_events:
            if (
                isinstance(event, UnknownAccountDataEvent)
                and event.type == "m.direct"
                and isinstance(event.content, dict)
            ):
                async with self._direct_lock:
                    self.direct.load(event.content)

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
            Outgoing(self.notices.encrypted_room), render.MAX_BYTES, msgtype="m.notice"
        )
        await client.room_send(room_id, "m.room.message", notice[0])
        await client.room_leave(room_id)
        async with self._direct_lock:
            if self.direct.is_direct(room_id):
                self.direct.forget(room_id)
                await self._save_direct()
        log.info("matrix: left encrypted room %s", room_id)

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
            render.MAX_ENCRYPTED_BYTES,
            msgtype="m.notice",
        )
        with contextlib.suppress(LocalProtocolError, SendRetryError):
            await client.room_send(
                room_id, "m.room.message", notice[0], ignore_unverified_devices=True
            )
