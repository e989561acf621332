"""The composition root: builds every part from the config and starts and stops them in order."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from adapters.matrix import MatrixAdapter, MatrixSettings, Notices
from adapters.playground import PlaygroundChannel, Standing
from adapters.robots import PRESETS
from adapters.robots.base import GROUP, RobotChannel
from adapters.robots.inbound import (
    DINGTALK_SKEW,
    SLACK_SKEW,
    DingTalkListener,
    Listener,
    MattermostListener,
    RobotEndpoint,
    SlackListener,
)
from adapters.telegram import CommandMenu, TelegramAdapter
from adapters.webchat import WebChatAdapter
from adapters.webhook import WebhookChannel, WebhookEndpoint
from bot.builtins import builtin_router, privacy_router
from bot.commands import Router, Where
from bot.config import Config, ConfigError, load_config
from bot.context import Settings
from bot.conversation import DialogRegistry
from bot.delivery import Delivery, Place
from bot.engine import Engine
from bot.feature import Feature, Services, migrations
from bot.http import HttpServer
from bot.i18n import LOCALES, _, translator
from bot.identity import Role
from bot.messages import WEB_CHAT, Adapter, Capabilities
from bot.metrics import Metrics
from bot.scheduler import Scheduler, ScheduleSource
from dialogs import FEATURES
from store.clock import SYSTEM_CLOCK, Clock
from store.db import Database
from store.repos import Repositories
from store.runtime import PendingMessage
from store.webchat import StoredWebChat

__all__ = ["FEATURES", "BranchBot", "build_dialogs", "configure", "settings_of"]

log = logging.getLogger(__name__)

W = TypeVar("W", bound=ScheduleSource)


def configure(
    path: str | Path | None = None,
    *,
    features: Sequence[Feature] = FEATURES,
    **overrides: Any,
) -> Config:
    """The config with a section for each of ``features`` (``load_config`` with their models)."""
    sections = {f.name: f.config for f in features if f.config is not None}
    config = load_config(path, sections=sections, **overrides)
    web_chat_enabled(config)
    return config


def web_chat_enabled(config: Config) -> bool:
    """Whether ``/chat`` is served: ``[web_chat] enabled``, or when unset, whether
    ``http.public_url`` is https. Refused (``ConfigError``) where the page would be served on a
    public address without an https ``public_url``: its session cookie must not travel in
    clear, and its links must name the address people reach."""
    section = config.web_chat
    https = (config.http.public_url or "").lower().startswith("https://")
    enabled = https if section.enabled is None else section.enabled
    if enabled and not config.local_only and not https:
        raise ConfigError(
            "web_chat: the web chat on a public address (http.host = "
            f"{config.http.host}) needs http.public_url with https, behind a reverse proxy "
            "that terminates TLS (docs/webchat.md)"
        )
    return enabled


def settings_of(
    config: Config,
    features: Sequence[Feature] = FEATURES,
    web_address: Callable[[], str] | None = None,
) -> Settings:
    """What handlers, workers and feature commands read of ``config`` and the features."""
    return Settings(
        default_locale=config.default_locale,
        invite_days=config.invite_days,
        timezone=config.timezone,
        admins=frozenset(config.all_admins),
        sections={f.config: config.section(f.config) for f in features if f.config},
        figures=tuple(f.figures for f in features if f.figures is not None),
        problems=tuple(f.problems for f in features if f.problems is not None),
        rectifying=any(f.rectifies for f in features),
        web_address=web_address
        or (lambda: config.http.address(f"http://{config.http.host}:{config.http.port}")),
    )


def build_dialogs(features: Sequence[Feature] = FEATURES) -> tuple[Router, DialogRegistry]:
    """The built-in commands, then the features' commands and dialogs, in the features'
    order (the built-ins answer over the whole router: ``/help`` lists every command), then
    ``/privacy`` when a feature says something there."""
    router = Router()
    router.include(builtin_router(router))
    registry = DialogRegistry()
    for feature in features:
        router.include(feature.router)
        for dialog in feature.dialogs:
            registry.register(dialog)
    if router.privacy_sections:
        router.include(privacy_router(router))
    return router, registry


TELEGRAM_LANGUAGES = {"zh_Hans": "zh", "en": "en"}
"""Our locales by the language codes Telegram apps report."""


def telegram_menus(router: Router, config: Config) -> list[CommandMenu]:
    """The "/" menus, from the same declarations as /help: per scope, per language.

    Telegram scopes cannot follow our roles exactly, so: members' commands in private chats and
    groups, secretaries' commands for group administrators, and everything for the admins the
    config names (their private chats).
    """
    admins = [a.split(":", 1)[1] for a in config.admins if a.startswith("telegram:")]
    scopes: list[tuple[str, Role, Where]] = [
        ("private", Role.MEMBER, Where.GROUP),
        ("groups", Role.MEMBER, Where.DIRECT),
        ("group_admins", Role.SECRETARY, Where.DIRECT),
        *((user, Role.ADMIN, Where.GROUP) for user in admins if user.isdecimal()),
    ]
    languages = [(None, config.default_locale)] + [
        (TELEGRAM_LANGUAGES[locale], locale) for locale in LOCALES
    ]
    menus = []
    for scope, role, excluded in scopes:
        for language, locale in languages:
            text = translator(locale, locale).text
            entries: dict[str, str] = {}
            for command in router.commands:
                if command.hidden or command.role > role or command.where is excluded:
                    continue
                entries.setdefault(command.words[0], text(command.summary))
            menus.append(CommandMenu(scope, language, tuple(entries.items())))
    return menus


@dataclass(frozen=True, slots=True)
class StoredValues:
    """The store's named values as the small key-value protocol adapters ask for."""

    db: Database

    async def get(self, name: str) -> str | None:
        async with self.db.session() as session:
            return await Repositories(session).values.get(name)

    async def put(self, name: str, value: str) -> None:
        async with self.db.session() as session:
            await Repositories(session).values.put(name, value)


def matrix_adapter(config: Config, db: Database) -> MatrixAdapter:
    matrix = config.matrix
    assert matrix is not None
    t = translator(config.default_locale, config.default_locale)
    notices = Notices(
        encrypted_room=t(
            _(
                "I cannot take part in encrypted rooms: I would not be able to read what you "
                "write here. Please invite me to a room without encryption (or open a direct "
                "chat without it); I am leaving this one."
            )
        ),
        undecryptable=t(
            _(
                "I could not decrypt your message (my device has no key for it yet), so I did "
                "not read it. I have asked your devices for the key; please send it again."
            )
        ),
    )
    settings = MatrixSettings(
        homeserver=matrix.homeserver,
        user_id=matrix.user_id,
        password=matrix.resolved_password(),
        access_token=matrix.resolved_access_token(),
        device_name=matrix.device_name,
        allowed_servers=tuple(matrix.allowed_servers),
        messages_per_second=matrix.messages_per_second,
        store_path=str(matrix.store_path) if matrix.store_path else None,
    )
    return MatrixAdapter(settings, StoredValues(db), notices)


def robot_listener(kind: str, secret: str, max_skew: float) -> tuple[Listener, float]:
    """The inbound check of a robot ``kind`` and how long its requests are remembered against
    replays (their timestamp's window; Mattermost's slash commands carry none, so an hour)."""
    if kind == "dingtalk":
        skew = max_skew or DINGTALK_SKEW
        return DingTalkListener(secret, skew), 2 * skew
    if kind == "slack":
        skew = max_skew or SLACK_SKEW
        return SlackListener(secret, skew), 2 * skew
    return MattermostListener(secret, max_skew or SLACK_SKEW), 3600.0


def freeze_startup() -> None:
    """Collect once, then put every object alive after startup (modules, SQLAlchemy's mappers,
    the catalogs, the router: 280,000 of them) out of the collector's sight, so a full
    collection scans only what the running bot makes. At 4,000 events/s on SQLite its pauses,
    which land on the commit path, went from 333 ms to 127 ms at most and from 1.5 s to 0.4 s
    in total over 8 s. Once per process (``branchbot run``), never per bot: the suite starts
    thousands of bots, and what a freeze holds is never freed."""
    gc.collect()
    gc.freeze()


class BranchBot:
    """One running bot. ``extra_adapters`` lets tests and benchmarks plug in the memory adapter;
    ``clock`` is the time everything reads (tests pass a ``ManualClock`` to move it)."""

    def __init__(
        self,
        config: Config,
        *,
        features: Sequence[Feature] = FEATURES,
        extra_adapters: Sequence[Adapter] = (),
        serve_http: bool = True,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.features = tuple(features)
        self.metrics = Metrics()
        self.db = Database(config.database_url, clock=clock, migrations=migrations(self.features))
        self.http = HttpServer(
            config.http.host,
            config.http.port,
            self.metrics.registry,
            idle_timeout=config.http.idle_timeout,
            body_timeout=config.http.body_timeout,
        )
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
        self.robots: list[RobotChannel] = []
        self.hearing = RobotEndpoint()
        for robot in config.robots:
            robot_channel = RobotChannel(
                PRESETS[robot.kind],
                robot.name,
                robot.url.get_secret_value(),
                robot.resolved_secret(),
                robot.timeout,
                robot.messages_per_minute,
                robot.messages_per_second,
            )
            self.robots.append(robot_channel)
            self.adapters.append(robot_channel)
            secret = robot.inbound_secret()
            if robot.inbound is not None and secret is not None:
                listener, window = robot_listener(robot.kind, secret, robot.inbound.max_skew)
                self.hearing.add(robot_channel, listener, window)
        self.playground: PlaygroundChannel | None = None
        if config.playground_enabled:
            self.playground = PlaygroundChannel(
                standings=self._playground_standings, locale=config.default_locale
            )
            self.webhooks.add(self.playground)
            self.adapters.append(self.playground)
            self.http.add_routes(self.playground.routes())
            self.http.app.on_shutdown.append(self.playground.close_streams)
        router, dialogs = build_dialogs(self.features)
        self.web_chat = self._web_chat(router)
        self.http.add_routes(self.webhooks.routes())
        self.http.add_routes(self.hearing.routes())
        self.telegram: TelegramAdapter | None = None
        token = config.telegram.resolved_token()
        if token is not None:
            self.telegram = TelegramAdapter(
                token,
                api_url=config.telegram.api_url,
                webhook_url=config.telegram.webhook_url,
                webhook_secret=(
                    config.telegram.webhook_secret.get_secret_value()
                    if config.telegram.webhook_secret
                    else None
                ),
                poll_timeout=config.telegram.poll_timeout,
                menus=telegram_menus(router, config),
            )
            self.adapters.append(self.telegram)
            if config.telegram.webhook_url:
                self.http.add_routes(self.telegram.routes())
        if config.matrix is not None:
            self.adapters.append(matrix_adapter(config, self.db))
        self.adapters.extend(extra_adapters)
        self.deliveries = {
            adapter.name: Delivery(
                adapter,
                self.db,
                self.metrics,
                default_locale=config.default_locale,
                max_attempts=config.delivery.max_attempts,
                transient_give_up=config.delivery.transient_give_up_hours * 3600.0,
            )
            for adapter in self.adapters
        }
        for delivery in self.deliveries.values():
            delivery.places = self.answer_places
        settings = settings_of(config, self.features, lambda: config.http.address(self.http.url))
        self.engine = Engine(
            self.db,
            router,
            dialogs,
            settings,
            config.all_admins,
            self._capabilities,
            self._deliver,
            self.metrics,
            event_budget=config.event_budget_seconds,
        )
        self.scheduler = Scheduler(
            self.engine,
            self.db,
            config.timezone,
            timedelta(days=config.delivery.retention_days),
        )
        services = Services(self.db, self._deliver, settings, self._capabilities)
        self.workers: list[ScheduleSource] = [
            worker for feature in self.features for worker in feature.workers(services)
        ]
        for worker in self.workers:
            self.scheduler.add_source(worker)
        for feature in self.features:
            self.http.add_routes(feature.routes(services))
        self._started = False

    def worker(self, kind: type[W]) -> W:
        """The running worker of type ``kind`` (a feature's scheduler source)."""
        for worker in self.workers:
            if isinstance(worker, kind):
                return worker
        raise LookupError(f"no {kind.__name__} runs")

    def _web_chat(self, router: Router) -> WebChatAdapter | None:
        """The web direct chat (docs/webchat.md), when ``web_chat_enabled``."""
        if not web_chat_enabled(self.config):
            return None
        section = self.config.web_chat
        adapter = WebChatAdapter(
            StoredWebChat(self.db, history=section.history),
            base_url=lambda: self.config.http.address(self.http.url),
            locale=self.config.default_locale,
            trusted_proxies=section.trusted_proxies,
            start_commands=frozenset(
                c.words[0] for c in router.commands if c.where is Where.DIRECT
            ),
        )
        self.adapters.append(adapter)
        self.http.add_routes(adapter.routes())
        self.http.app.on_shutdown.append(adapter.close_streams)
        return adapter

    def answer_places(self, payload: str | None) -> list[Place]:
        """The direct chats people can open with the bot, for the groups that cannot take
        answers (``bot.delivery.answer_elsewhere``), the web chat first (it works for everyone
        with a phone): a link to ``payload``'s place where the platform has links (read when
        asked: Telegram's is known once the adapter has started), else the bot's id."""
        places = []
        for adapter in self.adapters:
            capabilities = adapter.capabilities
            if capabilities.deep_link and capabilities.can_open_dm:
                link = capabilities.deep_link_for(payload) if payload else None
                places.append(Place(adapter.name, link or capabilities.deep_link.partition("?")[0]))
        if self.config.matrix is not None:
            places.append(Place("matrix", handle=self.config.matrix.user_id))
        return sorted(places, key=lambda place: place.platform != WEB_CHAT)

    def _capabilities(self, platform: str) -> Capabilities:
        delivery = self.deliveries.get(platform)
        return delivery.adapter.capabilities if delivery else Capabilities()

    async def _playground_standings(self, user_ids: Sequence[str]) -> dict[str, Standing]:
        """The playground's people as the store knows them, for the page's subtitles."""
        assert self.playground is not None
        platform = self.playground.name
        async with self.db.session() as session:
            store = Repositories(session)
            people = await store.people.resolve([(platform, u) for u in user_ids])
            admins = {*self.config.all_admins, *await store.people.stored_admins()}
        standings: dict[str, Standing] = {}
        for user_id in user_ids:
            person = people.get((platform, user_id))
            identities = person.identities if person else [f"{platform}:{user_id}"]
            standings[user_id] = Standing(
                admin=any(i in admins for i in identities),
                member_of=person.branch_name if person else None,
                secretary_of=tuple(sorted(person.secretary_of.values())) if person else (),
            )
        return standings

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

    async def bind_robots(self) -> None:
        """Bind each robot's group to the branch its config names, so the branch's broadcasts
        and reports reach it; a branch not created yet is logged and bound at a later start
        (or by calling this again)."""
        async with self.db.session() as session:
            repositories = Repositories(session)
            for robot, channel in zip(self.config.robots, self.robots, strict=True):
                if robot.branch is None:
                    continue
                branch = await repositories.branches.by_name(robot.branch)
                if branch is None:
                    log.warning("%s: no branch %r to bind to yet", channel.name, robot.branch)
                    continue
                room = await repositories.rooms.by_chat(channel.name, GROUP)
                if room is None or room.branch_id != branch.id:
                    await repositories.rooms.bind(channel.name, GROUP, branch.id, robot.name, None)

    async def start(self) -> None:
        await self.db.upgrade()
        await self.bind_robots()
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
        # Events in hand are finished first; sends in flight then complete while the adapters
        # are still open (stopping an adapter first made them fail and go out again at the next
        # start). Events a polling adapter takes meanwhile are not confirmed to its platform,
        # so they come again after the restart.
        await self.engine.stop()
        await self.scheduler.stop()
        for delivery in self.deliveries.values():
            await delivery.stop()
        for adapter in self.adapters:
            await adapter.stop()
        await self.db.dispose()

    async def idle(self) -> None:
        """Wait until every queued message has been sent (or refused for good)."""
        await asyncio.gather(*(d.idle() for d in self.deliveries.values()))

    async def run_forever(self) -> None:
        await self.start()
        freeze_startup()
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
