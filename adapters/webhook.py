"""Webhook chat groups, protocol v1 (docs/webhook.md is the public contract).

In: ``POST /hooks/<channel>`` with a JSON event, signed ``sha256=HMAC(secret, "<ts>.<body>")``
in ``X-Branchbot-Signature`` and ``X-Branchbot-Timestamp``. The answer is 200 only once the
event is durably taken in. Out: the bot POSTs each message, signed the same way, to the
channel's ``callback_url``; anything but a 2xx is retried from the outbox.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.events import (
    MAX_ID,
    MAX_LABEL,
    Attachment,
    Chat,
    Incoming,
    InvalidText,
    Sender,
    clean_text,
    id_problem,
    parse_command,
)
from bot.messages import (
    Address,
    Capabilities,
    EngineStopped,
    EventHandler,
    Outgoing,
    Refusal,
    RetryLater,
    SentRef,
    TransientError,
    Unreachable,
)

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_SKEW = 300
SIGNATURE_HEADER = "X-Branchbot-Signature"
TIMESTAMP_HEADER = "X-Branchbot-Timestamp"
REFUSED = frozenset({400, 410, 413, 415, 422})
"""Answers about this one message (or a chat that is gone: 410) that no retry can change: the
row ends as unreachable with the status. 401/403/404 mean a misconfigured receiver: retried, so
nothing is lost once it is fixed."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
    }


class BadEvent(ValueError):
    """A request that is not a valid protocol v1 event; the message is the reason given back."""


def _value(data: dict[str, Any], key: str, where: str, required: bool, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadEvent(f"missing field: {where}{key}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadEvent(f"field {where}{key} must be a string")
    value = str(value)
    if required and not value.strip():
        raise BadEvent(f"field {where}{key} must not be empty")
    if len(value) > limit:
        raise BadEvent(f"field {where}{key} is longer than {limit} characters")
    return value


def _text(
    data: dict[str, Any], key: str, where: str, *, required: bool = False, limit: int = MAX_LABEL
) -> str | None:
    """Something shown to people (text, a name): lone surrogates and NUL are repaired, so the
    person is still answered (see ``bot.events.clean_text``)."""
    value = _value(data, key, where, required, limit)
    return None if value is None else clean_text(value)


def _id(
    data: dict[str, Any], key: str, where: str, *, required: bool = True, limit: int = MAX_ID
) -> str | None:
    """Something matched exactly (an id, a button payload): refused when no store could keep
    it, since a repaired id would name something else."""
    value = _value(data, key, where, required, limit)
    if value is not None and (problem := id_problem(value, limit)) is not None:
        raise BadEvent(f"field {where}{key} {problem}")
    return value


def _file(value: Any) -> Attachment | None:
    """``{"name", "mime", "data": base64}``: a file the person sent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadEvent("field file must be an object")
    name = str(_text(value, "name", "file.", required=True))
    mime = _text(value, "mime", "file.") or "application/octet-stream"
    encoded = _value(value, "data", "file.", True, MAX_BODY)
    try:
        data = base64.b64decode(str(encoded), validate=True)
    except (binascii.Error, ValueError):
        raise BadEvent("field file.data must be base64") from None
    return Attachment(name, mime, data)


def parse_event(platform: str, body: bytes) -> Incoming:
    """Turn a request body into an ``Incoming``, or raise ``BadEvent`` with the reason.

    Any body, however hostile, ends here as an event or a reason: nesting deeper than the
    parser's recursion limit and integers longer than Python's int-string limit are refused
    like any other body that is not JSON."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise BadEvent("body is not JSON: nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadEvent(f"body is not JSON: {error}") from None
    except ValueError:  # Python's int-string limit (4300 digits)
        raise BadEvent("body is not JSON: a number has too many digits") from None
    if not isinstance(data, dict):
        raise BadEvent("body must be a JSON object")
    chat = data.get("chat")
    sender = data.get("sender")
    if not isinstance(chat, dict):
        raise BadEvent("missing field: chat" if chat is None else "field chat must be an object")
    if not isinstance(sender, dict):
        raise BadEvent(
            "missing field: sender" if sender is None else "field sender must be an object"
        )
    kind = chat.get("type")
    if not isinstance(kind, str) or kind not in ("group", "direct"):
        raise BadEvent('field chat.type must be "group" or "direct"')
    text = _text(data, "text", "", limit=MAX_BODY) or ""
    choice = _id(data, "choice", "", required=False, limit=64)
    attachment = _file(data.get("file"))
    if not text.strip() and not choice and attachment is None:
        raise BadEvent("an event needs text, choice or file")
    command = None if choice else parse_command(text)
    try:
        return Incoming(
            platform=platform,
            event_id=str(_id(data, "id", "")),
            chat=Chat(
                str(_id(chat, "id", "chat.")), kind == "direct", _text(chat, "title", "chat.") or ""
            ),
            sender=Sender(
                str(_id(sender, "id", "sender.")), _text(sender, "name", "sender.") or ""
            ),
            text=text,
            command=command[0] if command else None,
            args=command[1] if command else (),
            choice=choice,
            reply_to=_id(data, "message_id", "", required=False),
            replied_to=_id(data, "in_reply_to", "", required=False),
            attachment=attachment,
        )
    except InvalidText as error:  # the core's own last check; the fields above come first
        raise BadEvent(f"field {error}") from None


CREDENTIALS = re.compile(r"://[^/\s'\"]*@")
"""``user:password@`` in a URL an error message repeats."""


def render(address: Address, message: Outgoing, message_id: str) -> dict[str, Any]:
    """The JSON the bot POSTs for one message (empty fields left out)."""
    chat_id = address.chat_id or f"direct:{address.user_id}"
    body: dict[str, Any] = {
        "id": message_id,
        "chat": {"id": chat_id, "type": "direct" if address.direct else "group"},
        "text": message.text.plain(),
        "markdown": message.text.markdown(),
    }
    if address.direct and address.user_id:
        body["user"] = {"id": address.user_id}
    if message.choices:
        body["choices"] = [
            [
                {"label": c.label, "url": c.url}
                if c.url
                else {"label": c.label, "payload": c.payload}
                for c in row
            ]
            for row in message.choices
        ]
    if message.reply_to:
        body["reply_to"] = message.reply_to
    if message.image is not None:
        body["image"] = {
            "mime": message.image.mime,
            "data": base64.b64encode(message.image.data).decode(),
        }
    if message.document is not None:
        body["document"] = {
            "name": message.document.name,
            "mime": message.document.mime,
            "data": base64.b64encode(message.document.data).decode(),
        }
    return body


def encode(body: dict[str, Any]) -> bytes:
    """UTF-8 JSON that cannot fail: text is made valid where it comes in, but a row stored
    before that (or built by a bug) must not raise on every retry; its lone surrogates go out
    as ``?`` instead."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "replace")


@dataclass
class WebhookChannel:
    """One configured channel: an adapter named ``webhook:<channel>``."""

    channel: str
    secret: str
    callback_url: str
    messages_per_minute: int | None = None
    timeout: float = 10.0
    chat_interval: float = 0.0

    def __post_init__(self) -> None:
        self.name = f"webhook:{self.channel}"
        rate = self.messages_per_minute / 60 if self.messages_per_minute else None
        self.capabilities = Capabilities(
            buttons=True,
            images=True,
            max_text_length=MAX_BODY // 2,
            messages_per_second=rate,
            chat_interval=self.chat_interval,
        )
        self.handle: EventHandler | None = None
        self._client: aiohttp.ClientSession | None = None

    async def start(self, handle: EventHandler) -> None:
        self.handle = handle
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    def allows(self, request: web.Request) -> bool:
        """Whether this request may reach the channel at all (before the signature check)."""
        return True

    async def stop(self) -> None:
        self.handle = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        if self._client is None:
            raise TransientError("channel is not started")
        body = encode(render(address, message, message_id))
        try:
            async with self._client.post(
                self.callback_url, data=body, headers=signed_headers(self.secret, body)
            ) as response:
                if response.status == 429:
                    raise RetryLater(
                        _retry_after(response.headers.get("Retry-After")), whole_account=True
                    )
                if response.status in REFUSED:
                    raise Unreachable(
                        f"callback refused the message: HTTP {response.status}",
                        Refusal.GONE if response.status == 410 else Refusal.REFUSED,
                    )
                if not 200 <= response.status < 300:
                    raise TransientError(f"callback answered {response.status}")
        except (aiohttp.ClientError, TimeoutError) as error:
            # The text goes into the outbox row and the log: never the URL's password.
            detail = CREDENTIALS.sub("://***@", repr(error))
            raise TransientError(f"callback failed: {detail}") from error
        return SentRef(message_id)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0


def _json(status: int, **body: Any) -> web.Response:
    return web.json_response(body, status=status)


class WebhookEndpoint:
    """``POST /hooks/<name>`` for every channel (the playground's included)."""

    def __init__(self) -> None:
        self.channels: dict[str, WebhookChannel] = {}

    def add(self, channel: WebhookChannel) -> None:
        self.channels[channel.channel] = channel

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/hooks/{name}", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        channel = self.channels.get(request.match_info["name"])
        if channel is None:
            return _json(404, ok=False, error="unknown channel")
        if not channel.allows(request):
            return _json(403, ok=False, error="not allowed from here")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _json(413, ok=False, error=f"body over {MAX_BODY} bytes")
        body = b""
        while len(body) <= MAX_BODY:
            chunk = await request.content.read(MAX_BODY + 1 - len(body))
            if not chunk:
                break
            body += chunk
        if len(body) > MAX_BODY:
            return _json(413, ok=False, error=f"body over {MAX_BODY} bytes")
        problem = _check_signature(channel.secret, request.headers, body)
        if problem:
            log.info("webhook %s: refused request: %s", channel.channel, problem)
            return _json(401, ok=False, error=problem)
        try:
            event = parse_event(channel.name, body)
        except BadEvent as error:
            log.info("webhook %s: dropped malformed event: %s", channel.channel, error)
            return _json(400, ok=False, error=str(error))
        if channel.handle is None:
            return _json(503, ok=False, error="not ready")
        try:
            accepted = await channel.handle(event)
        except EngineStopped:
            response = _json(503, ok=False, error="stopping; send it again")
            response.headers["Retry-After"] = "5"
            return response
        if accepted.duplicate:
            return _json(200, ok=True, duplicate=True)
        return _json(200, ok=True)


def _check_signature(secret: str, headers: Any, body: bytes) -> str | None:
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        return "missing signature"
    if not timestamp.isdecimal() or len(timestamp) > 12:
        return "bad timestamp"
    skew = abs(time.time() - int(timestamp))
    if skew > MAX_SKEW:
        return "timestamp too far off"
    expected = sign(secret, timestamp, body).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape")):
        return "bad signature"
    return None
