"""Hearing a robot's group: ``POST /robots/<kind>/<name>`` for the platforms that can.

- DingTalk's receiving robot (企业内部机器人, HTTP mode) POSTs each @-mention as JSON with
  ``timestamp`` (ms) and ``sign`` headers, ``sign`` = Base64(HMAC-SHA256(AppSecret,
  "<timestamp>\\n<AppSecret>")), refused here more than an hour off as DingTalk documents; the
  callback names a ``sessionWebhook`` to answer on until ``sessionWebhookExpiredTime``. The SDK's
  stream mode (``dingtalk-stream``) needs no public URL, but it is a long-lived websocket client
  with its own reconnects and acknowledgements, outside the bot's HTTP server and its answers
  table; the HTTP callback fits the outbox's at-least-once contract as protocol v1 does.
- Slack slash commands: a form body signed ``v0=`` + hex HMAC-SHA256(signing secret,
  ``"v0:<X-Slack-Request-Timestamp>:<body>"``) in ``X-Slack-Signature``, within five minutes;
  answers go to the command's ``response_url`` (30 minutes, five uses), seen only by the person.
- Mattermost slash commands and outgoing webhooks: a form or JSON body whose ``token`` is the
  configured one (compared in constant time); outgoing webhooks carry a ``timestamp`` (ms).

Each checks its signature and timestamp, refuses a replay (the same signed request again:
DingTalk's ``sign`` covers only the timestamp, so a replayed one could carry any body), limits
the body, drops a malformed one with a 400 (logged), and answers with protocol v1's table
(docs/webhook.md). A slash command is an umbrella (``/branchbot quiz`` runs ``/quiz``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from adapters.robots import dingtalk
from adapters.robots.base import GROUP, RobotChannel
from bot.events import Chat, Incoming, InvalidText, Sender, clean_text, id_problem, parse_command
from bot.messages import Address, EngineStopped

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
REMEMBERED = 10_000
"""Signed requests (or event ids) remembered to refuse replays; the oldest go first."""
DINGTALK_SKEW = 3600.0
SLACK_SKEW = 300.0
RESPONSE_URL_LIFE = 1800.0
RESPONSE_URL_USES = 5


class BadEvent(ValueError):
    """A body that is not a valid callback of its platform; the message is the reason."""


@dataclass(frozen=True)
class Heard:
    """One verified callback: the event, and where to answer it while that lasts."""

    event: Incoming
    reply_url: str | None = None
    until: float = 0.0
    uses: int = 0


class Listener(Protocol):
    quiet: bool
    """Success is answered with an empty body: Slack shows a slash command's JSON answer
    to the person as a message."""

    def check(self, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
        """Why the request is refused (signature, timestamp), or ``None``."""
        ...

    def replay_key(self, headers: Mapping[str, str], body: bytes) -> str:
        """What makes this request unique, remembered for the signature's window."""
        ...

    def parse(self, platform: str, headers: Mapping[str, str], body: bytes) -> Heard: ...


@dataclass
class Replays:
    """Keys seen within their window (bounded: the oldest are forgotten first)."""

    window: float
    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def first(self, key: str, now: float) -> bool:
        while self.seen and next(iter(self.seen.values())) < now:
            self.seen.popitem(last=False)
        if key in self.seen:
            return False
        self.seen[key] = now + self.window
        while len(self.seen) > REMEMBERED:
            self.seen.popitem(last=False)
        return True


@dataclass
class ReplyUrls:
    """The answer URLs callbacks named, per chat, while they are valid and have uses left."""

    allowed: str
    """``scheme://host`` a reply URL must have: a callback must not make the bot POST
    elsewhere (DingTalk's session webhooks live where its robot URLs do)."""
    urls: OrderedDict[str, tuple[str, float, int]] = field(default_factory=OrderedDict)
    """Per chat id: the URL, until when (Unix time) and how many uses are left (-1: any)."""

    def remember(self, heard: Heard) -> None:
        url = heard.reply_url
        if url is None or _origin(url) != self.allowed:
            return
        self.urls[heard.event.chat.id] = (url, heard.until, heard.uses)
        self.urls.move_to_end(heard.event.chat.id)
        while len(self.urls) > REMEMBERED:
            self.urls.popitem(last=False)

    def take(self, address: Address) -> str | None:
        found = self.urls.get(address.chat_id)
        if found is None:
            return None
        url, until, uses = found
        if until < time.time() or uses == 0:
            del self.urls[address.chat_id]
            return None
        self.urls[address.chat_id] = (url, until, uses - 1 if uses > 0 else uses)
        return url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except RecursionError:
        raise BadEvent("body is not JSON: nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadEvent(f"body is not JSON: {error}") from None
    except ValueError:
        raise BadEvent("body is not JSON: a number has too many digits") from None
    if not isinstance(data, dict):
        raise BadEvent("body must be a JSON object")
    return data


def _form(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        raise BadEvent("body is not a form") from None


def _field(data: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadEvent(f"missing field: {key}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadEvent(f"field {key} must be a string")
    return str(value)


def _id(data: Mapping[str, Any], key: str) -> str:
    value = _field(data, key)
    problem = id_problem(value)
    if problem is not None:
        raise BadEvent(f"field {key} {problem}")
    return value


def _event(platform: str, event_id: str, chat: Chat, sender: Sender, text: str) -> Incoming:
    text = clean_text(text)
    if not text.strip():
        raise BadEvent("an event needs text")
    command = parse_command(text)
    return Incoming(
        platform=platform,
        event_id=event_id,
        chat=chat,
        sender=sender,
        text=text,
        command=command[0] if command else None,
        args=command[1] if command else (),
    )


def umbrella(text: str) -> str:
    """The text of an umbrella slash command as one of ours: ``quiz 3`` is ``/quiz 3``,
    nothing after the command is ``/help``, and a number stays a number (the answer to a
    question asked with numbered options)."""
    text = text.strip()
    if text.startswith("/") or text.isdecimal():
        return text
    return f"/{text}" if text else "/help"


@dataclass
class DingTalkListener:
    """DingTalk's receiving robot, HTTP callback mode."""

    app_secret: str
    max_skew: float = DINGTALK_SKEW
    quiet: bool = False

    def check(self, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
        timestamp, given = headers.get("timestamp", ""), headers.get("sign", "")
        if not timestamp or not given:
            return "missing signature"
        if not timestamp.isdecimal() or len(timestamp) > 15:
            return "bad timestamp"
        if abs(now * 1000 - int(timestamp)) > self.max_skew * 1000:
            return "timestamp too far off"
        expected = dingtalk.signature(self.app_secret, timestamp).encode()
        if not hmac.compare_digest(expected, given.encode("utf-8", "surrogateescape")):
            return "bad signature"
        return None

    def replay_key(self, headers: Mapping[str, str], body: bytes) -> str:
        return f"{headers.get('timestamp', '')}:{headers.get('sign', '')}"

    def parse(self, platform: str, headers: Mapping[str, str], body: bytes) -> Heard:
        data = _json_object(body)
        text = data.get("text")
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str):
            raise BadEvent("field text.content must be a string (only text messages are heard)")
        group = _field(data, "conversationType") == "2"
        sender = _id(data, "senderStaffId") if data.get("senderStaffId") else _id(data, "senderId")
        chat = Chat(
            GROUP if group else _id(data, "conversationId"),
            not group,
            clean_text(_field(data, "conversationTitle", required=False))[:255],
        )
        try:
            event = _event(
                platform,
                _id(data, "msgId"),
                chat,
                Sender(sender, clean_text(_field(data, "senderNick", required=False))[:255]),
                content,
            )
        except InvalidText as error:
            raise BadEvent(f"field {error}") from None
        expires = _field(data, "sessionWebhookExpiredTime", required=False)
        until = int(expires) / 1000 if expires.isdecimal() else 0.0
        url = _field(data, "sessionWebhook", required=False) or None
        return Heard(event, url, until, -1)


@dataclass
class SlackListener:
    """Slack slash commands, signed with the app's signing secret."""

    signing_secret: str
    max_skew: float = SLACK_SKEW
    quiet: bool = True

    def check(self, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        given = headers.get("X-Slack-Signature", "")
        if not timestamp or not given:
            return "missing signature"
        if not timestamp.isdecimal() or len(timestamp) > 12:
            return "bad timestamp"
        if abs(now - int(timestamp)) > self.max_skew:
            return "timestamp too far off"
        expected = slack_signature(self.signing_secret, timestamp, body).encode()
        if not hmac.compare_digest(expected, given.encode("utf-8", "surrogateescape")):
            return "bad signature"
        return None

    def replay_key(self, headers: Mapping[str, str], body: bytes) -> str:
        return headers.get("X-Slack-Signature", "")

    def parse(self, platform: str, headers: Mapping[str, str], body: bytes) -> Heard:
        data = _form(body)
        user = _id(data, "user_id")
        try:
            event = _event(
                platform,
                _id(data, "trigger_id"),
                Chat(user, True),
                Sender(user, clean_text(_field(data, "user_name", required=False))[:255]),
                umbrella(_field(data, "text", required=False)),
            )
        except InvalidText as error:
            raise BadEvent(f"field {error}") from None
        url = _field(data, "response_url", required=False) or None
        return Heard(event, url, time.time() + RESPONSE_URL_LIFE, RESPONSE_URL_USES)


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass
class MattermostListener:
    """Mattermost slash commands (answered on their ``response_url``) and outgoing webhooks
    (answered in the group through the incoming webhook), checked by their token."""

    token: str
    max_skew: float = SLACK_SKEW
    quiet: bool = False

    def _data(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        if headers.get("Content-Type", "").startswith("application/json"):
            return _json_object(body)
        return dict(_form(body))

    def check(self, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
        try:
            data = self._data(headers, body)
        except BadEvent:
            return None  # the parse refuses it with its reason
        given = data.get("token")
        if not isinstance(given, str) or not given:
            return "missing token"
        if not hmac.compare_digest(self.token.encode(), given.encode("utf-8", "surrogateescape")):
            return "bad token"
        stamp = data.get("timestamp")
        if stamp is not None:
            if not str(stamp).isdecimal() or len(str(stamp)) > 15:
                return "bad timestamp"
            if abs(now * 1000 - int(stamp)) > self.max_skew * 1000:
                return "timestamp too far off"
        return None

    def replay_key(self, headers: Mapping[str, str], body: bytes) -> str:
        try:
            data = self._data(headers, body)
        except BadEvent:
            return ""
        return str(data.get("trigger_id") or data.get("post_id") or "")

    def parse(self, platform: str, headers: Mapping[str, str], body: bytes) -> Heard:
        data = self._data(headers, body)
        user = _id(data, "user_id")
        name = clean_text(_field(data, "user_name", required=False))[:255]
        try:
            if data.get("command"):
                event = _event(
                    platform,
                    _id(data, "trigger_id"),
                    Chat(user, True),
                    Sender(user, name),
                    umbrella(_field(data, "text", required=False)),
                )
                url = _field(data, "response_url", required=False) or None
                return Heard(event, url, time.time() + RESPONSE_URL_LIFE, RESPONSE_URL_USES)
            text = _field(data, "text")
            trigger = _field(data, "trigger_word", required=False)
            if trigger and text.startswith(trigger):
                text = umbrella(text[len(trigger) :])
            event = _event(
                platform, _id(data, "post_id"), Chat(GROUP, False), Sender(user, name), text
            )
        except InvalidText as error:
            raise BadEvent(f"field {error}") from None
        return Heard(event)


@dataclass
class Hearing:
    """One robot's inbound path: its listener, its adapter, what it has seen."""

    channel: RobotChannel
    listener: Listener
    replays: Replays
    replies: ReplyUrls


def _json(status: int, **body: Any) -> web.Response:
    return web.json_response(body, status=status)


class RobotEndpoint:
    """``POST /robots/<kind>/<name>`` for every robot configured to hear its group."""

    def __init__(self) -> None:
        self.robots: dict[tuple[str, str], Hearing] = {}

    def add(self, channel: RobotChannel, listener: Listener, window: float) -> None:
        replies = ReplyUrls(_origin(channel.url))
        channel.reply_urls = replies.take
        self.robots[(channel.preset.kind, channel.robot)] = Hearing(
            channel, listener, Replays(window), replies
        )

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/robots/{kind}/{name}", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        hearing = self.robots.get((request.match_info["kind"], request.match_info["name"]))
        if hearing is None:
            return _json(404, ok=False, error="unknown robot")
        name = hearing.channel.name
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _json(413, ok=False, error=f"body over {MAX_BODY} bytes")
        body = await request.content.read(MAX_BODY + 1)
        while len(body) <= MAX_BODY and (chunk := await request.content.read(MAX_BODY + 1)):
            body += chunk
        if len(body) > MAX_BODY:
            return _json(413, ok=False, error=f"body over {MAX_BODY} bytes")
        now = time.time()
        problem = hearing.listener.check(request.headers, body, now)
        if problem is None and not hearing.replays.first(
            hearing.listener.replay_key(request.headers, body), now
        ):
            problem = "replayed request"
        if problem:
            log.info("robot %s: refused request: %s", name, problem)
            return _json(401, ok=False, error=problem)
        try:
            heard = hearing.listener.parse(name, request.headers, body)
        except BadEvent as error:
            log.info("robot %s: dropped malformed callback: %s", name, error)
            return _json(400, ok=False, error=str(error))
        handle = hearing.channel.handle
        if handle is None:
            return _json(503, ok=False, error="not ready")
        hearing.replies.remember(heard)
        try:
            accepted = await handle(heard.event)
        except EngineStopped:
            response = _json(503, ok=False, error="stopping; send it again")
            response.headers["Retry-After"] = "5"
            return response
        if hearing.listener.quiet:
            return web.Response(status=200)
        if accepted.duplicate:
            return _json(200, ok=True, duplicate=True)
        return _json(200, ok=True)
