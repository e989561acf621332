"""Logging in once and staying the same device: the token and device id live in our store.

The adapter may not see the store (import-linter), so it asks for a ``KeyValueStore``; the
composition root hands it one over the store's small named-values table. Keeping the device
matters beyond tidiness: Synapse de-duplicates transaction ids per device, so a resend after a
restart is only recognised when it comes from the same device.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nio import AsyncClient, LoginResponse, WhoamiResponse

log = logging.getLogger(__name__)


def crypto_store(settings: MatrixSettings, device: str) -> Path:
    """Where matrix-nio keeps a device's keys (its default store's file name)."""
    return Path(settings.store_path or ".") / f"{settings.user_id}_{device}.db"


class KeyValueStore(Protocol):
    """Small durable named values (the composition root backs it with the store)."""

    async def get(self, name: str) -> str | None: ...

    async def put(self, name: str, value: str) -> None: ...


class LoginFailed(RuntimeError):
    """The homeserver refused the configured credentials."""


@dataclass(frozen=True, slots=True)
class MatrixSettings:
    homeserver: str
    user_id: str
    password: str | None = None
    access_token: str | None = None
    device_name: str = "branchbot"
    allowed_servers: tuple[str, ...] = ()
    """Homeservers whose users may invite the bot into rooms; empty means the bot's own."""
    messages_per_second: float | None = 10.0
    sync_timeout_ms: int = 30_000
    max_backoff: float = 30.0
    store_path: str | None = None
    """A folder for matrix-nio's crypto store; setting it turns end-to-end encryption on."""

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]

    @property
    def servers(self) -> frozenset[str]:
        return frozenset(self.allowed_servers or (self.server_name,))


@dataclass
class Session:
    """The stored parts of the bot's Matrix login, under names prefixed with its user id."""

    settings: MatrixSettings
    store: KeyValueStore
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        self.prefix = f"matrix:{self.settings.user_id}:"

    async def get(self, name: str) -> str | None:
        return await self.store.get(self.prefix + name)

    async def put(self, name: str, value: str) -> None:
        await self.store.put(self.prefix + name, value)

    async def txn_prefix(self) -> str:
        """A random prefix for transaction ids, made once per store: outbox row ids start at 1
        again in a new database, and must not collide with ids this device used before."""
        prefix = await self.get("txn_prefix")
        if prefix is None:
            prefix = secrets.token_hex(4)
            await self.put("txn_prefix", prefix)
        return prefix

    async def login(self, client: AsyncClient) -> None:
        """An access token from the config wins; else reuse the stored device and token; else
        log in with the password and store what the homeserver gave."""
        settings = self.settings
        if settings.access_token:
            client.user_id, client.access_token = settings.user_id, settings.access_token
            who = await client.whoami()
            if not isinstance(who, WhoamiResponse) or not who.device_id:
                raise LoginFailed(f"the configured access token was refused: {who}")
            client.restore_login(settings.user_id, who.device_id, settings.access_token)
            return
        device, token = await self.get("device_id"), await self.get("access_token")
        if device and settings.store_path and not crypto_store(settings, device).exists():
            # The device's keys are lost with its crypto store; a new device gets new ones.
            log.warning("matrix: no crypto store for device %s; logging in as a new device", device)
            device = None
        if device and token:
            client.user_id, client.access_token = settings.user_id, token
            who = await client.whoami()
            if isinstance(who, WhoamiResponse):
                client.restore_login(settings.user_id, device, token)
                return
            log.info("matrix: the stored access token no longer works (%s); logging in", who)
        await self.password_login(client, device)

    async def password_login(self, client: AsyncClient, device: str | None) -> None:
        if not self.settings.password:
            raise LoginFailed("matrix needs password or access_token")
        client.user = self.settings.user_id
        client.device_id = device or None
        answer = await client.login(self.settings.password, device_name=self.settings.device_name)
        if not isinstance(answer, LoginResponse):
            raise LoginFailed(f"matrix login refused: {answer}")
        await self.put("device_id", answer.device_id)
        await self.put("access_token", answer.access_token)
        log.info("matrix: logged in as %s, device %s", answer.user_id, answer.device_id)
