"""Members as real matrix-nio clients of the test Synapse, and a bot wired to the same server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    LoginResponse,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
)

from adapters.matrix import MatrixAdapter
from bot.app import BranchBot, configure
from tests.support.synapse import Synapse, User
from tests.support.templates import migrated

Event = dict[str, Any]


@dataclass
class Member:
    """A person on Matrix: syncs in the background, joins what they are invited to, and keeps
    every event of the rooms they are in."""

    user: User
    client: AsyncClient
    events: list[tuple[str, Event]] = field(default_factory=list)
    decrypted: set[str] = field(default_factory=set)
    """Ids of the events that arrived encrypted and were decrypted here."""
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self.user.user_id

    async def start(self) -> None:
        if self.client.config.encryption_enabled:
            login = await self.client.login(self.user.password, device_name="phone")
            assert isinstance(login, LoginResponse), login
        first = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(first, SyncResponse), first
        await self._keys()
        self.task = asyncio.create_task(self._loop())

    async def _keys(self) -> None:
        client = self.client
        if client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _loop(self) -> None:
        while True:
            try:
                response = await self.client.sync(timeout=500)
            except Exception:  # the homeserver may be restarting
                await asyncio.sleep(0.2)
                continue
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            with contextlib.suppress(Exception):
                await self._keys()
            for room_id, invite in response.rooms.invite.items():
                if any(isinstance(e, InviteMemberEvent) for e in invite.invite_state):
                    await self.client.join(room_id)
            fresh = [
                (room_id, event.source)
                for room_id, info in response.rooms.join.items()
                for event in info.timeline.events
            ]
            self.decrypted.update(
                event.event_id
                for info in response.rooms.join.values()
                for event in info.timeline.events
                if getattr(event, "decrypted", False)
            )
            if fresh:
                async with self.changed:
                    self.events.extend(fresh)
                    self.changed.notify_all()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.client.close()

    async def room(self, bot: str, *, direct: bool, **options: Any) -> str:
        answer = await self.client.room_create(is_direct=direct, invite=[bot], **options)
        assert isinstance(answer, RoomCreateResponse), answer
        room_id: str = answer.room_id
        await self.wait(lambda r, e: r == room_id and _joined(e, bot))
        return room_id

    async def send(self, room: str, content: Event, kind: str = "m.room.message") -> str:
        answer = await self.client.room_send(room, kind, content, ignore_unverified_devices=True)
        assert isinstance(answer, RoomSendResponse), answer
        return str(answer.event_id)

    async def say(self, room: str, text: str, **relates: Any) -> str:
        content: Event = {"msgtype": "m.text", "body": text}
        if relates:
            content["m.relates_to"] = relates
        return await self.send(room, content)

    async def react(self, room: str, event_id: str, key: str) -> str:
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self.send(room, {"m.relates_to": relates}, "m.reaction")

    def from_bot(self, bot: str, room: str | None = None) -> list[Event]:
        return [
            e
            for r, e in self.events
            if e.get("sender") == bot
            and e.get("type") == "m.room.message"
            and (room is None or r == room)
        ]

    async def wait(self, match: Callable[[str, Event], bool], timeout: float = 10.0) -> Event:
        async with asyncio.timeout(timeout), self.changed:
            while True:
                for room, event in self.events:
                    if match(room, event):
                        return event
                await self.changed.wait()

    async def ask(self, bot: str, room: str, text: str, **relates: Any) -> Event:
        """Say something and return the bot's next message in that room."""
        before = len(self.from_bot(bot, room))
        await self.say(room, text, **relates)
        await self.wait(lambda r, e: len(self.from_bot(bot, room)) > before)
        return self.from_bot(bot, room)[before]


def _joined(event: Event, user: str) -> bool:
    return (
        event.get("type") == "m.room.member"
        and event.get("state_key") == user
        and event.get("content", {}).get("membership") == "join"
    )


def body(event: Event) -> str:
    return str(event.get("content", {}).get("body", ""))


@asynccontextmanager
async def members(
    synapse: Synapse, count: int, *, keys: Path | None = None
) -> AsyncIterator[list[Member]]:
    """``count`` fresh members; with ``keys`` (a folder) their clients do end-to-end encryption."""
    people = []
    for _ in range(count):
        user = synapse.register()
        if keys is None:
            client = AsyncClient(synapse.url, user.user_id)
            client.restore_login(user.user_id, "member", user.access_token)
        else:
            client = AsyncClient(
                synapse.url,
                user.user_id,
                store_path=str(keys),
                config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
            )
        people.append(Member(user, client))
    try:
        for person in people:
            await person.start()
        yield people
    finally:
        for person in people:
            await person.stop()


def matrix_config(
    synapse: Synapse,
    bot: User,
    database_url: str,
    matrix_overrides: dict[str, Any] | None = None,
    **overrides: Any,
) -> Any:
    matrix = {"homeserver": synapse.url, "user_id": bot.user_id, "password": bot.password}
    options: dict[str, Any] = {
        "database_url": database_url,
        "playground": False,
        "default_locale": "en",
        "matrix": {**matrix, **(matrix_overrides or {})},
    }
    options.update(overrides)
    return configure(None, **options)


@asynccontextmanager
async def matrix_bot(
    synapse: Synapse, bot: User, database_url: str, **overrides: Any
) -> AsyncIterator[BranchBot]:
    """A running bot whose only adapter is Matrix, syncing before this yields."""
    await migrated(database_url)
    app = BranchBot(matrix_config(synapse, bot, database_url, **overrides), serve_http=False)
    await app.start()
    try:
        await asyncio.wait_for(adapter_of(app).ready.wait(), 15)
        yield app
    finally:
        await app.stop()


def adapter_of(app: BranchBot) -> MatrixAdapter:
    adapter = app.deliveries["matrix"].adapter
    assert isinstance(adapter, MatrixAdapter)
    return adapter
