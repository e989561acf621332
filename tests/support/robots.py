"""Fake group-robot platforms on 127.0.0.1, one per kind, that check what the real ones check:
the key or token in the URL, the signing exactly as the platform computes it, the size of the
text field, and the rate (per minute and per second, over sliding windows of the time each
request arrives). They answer with the platforms' own error bodies, and count every request
that broke a limit, so a test can require zero. DingTalk's fake blocks the robot for ten
minutes after its 21st message in a minute, as DingTalk does."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.memory import MemoryAdapter
from bot.app import BranchBot, configure
from bot.delivery import Delivery
from bot.messages import Capabilities
from tests.support.templates import migrated

HOUR = 3600.0
DEEP_LINK = "https://t.me/branchbot_test?start={payload}"
KINDS = ("wecom", "dingtalk", "feishu", "slack", "mattermost")
KEYS = {
    "wecom": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
    "dingtalk": "b8f2a1c0d9e84f6a8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a",
    "feishu": "2f3a4b5c-6d7e-8f90-a1b2-c3d4e5f6a7b8",
    "slack": "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "mattermost": "xr3j5x3p4pfk7xk0",
}
SECRETS = {"dingtalk": "SEC0123456789abcdef-ding", "feishu": "feishu-secret-0123456789"}

LIMITS: dict[str, dict[str, Any]] = {
    "wecom": {"per_minute": 20, "max_bytes": 4096},
    "dingtalk": {"per_minute": 20, "max_bytes": 20000, "block_for": 600.0},
    "feishu": {"per_minute": 100, "per_second": 5, "max_bytes": 20 * 1024},
    "slack": {"per_second": 1, "max_bytes": 40000},
    "mattermost": {"max_bytes": 16383},
}
"""What each platform enforces (Slack's 40,000 is where it starts truncating, Feishu's 20 KB
counts the whole body)."""


REPLY_PATHS = {
    "dingtalk": ("/robot/sendBySession",),
    "slack": ("/commands/T00000000/1234/abcd",),
    "mattermost": ("/hooks/commands/response-1",),
}
"""Where the fakes take answers to a callback (the path its answer URL names)."""


def origin(fake: FakeRobot) -> str:
    return fake.url.split("/", 3)[0] + "//" + fake.url.split("/", 3)[2]


def path_of(kind: str) -> str:
    key = KEYS[kind]
    return {
        "wecom": f"/cgi-bin/webhook/send?key={key}",
        "dingtalk": f"/robot/send?access_token={key}",
        "feishu": f"/open-apis/bot/v2/hook/{key}",
        "slack": f"/services/{key}",
        "mattermost": f"/hooks/{key}",
    }[kind]


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """As DingTalk documents it: Base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))."""
    message = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def feishu_sign(secret: str, timestamp: str) -> str:
    """As Feishu documents it: HMAC-SHA256 keyed with "<timestamp>\\n<secret>" over nothing."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


@dataclass
class FakeRobot:
    """One robot of ``kind`` as its platform serves it."""

    kind: str
    secret: str | None = None
    per_minute: int | None = None
    per_second: float | None = None
    max_bytes: int = 1 << 20
    block_for: float = 0.0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    """Every request that broke a limit (rate or size): a test wants none."""
    refused: list[str] = field(default_factory=list)
    """Requests refused for their key or signature."""
    plan: list[tuple[int, Any] | None] = field(default_factory=list)
    """Canned answers (status, JSON body or text) for the next requests once their key and
    signature passed; ``None`` takes that request as usual."""
    replies: list[dict[str, Any]] = field(default_factory=list)
    """What was posted to a callback's answer URL (DingTalk's session webhook, a slash
    command's ``response_url``), which is checked by its own token, not the robot's."""
    url: str = ""
    arrivals: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def of(cls, kind: str, signed: bool = True) -> FakeRobot:
        return cls(kind, SECRETS.get(kind) if signed else None, **LIMITS[kind])

    @property
    def texts(self) -> list[str]:
        """The text of each accepted message, whatever the format."""
        return [text_of(self.kind, body) for body in self.accepted]

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        now = time.monotonic()
        if request.path in REPLY_PATHS.get(self.kind, ()):
            self.replies.append(json.loads(raw))
            self.changed.set()
            return self._ok()
        if not self._key_ok(request):
            self.refused.append("key")
            self.changed.set()
            return self._bad_key()
        try:
            body = json.loads(raw)
        except ValueError:
            return self._answer(
                400, {"errcode": 40035, "errmsg": "invalid json"}, "invalid_payload"
            )
        problem = self._signature_problem(request, body)
        if problem:
            self.refused.append(problem)
            self.changed.set()
            return self._bad_sign()
        canned = self.plan.pop(0) if self.plan else None
        if canned is not None:
            status, answer = canned
            if isinstance(answer, dict):
                return web.json_response(answer, status=status)
            return web.Response(status=status, text=str(answer))
        if now < self.blocked_until:
            self.violations.append("request while blocked")
            return self._too_fast()
        self.arrivals.append(now)
        while self.arrivals and self.arrivals[0] <= now - 60.0:
            self.arrivals.popleft()
        if self.per_minute and len(self.arrivals) > self.per_minute:
            self.violations.append(f"{len(self.arrivals)} in a minute")
            if self.block_for:
                self.blocked_until = now + self.block_for
            return self._too_fast()
        in_second = sum(1 for t in self.arrivals if t > now - 1.0)
        if self.per_second and in_second > self.per_second:
            self.violations.append(f"{in_second} in a second")
            return self._too_fast()
        shape = format_problem(self.kind, body)
        if shape:
            self.violations.append(f"format: {shape}")
            return self._bad_format(shape)
        size = self._size(raw, body)
        if size > self.max_bytes:
            self.violations.append(f"{size} bytes")
            return self._too_big(size)
        self.accepted.append(body)
        self.changed.set()
        return self._ok()

    def _key_ok(self, request: web.Request) -> bool:
        key = KEYS[self.kind]
        if self.kind == "wecom":
            return request.query.get("key") == key
        if self.kind == "dingtalk":
            return request.query.get("access_token") == key
        return request.path.endswith(key)

    def _signature_problem(self, request: web.Request, body: Any) -> str | None:
        if self.secret is None or self.kind not in ("dingtalk", "feishu"):
            return None
        if self.kind == "dingtalk":
            stamp, given = request.query.get("timestamp", ""), request.query.get("sign", "")
            if not stamp.isdecimal() or abs(time.time() * 1000 - int(stamp)) > HOUR * 1000:
                return "timestamp"
            return None if hmac.compare_digest(given, dingtalk_sign(self.secret, stamp)) else "sign"
        stamp = str(body.get("timestamp", "")) if isinstance(body, dict) else ""
        given = str(body.get("sign", "")) if isinstance(body, dict) else ""
        if not stamp.isdecimal() or abs(time.time() - int(stamp)) > HOUR:
            return "timestamp"
        return None if hmac.compare_digest(given, feishu_sign(self.secret, stamp)) else "sign"

    def _size(self, raw: bytes, body: Any) -> int:
        """What the platform measures: the text field's bytes (WeCom, DingTalk), the body's
        bytes (Feishu), the text's characters (Slack, Mattermost)."""
        if self.kind == "feishu":
            return len(raw)
        if self.kind == "dingtalk":
            inner = body.get(body.get("msgtype", ""), {})
            return len(str(inner.get("text", inner.get("content", ""))).encode())
        text = text_of(self.kind, body)
        return len(text) if self.kind in ("slack", "mattermost") else len(text.encode())

    def _answer(self, status: int, answer: dict[str, Any], text: str) -> web.Response:
        if self.kind in ("slack",):
            return web.Response(status=status if status != 200 else 400, text=text)
        return web.json_response(answer, status=status)

    def _ok(self) -> web.Response:
        if self.kind in ("wecom", "dingtalk"):
            return web.json_response({"errcode": 0, "errmsg": "ok"})
        if self.kind == "feishu":
            return web.json_response(
                {
                    "StatusCode": 0,
                    "StatusMessage": "success",
                    "code": 0,
                    "data": {},
                    "msg": "success",
                }
            )
        return web.Response(text="ok")

    def _bad_key(self) -> web.Response:
        return {
            "wecom": lambda: web.json_response(
                {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1733] more info"}
            ),
            "dingtalk": lambda: web.json_response(
                {"errcode": 300001, "errmsg": "token is not exist"}
            ),
            "feishu": lambda: web.json_response(
                {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
            ),
            "slack": lambda: web.Response(status=404, text="no_service"),
            "mattermost": lambda: web.json_response(
                {
                    "id": "web.incoming_webhook.invalid.app_error",
                    "message": "Invalid webhook.",
                    "status_code": 400,
                },
                status=400,
            ),
        }[self.kind]()

    def _bad_sign(self) -> web.Response:
        if self.kind == "dingtalk":
            return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        return web.json_response(
            {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour from current time",
            }
        )

    def _too_fast(self) -> web.Response:
        return {
            "wecom": lambda: web.json_response(
                {"errcode": 45009, "errmsg": "api freq out of limit"}
            ),
            "dingtalk": lambda: web.json_response(
                {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
            ),
            "feishu": lambda: web.json_response(
                {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"}
            ),
            "slack": lambda: web.Response(
                status=429, text="rate_limited", headers={"Retry-After": "1"}
            ),
            "mattermost": lambda: web.Response(  # Mattermost's throttled: plain text
                status=429,
                text="limit exceeded\n",
                headers={
                    "X-RateLimit-Limit": "1",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": "2",
                    "Retry-After": "1",
                },
            ),
        }[self.kind]()

    def _bad_format(self, problem: str) -> web.Response:
        if self.kind == "dingtalk":
            return web.json_response({"errcode": 40035, "errmsg": f"缺少参数 {problem}"})
        return web.json_response({"code": 9499, "msg": "Bad Request"}, status=400)

    def _too_big(self, size: int) -> web.Response:
        return {
            "wecom": lambda: web.json_response(
                {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
            ),
            "dingtalk": lambda: web.json_response(
                {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}
            ),
            "feishu": lambda: web.json_response({"code": 9499, "msg": "Bad Request"}, status=400),
            "slack": lambda: web.Response(status=400, text="invalid_payload"),
            "mattermost": lambda: web.json_response(
                {
                    "id": "model.post.is_valid.msg.app_error",
                    "message": "Invalid message",
                    "status_code": 400,
                },
                status=400,
            ),
        }[self.kind]()


def format_problem(kind: str, body: Any) -> str | None:
    """What the platform would refuse in a body's shape (``None`` when it is fine): DingTalk's
    ``actionCard`` needs ``title`` and ``text`` and either ``singleTitle`` with ``singleURL``
    or ``btns`` of ``title`` and ``actionURL``; a Feishu ``interactive`` card needs
    ``elements`` whose ``div`` has a text object and whose ``action`` has buttons, each with
    a ``plain_text``/``lark_md`` text and an http(s) ``url``."""
    if not isinstance(body, dict):
        return "body"
    if kind == "dingtalk" and body.get("msgtype") == "actionCard":
        card = body.get("actionCard")
        if not isinstance(card, dict) or not card.get("title") or not card.get("text"):
            return "actionCard.title/text"
        if "singleTitle" in card or "singleURL" in card:
            ok = bool(card.get("singleTitle")) and _web(card.get("singleURL"))
            return None if ok else "actionCard.singleTitle/singleURL"
        buttons = card.get("btns")
        if not isinstance(buttons, list) or not buttons:
            return "actionCard.btns"
        if any(not b.get("title") or not _web(b.get("actionURL")) for b in buttons):
            return "actionCard.btns[].title/actionURL"
        if str(card.get("btnOrientation", "0")) not in ("0", "1"):
            return "actionCard.btnOrientation"
    if kind == "feishu" and body.get("msg_type") == "interactive":
        card = body.get("card")
        elements = card.get("elements") if isinstance(card, dict) else None
        if not isinstance(elements, list) or not elements:
            return "card.elements"
        for element in elements:
            tag = element.get("tag")
            if tag == "div":
                text = element.get("text", {})
                if text.get("tag") not in ("plain_text", "lark_md") or "content" not in text:
                    return "div.text"
            elif tag == "action":
                actions = element.get("actions")
                if not isinstance(actions, list) or not actions:
                    return "action.actions"
                for button in actions:
                    text = button.get("text", {})
                    if button.get("tag") != "button" or text.get("tag") not in (
                        "plain_text",
                        "lark_md",
                    ):
                        return "button.text"
                    if not text.get("content") or not _web(button.get("url")):
                        return "button.url"
            elif tag not in ("hr", "note", "markdown", "img"):
                return f"element {tag!r}"
    return None


def _web(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


def text_of(kind: str, body: Any) -> str:
    """The text a person sees in one accepted body."""
    if not isinstance(body, dict):
        return ""
    if kind == "wecom":
        inner = body.get(body.get("msgtype", ""), {})
        return str(inner.get("content", ""))
    if kind == "dingtalk":
        inner = body.get(body.get("msgtype", ""), {})
        text = str(inner.get("text", inner.get("content", "")))
        buttons = inner.get("btns", [])
        if inner.get("singleURL"):
            buttons = [{"title": inner["singleTitle"], "actionURL": inner["singleURL"]}]
        return "\n".join([text, *(f"[{b['title']}]({b['actionURL']})" for b in buttons)])
    if kind == "feishu":
        if body.get("msg_type") == "interactive":
            parts = []
            for element in body["card"]["elements"]:
                if element["tag"] == "div":
                    parts.append(element["text"]["content"])
                else:
                    parts += [f"[{a['text']['content']}]({a['url']})" for a in element["actions"]]
            return "\n".join(parts)
        if body.get("msg_type") == "post":
            lines = body["content"]["post"]["zh_cn"]["content"]
            return "\n".join(
                "".join(f"{e['text']} ({e['href']})" if "href" in e else e["text"] for e in line)
                for line in lines
            )
        return str(body.get("content", {}).get("text", ""))
    return str(body.get("text", ""))


@asynccontextmanager
async def serving(*fakes: FakeRobot) -> AsyncIterator[None]:
    """Each fake on a port of its own on 127.0.0.1; ``fake.url`` is its robot URL."""
    runners = []
    try:
        for fake in fakes:
            app = web.Application()
            app.router.add_post("/{tail:.*}", fake.handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}{path_of(fake.kind)}"
        yield
    finally:
        for runner in runners:
            await runner.cleanup()


def robot_config(
    fake: FakeRobot, name: str, branch: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A ``[[robots]]`` block for ``fake``."""
    block: dict[str, Any] = {"name": name, "kind": fake.kind, "url": fake.url, **extra}
    if fake.secret:
        block["secret"] = fake.secret
    if branch:
        block["branch"] = branch
    return block


@asynccontextmanager
async def robots_bot(
    database_url: str,
    robots: list[dict[str, Any]],
    *,
    serve_http: bool = False,
    deep_link: str | None = DEEP_LINK,
    **overrides: Any,
) -> AsyncIterator[tuple[BranchBot, MemoryAdapter]]:
    """A bot with the given robots and a memory adapter for the people's direct chats, which
    has a deep link like Telegram's (``None``: a bot with no direct chat to point to)."""
    memory = MemoryAdapter(capabilities=Capabilities(deep_link=deep_link))
    options: dict[str, Any] = {
        "database_url": database_url,
        "admins": ["memory:boss"],
        "playground": False,
        "default_locale": "en",
        "http": {"host": "127.0.0.1", "port": 0},
        "robots": robots,
    }
    options.update(overrides)
    await migrated(database_url)
    bot = BranchBot(configure(None, **options), extra_adapters=[memory], serve_http=serve_http)
    await bot.start()
    try:
        yield bot, memory
    finally:
        await bot.stop()


@asynccontextmanager
async def held(bot: BranchBot, names: list[str]) -> AsyncIterator[None]:
    """Delivery to these adapters stopped while the block runs, then started afresh: what was
    queued meanwhile is there at once, as after a restart with a backlog."""
    for name in names:
        await bot.deliveries[name].stop()
    try:
        yield
    finally:
        for name in names:
            old = bot.deliveries[name]
            fresh = Delivery(old.adapter, bot.db, bot.metrics, default_locale=old.default_locale)
            fresh.places = old.places
            bot.deliveries[name] = fresh
            await fresh.start()


async def until_accepted(fake: FakeRobot, count: int, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while len(fake.accepted) < count:
            fake.changed.clear()
            await fake.changed.wait()


async def until_refused(fake: FakeRobot, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not fake.refused:
            fake.changed.clear()
            await fake.changed.wait()


def dingtalk_headers(secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers DingTalk signs a receiving robot's callback with (ms timestamp)."""
    stamp = str(int(time.time() * 1000) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "timestamp": stamp,
        "sign": dingtalk_sign(secret, stamp),
    }


def slack_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack signs a slash command with (``v0`` scheme)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
