"""Configuration: a TOML file (``--config`` or ``BRANCHBOT_CONFIG``) and ``BRANCHBOT_*`` variables.

Every key can be set either way; the environment wins over the file (nested keys with ``__``:
``BRANCHBOT_HTTP__PORT=9000``). Secrets belong in the environment or in files named by
``*_env`` / ``*_file`` keys rather than in the TOML file itself. docs/config.md lists every key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

from bot.i18n import normalize_locale

CONFIG_ENV = "BRANCHBOT_CONFIG"
PLAYGROUND_CHANNEL = "playground"
PLAYGROUND_ADMIN = "webhook:playground:ada"


S = TypeVar("S", bound=BaseModel)


class ConfigError(ValueError):
    pass


class HttpConfig(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    idle_timeout: float = Field(15.0, gt=0, le=3600)
    """Seconds a connection may stay open without a complete request (idle or slow headers)."""
    body_timeout: float = Field(10.0, gt=0, le=3600)
    """Seconds a request's body may take to arrive after its headers."""
    public_url: str | None = Field(None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    """Where people reach this server (``https://bot.example.org``, behind a reverse proxy):
    the base of the links the bot sends (the web board). Unset: the address it listens on."""

    def address(self, listening: str) -> str:
        """The base of links: ``public_url`` without its trailing slash, or ``listening``."""
        return (self.public_url or listening).rstrip("/")


class WebhookChannelConfig(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    secret: SecretStr | None = None
    secret_env: str | None = None
    secret_file: Path | None = None
    callback_url: str
    messages_per_minute: int | None = Field(None, ge=1)
    """The receiver's rate budget, when it has one (group robots allow about 20)."""
    chat_interval: float = Field(0.0, ge=0)
    """Seconds between two messages to the same chat, when the receiver demands a gap."""
    timeout: float = Field(10.0, gt=0)

    def resolved_secret(self) -> str:
        """The shared secret; an empty one would let anybody sign events, so it is refused."""
        secret = self._read_secret()
        if len(secret.encode()) < 16:
            raise ConfigError(
                f"webhook channel {self.name!r}: the secret must be at least 16 bytes long"
            )
        return secret

    def _read_secret(self) -> str:
        if self.secret is not None:
            return self.secret.get_secret_value()
        if self.secret_env:
            value = os.environ.get(self.secret_env)
            if not value:
                raise ConfigError(f"webhook channel {self.name!r}: ${self.secret_env} is not set")
            return value
        if self.secret_file:
            try:
                return self.secret_file.read_text().strip()
            except OSError as error:
                raise ConfigError(
                    f"webhook channel {self.name!r}: cannot read secret_file: {error}"
                ) from error
        raise ConfigError(f"webhook channel {self.name!r} needs secret, secret_env or secret_file")


class WebhookConfig(BaseModel):
    channels: list[WebhookChannelConfig] = []

    @field_validator("channels")
    @classmethod
    def _unique(cls, channels: list[WebhookChannelConfig]) -> list[WebhookChannelConfig]:
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise ValueError("webhook channel names must be unique")
        if PLAYGROUND_CHANNEL in names:
            raise ValueError(f"{PLAYGROUND_CHANNEL!r} is reserved for the local playground")
        return channels


RobotKind = Literal["wecom", "dingtalk", "feishu", "slack", "mattermost"]
ROBOT_URLS: dict[str, tuple[frozenset[str], str, str | None]] = {
    "wecom": (frozenset({"qyapi.weixin.qq.com"}), "/cgi-bin/webhook/send", "key"),
    "dingtalk": (frozenset({"oapi.dingtalk.com"}), "/robot/send", "access_token"),
    "feishu": (
        frozenset({"open.feishu.cn", "open.larksuite.com"}),
        "/open-apis/bot/v2/hook/",
        None,
    ),
    "slack": (frozenset({"hooks.slack.com"}), "/services/", None),
    "mattermost": (frozenset(), "/hooks/", None),
}
"""Per kind of group robot: the hosts its URLs live on (any for self-hosted Mattermost), the
path they start with, and the query parameter holding the robot's key (``None``: the path's
last segment is the token). docs/robots/ explains where each URL comes from."""
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def robot_url_problem(kind: str, url: str) -> str | None:
    """Why ``url`` is not a robot URL of ``kind``, in words that never repeat it (the URL is
    the robot's credential). Loopback hosts over http are allowed: a local bridge, or the
    tests' fake platforms."""
    hosts, path, parameter = ROBOT_URLS[kind]
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "not a URL"
    loopback = host in LOOPBACK
    if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
        return "must be an https:// URL"
    if hosts and host not in hosts and not loopback:
        return f"a {kind} robot's URL is on {' or '.join(sorted(hosts))}"
    if not parts.path.startswith(path):
        return f"a {kind} robot's URL path starts with {path}"
    if parameter is not None:
        if not dict(parse_qsl(parts.query)).get(parameter):
            return f"the URL has no {parameter}= parameter"
    elif not parts.path[len(path) :].strip("/"):
        return "the robot's token is missing from the URL's path"
    return None


def _secret_from(
    where: str, value: SecretStr | None, env: str | None, file: Path | None
) -> str | None:
    """A secret given in the file, by an environment variable, or in a file of its own."""
    if value is not None:
        return value.get_secret_value()
    if env:
        found = os.environ.get(env)
        if not found:
            raise ConfigError(f"{where}: ${env} is not set")
        return found
    if file:
        try:
            return file.read_text().strip()
        except OSError as error:
            raise ConfigError(f"{where}: cannot read {file}: {error}") from error
    return None


class RobotInboundConfig(BaseModel):
    """How the platform's messages to the bot are checked: DingTalk's receiving robot (its
    AppSecret signs each callback), Slack's signing secret, Mattermost's command token."""

    secret: SecretStr | None = None
    secret_env: str | None = None
    secret_file: Path | None = None
    max_skew: float = Field(0, ge=0, le=86400)
    """Seconds a signed request's timestamp may be off; 0: the platform's own figure
    (DingTalk one hour, Slack five minutes)."""


class RobotConfig(BaseModel):
    """One group robot (docs/robots/): a channel named ``<kind>:<name>`` posting into one
    group, bound at start to ``branch``."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    kind: RobotKind
    url: SecretStr
    """The robot's webhook URL: its key is in it, so it is kept like a secret."""
    secret: SecretStr | None = None
    """DingTalk's 加签 or Feishu's 签名校验 secret, when the robot has signing on."""
    secret_env: str | None = None
    secret_file: Path | None = None
    branch: str | None = None
    """The branch whose group this is: its broadcasts and reports reach the robot."""
    messages_per_minute: int | None = Field(None, ge=1)
    """Overrides the kind's own limit (only ever lower it; the tests raise it)."""
    messages_per_second: float | None = Field(None, gt=0)
    timeout: float = Field(10.0, gt=0)
    inbound: RobotInboundConfig | None = None
    """Set to hear the group: ``POST /robots/<kind>/<name>`` (DingTalk, Slack, Mattermost)."""

    @model_validator(mode="after")
    def _checked(self) -> RobotConfig:
        problem = robot_url_problem(self.kind, self.url.get_secret_value())
        if problem:
            raise ValueError(f"robot {self.name!r}: url: {problem}")
        if self.resolved_secret() is not None and self.kind not in ("dingtalk", "feishu"):
            raise ValueError(f"robot {self.name!r}: a {self.kind} robot has no signing secret")
        if self.inbound is not None:
            if self.kind not in ("dingtalk", "slack", "mattermost"):
                raise ValueError(f"robot {self.name!r}: a {self.kind} robot cannot hear the group")
            if not self.inbound_secret():
                raise ValueError(
                    f"robot {self.name!r}: inbound needs secret, secret_env or secret_file"
                )
        return self

    def resolved_secret(self) -> str | None:
        return _secret_from(f"robot {self.name!r}", self.secret, self.secret_env, self.secret_file)

    def inbound_secret(self) -> str | None:
        inbound = self.inbound
        if inbound is None:
            return None
        return _secret_from(
            f"robot {self.name!r} inbound", inbound.secret, inbound.secret_env, inbound.secret_file
        )


TELEGRAM_TOKEN_ENV = "BRANCHBOT_TELEGRAM_TOKEN"
_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class TelegramConfig(BaseModel):
    """The Telegram bot (docs/telegram.md). On when a token is given."""

    token: SecretStr | None = None
    """Better set by ``BRANCHBOT_TELEGRAM_TOKEN`` or ``token_file`` than in the file."""
    token_file: Path | None = None
    api_url: str = "https://api.telegram.org"
    """The Bot API base URL: Telegram's, a self-hosted Bot API server, or the tests' fake."""
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    """The public HTTPS URL Telegram POSTs updates to; its path is served by our HTTP server."""
    webhook_secret: SecretStr | None = None
    """Telegram's ``secret_token``; by default derived from the bot token."""
    poll_timeout: int = Field(30, ge=0, le=50)

    def resolved_token(self) -> str | None:
        if self.token is not None:
            return self.token.get_secret_value()
        if os.environ.get(TELEGRAM_TOKEN_ENV):
            return os.environ[TELEGRAM_TOKEN_ENV]
        if self.token_file:
            try:
                return self.token_file.read_text().strip()
            except OSError as error:
                raise ConfigError(f"telegram: cannot read token_file: {error}") from error
        return None

    @property
    def enabled(self) -> bool:
        return self.resolved_token() is not None

    @model_validator(mode="after")
    def _webhook(self) -> TelegramConfig:
        if self.mode == "webhook" and not self.webhook_url:
            raise ValueError("telegram.mode = webhook needs telegram.webhook_url")
        if self.mode == "polling" and self.webhook_url:
            raise ValueError("telegram.webhook_url is only used with telegram.mode = webhook")
        secret = self.webhook_secret
        if secret is not None and not _TELEGRAM_SECRET.match(secret.get_secret_value()):
            raise ValueError("telegram.webhook_secret: 1-256 characters of A-Z a-z 0-9 _ -")
        return self


class MatrixConfig(BaseModel):
    """docs/matrix.md: the bot account, how it logs in, who may invite it."""

    homeserver: str = Field(pattern=r"^https?://")
    user_id: str = Field(pattern=r"^@[^:\s]+:[^\s]+$")
    password: SecretStr | None = None
    password_file: Path | None = None
    access_token: SecretStr | None = None
    access_token_file: Path | None = None
    device_name: str = "branchbot"
    allowed_servers: list[str] = []
    """Homeservers whose users may invite the bot; empty means only the bot's own."""
    messages_per_second: float | None = Field(10.0, gt=0)
    """The bot's own send budget (give the account Synapse's ``override_ratelimit``)."""
    store_path: Path | None = None
    """A folder for the end-to-end encryption keys; encryption is off without it."""

    @staticmethod
    def _secret(value: SecretStr | None, file: Path | None, what: str) -> str | None:
        if value is not None:
            return value.get_secret_value()
        if file is not None:
            try:
                return file.read_text().strip()
            except OSError as error:
                raise ConfigError(f"matrix: cannot read {what}_file: {error}") from error
        return None

    def resolved_password(self) -> str | None:
        return self._secret(self.password, self.password_file, "password")

    def resolved_access_token(self) -> str | None:
        return self._secret(self.access_token, self.access_token_file, "access_token")

    @model_validator(mode="after")
    def _credentials(self) -> MatrixConfig:
        if not self.resolved_password() and not self.resolved_access_token():
            raise ValueError("matrix needs password (or password_file) or access_token")
        return self


class DeliveryConfig(BaseModel):
    """How long delivery keeps trying a message, and how long the outbox keeps finished ones."""

    max_attempts: int = Field(5, ge=1, le=100)
    """Tries of a message whose send raises an error that is not transient (a bug, a message
    the platform cannot take) before it is marked failed and its chat's queue moves on; also
    the tries of a message that fails transiently while the platform serves other chats."""
    transient_give_up_hours: float = Field(24.0, gt=0)
    """A message failing transiently for longer than this, with at least ``max_attempts`` tries
    and no other chat failing meanwhile, is marked failed: with no other traffic to show the
    platform is up, time is the only sign that the message, not the platform, is at fault."""
    retention_days: float = Field(30.0, gt=0)
    """Finished outbox rows (sent, unreachable, failed) older than this are deleted daily."""


class WebChatConfig(BaseModel):
    """``[web_chat]``: the direct chat in the browser at ``/chat`` (docs/webchat.md)."""

    enabled: bool | None = None
    """Serve ``/chat``. Unset: on when ``http.public_url`` is https. On a public
    ``http.host`` it needs an https ``public_url`` (``bot.app.web_chat_enabled`` refuses)."""
    history: int = Field(200, ge=10, le=5000)
    """Messages kept per web identity (both sides of the chat); older ones are pruned."""
    trusted_proxies: list[IPvAnyNetwork] = [
        IPv4Network("127.0.0.0/8"),
        IPv6Network("::1/128"),
    ]
    """The reverse proxies whose ``X-Forwarded-For`` names the client, for the per-address
    limit on code tries (behind a proxy every request comes from the proxy)."""


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BRANCHBOT_", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str = "sqlite:///branchbot.db"
    default_locale: str = "zh"
    timezone: str = "Asia/Shanghai"
    admins: list[str] = []
    playground: bool | None = None
    invite_days: int = Field(7, ge=1, le=365)
    days_off: list[date] = []
    """The organisation's own days off on top of the public calendar (ISO dates): no
    deadline counted in working days falls on them, and no monthly report goes out."""
    log_level: str = "INFO"
    event_budget_seconds: float = Field(0.25, gt=0, le=60)
    """How long one event may hold the engine's batch before it is logged as slow."""
    http: HttpConfig = Field(default_factory=HttpConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    matrix: MatrixConfig | None = None
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    robots: list[RobotConfig] = []
    """``[[robots]]``: group robots (WeCom, DingTalk, Feishu, Slack, Mattermost)."""
    web_chat: WebChatConfig = Field(default_factory=WebChatConfig)

    _sections: ClassVar[dict[type[BaseModel], str]] = {}
    """Each feature's config model and the name of its section (``with_sections``)."""

    def section(self, kind: type[S]) -> S:
        """The feature section whose model is ``kind`` (``config.section(ItsModel)``)."""
        value = getattr(self, type(self)._sections[kind])
        assert isinstance(value, kind)
        return value

    @classmethod
    def with_sections(cls, sections: Mapping[str, type[BaseModel]]) -> type[Config]:
        """This model with one optional table per feature, so a feature's keys are read from
        the file and the environment and checked like the core's, and a misspelt section is
        still an error."""
        key = tuple(sorted((name, id(model)) for name, model in sections.items()))
        made = _WITH_SECTIONS.get(key)
        if made is None:
            fields: dict[str, Any] = {
                name: (model, Field(default_factory=model)) for name, model in sections.items()
            }
            made = create_model("Config", __base__=cls, **fields)
            made._sections = {model: name for name, model in sections.items()}
            _WITH_SECTIONS[key] = made
        return made

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        locale = normalize_locale(value)
        if locale is None:
            raise ValueError("default_locale must be zh or en")
        return locale

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("admins")
    @classmethod
    def _admins(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[a-z]+(:[a-z0-9_-]+)?:.+", value):
                raise ValueError(f"admin {value!r} is not platform-qualified, like telegram:123")
        return values

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except Exception as error:
            # Not the value itself: a database URL carries the database's password.
            raise ValueError("not a database URL (sqlite:///… or postgresql://…)") from error
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("database_url must be sqlite:///… or postgresql://…")
        return value

    @field_validator("robots")
    @classmethod
    def _robot_names(cls, robots: list[RobotConfig]) -> list[RobotConfig]:
        names = [(r.kind, r.name) for r in robots]
        if len(set(names)) != len(names):
            raise ValueError("robot names must be unique within their kind")
        return robots

    @model_validator(mode="after")
    def _secrets(self) -> Config:
        for channel in self.webhook.channels:
            channel.resolved_secret()
        self.telegram.resolved_token()
        return self

    @model_validator(mode="after")
    def _playground_is_local(self) -> Config:
        if self.playground and not self.local_only:
            raise ValueError(
                "playground = true needs http.host 127.0.0.1, localhost or ::1: "
                "the playground page carries a secret that makes you an admin"
            )
        return self

    @property
    def local_only(self) -> bool:
        return self.http.host in ("127.0.0.1", "localhost", "::1")

    @property
    def playground_enabled(self) -> bool:
        """On by default when no platform is configured and the server listens on loopback."""
        if self.playground is not None:
            return self.playground
        return (
            not self.webhook.channels
            and not self.robots
            and not self.telegram.enabled
            and self.matrix is None
            and self.local_only
        )

    @property
    def all_admins(self) -> list[str]:
        extra = [PLAYGROUND_ADMIN] if self.playground_enabled else []
        return [*self.admins, *extra]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _CURRENT_FILE.get("path")
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


_CURRENT_FILE: dict[str, Path | None] = {}
_WITH_SECTIONS: dict[tuple[tuple[str, int], ...], type[Config]] = {}


def _problems(error: ValidationError) -> str:
    """One line per problem, without the value that caused it: pydantic's own text quotes
    the input (``input_value='postgresql://bot:password@…'``), and a wrong value is as often
    a credential as anything else."""
    lines = [f"{error.error_count()} problem(s) in the configuration"]
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "config"
        lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def load_config(
    path: str | Path | None = None,
    *,
    sections: Mapping[str, type[BaseModel]] | None = None,
    **overrides: Any,
) -> Config:
    """Read the config file (if any) and the environment, with a table for each of the
    ``sections`` (the features' config models by name; ``bot.app.configure`` passes them all);
    relative SQLite paths are resolved against the config file's folder, so the database lives
    next to its config."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = os.environ[CONFIG_ENV]
    file = Path(path).resolve() if path else None
    if file is not None and not file.is_file():
        raise ConfigError(f"config file not found: {file}")
    _CURRENT_FILE["path"] = file
    try:
        config = Config.with_sections(sections or {})(**overrides)
    except ValidationError as error:
        raise ConfigError(_problems(error)) from error
    except ValueError as error:
        raise ConfigError(str(error)) from error
    finally:
        _CURRENT_FILE.pop("path", None)
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        if not database.is_absolute():
            base = file.parent if file else Path.cwd()
            config.database_url = url.set(database=str(base / database)).render_as_string(False)
    return config
