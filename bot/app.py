"""The composition root: builds every part from the config and starts and stops them in order."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta

from adapters.playground import PlaygroundChannel
from adapters.webhook import WebhookChannel, WebhookEndpoint
from bot.config import Config
from bot.context import Settings
from bot.delivery import Delivery
from bot.engine import Engine
from bot.http import HttpServer
from bot.messages import Adapter, Capabilities
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.timetable import QuietHours
from dialogs import Broadcaster, BroadcastOptions, build_dialogs
from store.db import Database
from store.runtime import PendingMessage

log = logging.getLogger(__name__)


class BranchBot:
    """One running bot. ``extra_adapters`` lets tests and benchmarks plug in the memory adapter."""

    def __init__(
        self, config: Config, *, extra_adapters: Sequence[Adapter] = (), serve_http: bool = True
    ) -> None:
        self.config = config
        self.metrics = Metrics()
        self.db = Database(config.database_url)
        self.http = HttpServer(config.http.host, config.http.port, self.metrics.registry)
        self.serve_http = serve_http
        self.webhooks = WebhookEndpoint()
        self.adapters: list[Adapter] = []
        for channel in config.webhook.channels:
            webhook = WebhookChannel(
                channel.name,
                channel.resolved_secret(),
                channel.callback_url,
                channel.messages_per_minute,
                channel.timeout,
                channel.chat_interval,
            )
            self.webhooks.add(webhook)
            self.adapters.append(webhook)
        self.playground: PlaygroundChannel | None = None
        if config.playground_enabled:
            self.playground = PlaygroundChannel()
            self.webhooks.add(self.playground)
            self.adapters.append(self.playground)
            self.http.add_routes(self.playground.routes())
            self.http.app.on_shutdown.append(self.playground.close_streams)
        self.http.add_routes(self.webhooks.routes())
        self.adapters.extend(extra_adapters)
        self.deliveries = {
            adapter.name: Delivery(
                adapter, self.db, self.metrics, default_locale=config.default_locale
            )
            for adapter in self.adapters
        }
        router, dialogs = build_dialogs()
        self.engine = Engine(
            self.db,
            router,
            dialogs,
            Settings(
                default_locale=config.default_locale,
                invite_days=config.invite_days,
                timezone=config.timezone,
            ),
            config.all_admins,
            self._capabilities,
            self._deliver,
            self.metrics,
        )
        self.scheduler = Scheduler(self.engine, self.db, config.timezone)
        options = config.broadcast
        self.broadcaster = Broadcaster(
            self.db,
            self._deliver,
            BroadcastOptions(
                timezone=config.timezone,
                default_locale=config.default_locale,
                digest=options.digest,
                reminder_interval=timedelta(hours=options.reminder_interval_hours),
                reminder_max=options.reminder_max,
                quiet_hours=QuietHours.parse(options.quiet_hours),
                chunk=options.chunk,
            ),
        )
        self.scheduler.add_source(self.broadcaster)
        self._started = False

    def _capabilities(self, platform: str) -> Capabilities:
        delivery = self.deliveries.get(platform)
        return delivery.adapter.capabilities if delivery else Capabilities()

    def _deliver(self, rows: list[PendingMessage]) -> None:
        by_platform: dict[str, list[PendingMessage]] = {}
        for row in rows:
            by_platform.setdefault(row.platform, []).append(row)
        for platform, platform_rows in by_platform.items():
            delivery = self.deliveries.get(platform)
            if delivery is None:
                log.warning(
                    "%d messages for %s wait in the outbox: no such adapter is configured",
                    len(platform_rows),
                    platform,
                )
                continue
            delivery.enqueue(platform_rows)

    async def start(self) -> None:
        await self.db.upgrade()
        await self.engine.start()
        for adapter in self.adapters:
            await adapter.start(self.engine.submit)
        # Delivery after the adapters: a send through an adapter not yet started fails, and a
        # restart with thousands of pending rows would back every one of them off.
        for delivery in self.deliveries.values():
            await delivery.start()
        self.scheduler.start()
        if self.serve_http:
            await self.http.start()
        self.http.ready = True
        self._started = True
        log.info(
            "branchbot is ready: %s", ", ".join(a.name for a in self.adapters) or "no adapters"
        )

    async def stop(self) -> None:
        """Stop taking events, finish those in hand, flush delivery outcomes, close the store."""
        if not self._started:
            await self.db.dispose()
            return
        self._started = False
        self.http.ready = False
        if self.serve_http:
            await self.http.stop()
        for adapter in self.adapters:
            await adapter.stop()
        await self.engine.stop()
        await self.scheduler.stop()
        for delivery in self.deliveries.values():
            await delivery.stop()
        await self.db.dispose()

    async def idle(self) -> None:
        """Wait until every queued message has been sent (or refused for good)."""
        await asyncio.gather(*(d.idle() for d in self.deliveries.values()))

    async def run_forever(self) -> None:
        await self.start()
        if self.playground is not None and self.serve_http:
            log.info("playground: open %s/ in a browser", self.http.url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await self.stop()
