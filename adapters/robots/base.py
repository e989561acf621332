"""Group robots: a chat platform's webhook URL that posts into one group.

WeCom, DingTalk, Feishu/Lark, Slack and Mattermost each give a group a URL (with a key or
token in it, and for DingTalk and Feishu an optional signing secret) that posts into that
group. One ``RobotChannel`` per configured robot is an adapter named ``<kind>:<name>`` whose
single chat is the group (``GROUP``). What differs between the platforms is a ``Preset``: how a
message is written in the platform's format, how a request is signed, the platform's limits,
and what its answers mean for the delivery contract.

Plain aiohttp rather than the platforms' SDKs: each robot is one signed POST of a small JSON
body, the SDKs are synchronous or cover the whole platform API, and their retry and rate
handling would fight the outbox's own (which owns retries, pacing and folding here).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from bot.markup import Bold, Code, Link, Markup, Node, Text
from bot.messages import (
    Address,
    Capabilities,
    Choice,
    EventHandler,
    Outgoing,
    Refusal,
    RetryLater,
    SentRef,
    TransientError,
    Unreachable,
)

log = logging.getLogger(__name__)

GROUP = "group"
"""The chat id of a robot's group: a robot posts into exactly one."""
MINUTE = 60.0
RESUMABLE = 1024
"""Messages cut into parts whose first parts went out before a failure: a retry resumes after
them instead of posting them twice. Bounded: an entry only lives until the retry."""

Body = dict[str, Any]
Render = Callable[[Outgoing], list[Body]]
"""A message as the request bodies that post it (several when it is cut to fit)."""
Sign = Callable[[str, Body, str | None, float], tuple[str, Body]]
"""``(url, body, secret, now)`` to the URL and body to POST, signed where the platform signs."""
Judge = Callable[[int, Mapping[str, str], bytes], None]
"""Reads the platform's answer (status, headers, body): returns for a message taken, raises
``RetryLater``, ``Unreachable`` or ``TransientError`` otherwise."""


@dataclass(frozen=True)
class Preset:
    """One kind of robot, with the platform's own rules (each kind's module cites its docs)."""

    kind: str
    max_bytes: int
    """The longest text field the platform takes, in UTF-8 bytes; longer texts are cut."""
    max_text_length: int
    """Characters a merged (folded) message may reach: ``max_bytes`` for Chinese text (three
    bytes a character) where the platform counts bytes, so a digest is one post."""
    messages_per_minute: int | None
    messages_per_second: float | None
    render: Render
    sign: Sign
    judge: Judge
    size: Callable[[str], int] = field(default=lambda text: utf8_len(text))
    """How the platform measures ``max_bytes``: UTF-8 bytes, or characters (``len``) where it
    counts characters (Slack, Mattermost)."""
    link_buttons: bool = False
    """The robot can show buttons that open a URL (DingTalk's ``actionCard``, Feishu's
    ``interactive`` card): ``render`` then gets the message's link choices as buttons."""


def unsigned(url: str, body: Body, secret: str | None, now: float) -> tuple[str, Body]:
    """The kinds whose robots are authenticated by their URL alone."""
    return url, body


def credentials(url: str) -> list[str]:
    """The parts of a robot URL that must never reach a log or an outbox row: its query
    values and its path's last segment (the hook token)."""
    parts = urlsplit(url)
    found = [value for _name, value in parse_qsl(parts.query) if len(value) >= 4]
    last = parts.path.rstrip("/").rpartition("/")[2]
    if len(last) >= 4:
        found.append(last)
    return sorted(found, key=len, reverse=True)


def masked(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def cut(text: str, limit: int, size: Callable[[str], int] = utf8_len) -> list[str]:
    """``text`` in pieces of at most ``limit`` (UTF-8 bytes, or what ``size`` counts), cut at
    line breaks where a line fits and at character boundaries where one does not (never
    inside a character)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while size(line) > limit:
            head = _head(line, limit, size)
            pieces.append(head)
            line = line[len(head) :]
        current = line
    if current.strip() or not pieces:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()] or [""]


def _head(line: str, limit: int, size: Callable[[str], int]) -> str:
    """The longest start of ``line`` within ``limit`` (at least one character)."""
    low, high = 1, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if size(line[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return line[:low]


@dataclass(frozen=True)
class Dialect:
    """A platform's lightweight markdown: how bold, italic, code and links are written, and
    how text is escaped (many robot renderers know no backslash escapes)."""

    bold: str = "**{}**"
    italic: str = "*{}*"
    code: str = "`{}`"
    link: str = "[{label}]({url})"
    escape: Callable[[str], str] = field(default=lambda text: text)

    def render(self, text: Markup) -> str:
        return "".join(self._node(node) for node in text.safe().nodes)

    def _node(self, node: Node) -> str:
        if isinstance(node, Text):
            return self.escape(node.value)
        if isinstance(node, Code):
            return self.code.format(self.escape(node.value)) if node.value else ""
        if isinstance(node, Link):
            return self.link.format(label=self.escape(node.label), url=node.url)
        inner = "".join(self._node(child) for child in node.children)
        if not inner.strip():
            return inner
        return (self.bold if isinstance(node, Bold) else self.italic).format(inner)


def title_of(message: Outgoing, limit: int = 64) -> str:
    """The message's first line, for the platforms that want a title (DingTalk's markdown
    title is what the notification shows)."""
    first = message.text.plain().strip().split("\n", 1)[0].strip()
    return first[:limit] or "branchbot"


def answer_json(body: bytes) -> dict[str, Any]:
    """An answer body as JSON, or an empty object for anything else (a proxy's HTML page)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def retry_after(headers: Mapping[str, str], default: float) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return default


def http_status(status: int, detail: str) -> None:
    """What an HTTP status means when the body said nothing more specific: 429 waits, other
    4xx that no retry changes end the row, the rest (5xx, and 401/403/404 of a misconfigured
    robot, as in protocol v1) is retried so nothing is lost once it is fixed."""
    if 200 <= status < 300:
        return
    if status == 429:
        raise RetryLater(MINUTE)
    if status in (400, 413, 415, 422):
        raise Unreachable(f"HTTP {status}: {detail}", Refusal.REFUSED)
    if status == 410:
        raise Unreachable(f"HTTP {status}: {detail}", Refusal.GONE)
    raise TransientError(f"HTTP {status}: {detail}")


@dataclass(frozen=True, slots=True)
class ErrorCodes:
    """What the codes of an ``{"errcode": …, "errmsg": …}`` answer (WeCom's and DingTalk's
    robots) mean to delivery: wait so many seconds, the chat is gone, this message is refused,
    the robot is misconfigured (retried, so nothing is lost once it is fixed)."""

    waits: Mapping[int, float]
    refused: frozenset[int]
    misconfigured: frozenset[int]
    gone: frozenset[int] = frozenset()

    def judge(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        answer = answer_json(body)
        code = answer.get("errcode")
        detail = f"errcode {code}: {str(answer.get('errmsg', ''))[:200]}"
        if code == 0:
            return
        if isinstance(code, int) and code in self.waits:
            raise RetryLater(self.waits[code])
        if code in self.gone:
            raise Unreachable(detail, Refusal.GONE)
        if code in self.refused:
            raise Unreachable(detail, Refusal.REFUSED)
        if code in self.misconfigured:
            raise TransientError(f"robot misconfigured: {detail}")
        http_status(status, detail)
        raise TransientError(detail)


@dataclass
class Pace:
    """The robot's own count of its posts, the last guard of the platform's limits: delivery
    paces by the same figures, so this only waits when a message was cut into parts or a
    limit is shared across a restart's first seconds. Times are taken when the platform has
    answered, never before it counted the post."""

    per_minute: int | None
    per_second: float | None
    sent: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        ready = now
        if self.per_minute and len(self.sent) >= self.per_minute:
            ready = max(ready, self.sent[-self.per_minute] + MINUTE)
        if self.per_second and self.sent:
            ready = max(ready, self.sent[-1] + 1.0 / self.per_second)
        return ready - now

    def record(self, now: float) -> None:
        self.sent.append(now)
        keep = max(self.per_minute or 0, 1)
        while len(self.sent) > keep:
            self.sent.popleft()


@dataclass
class RobotChannel:
    """One configured robot: an adapter named ``<kind>:<name>`` whose one chat is its group.

    It cannot open a direct chat or show answer buttons (``Capabilities``), so delivery says
    where to answer instead; rate limits are declared so that delivery paces and folds."""

    preset: Preset
    robot: str
    url: str
    secret: str | None = None
    timeout: float = 10.0
    messages_per_minute: int | None = None
    """The preset's figure unless the config overrides it."""
    messages_per_second: float | None = None
    reply_urls: Callable[[Address], str | None] = field(default=lambda address: None)
    """Where a reply to ``address`` goes instead of the robot's URL (DingTalk's session
    webhook, Slack's ``response_url``), while the platform's inbound path knows one."""

    def __post_init__(self) -> None:
        self.name = f"{self.preset.kind}:{self.robot}"
        per_minute = self.messages_per_minute or self.preset.messages_per_minute
        per_second = self.messages_per_second or self.preset.messages_per_second
        self.capabilities = Capabilities(
            buttons=False,
            link_buttons=self.preset.link_buttons,
            edits=False,
            images=False,
            documents=False,
            can_open_dm=False,
            max_text_length=self.preset.max_text_length,
            chat_interval=1.0 / per_second if per_second else 0.0,
            group_messages_per_minute=per_minute,
        )
        self.pace = Pace(per_minute, per_second)
        self.handle: EventHandler | None = None
        self._client: aiohttp.ClientSession | None = None
        self._secrets = credentials(self.url)
        self._done: OrderedDict[str, int] = OrderedDict()
        self._lock = asyncio.Lock()

    async def start(self, handle: EventHandler) -> None:
        self.handle = handle
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def stop(self) -> None:
        self.handle = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        if self._client is None:
            raise TransientError("robot is not started")
        target = self.reply_urls(address)
        if address.direct and target is None:
            raise Unreachable("a group robot cannot write to a direct chat", Refusal.FORBIDDEN)
        bodies = self.preset.render(message)
        # The same row may come back as another message (a digest taken apart): resume only
        # the very same parts.
        key = f"{message_id}:{hash(json.dumps(bodies, sort_keys=True))}"
        first = self._done.pop(key, 0)
        sent = 0
        async with self._lock:  # one post at a time: the robot's limits are the group's
            for index in range(first, len(bodies)):
                try:
                    await self._post(target or self.url, bodies[index], signed=target is None)
                except BaseException:
                    if index:
                        self._resume(key, index)
                    raise
                sent += 1
        return SentRef(message_id, parts=max(sent, 1))

    def _resume(self, key: str, index: int) -> None:
        self._done[key] = index
        while len(self._done) > RESUMABLE:
            self._done.popitem(last=False)

    async def _post(self, url: str, body: Body, *, signed: bool) -> None:
        assert self._client is not None
        delay = self.pace.wait(time.monotonic())
        if delay > 0:
            await asyncio.sleep(delay)
        if signed:
            url, body = self.preset.sign(url, body, self.secret, time.time())
        data = json.dumps(body, ensure_ascii=False).encode("utf-8", "replace")
        try:
            async with self._client.post(
                url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
            ) as response:
                answer = await response.content.read(64 * 1024)
                self.pace.record(time.monotonic())
                self.preset.judge(response.status, response.headers, answer)
        except (aiohttp.ClientError, TimeoutError) as error:
            # The row's error text and the log: never the robot's key or token.
            raise TransientError(f"robot failed: {masked(repr(error), self._secrets)}") from error
        except Unreachable as error:
            raise Unreachable(masked(error.detail, self._secrets), error.reason) from None
        except TransientError as error:
            raise TransientError(masked(str(error), self._secrets)) from None


def written(
    message: Outgoing, dialect: Dialect, limit: int, size: Callable[[str], int]
) -> list[str]:
    """The message's text in ``dialect``, in pieces that each fit the platform's limit. Its
    link buttons are in the text already where the preset has no ``link_buttons``: delivery
    writes them as links (``bot.delivery.degrade``)."""
    return cut(dialect.render(message.text), limit, size)


def link_choices(message: Outgoing) -> list[Choice]:
    """The message's buttons that open a URL (what ``degrade`` leaves for ``link_buttons``)."""
    return [choice for row in message.choices for choice in row if choice.url]
