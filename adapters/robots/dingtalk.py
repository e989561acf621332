"""DingTalk (钉钉) custom robots, 自定义机器人.

open.dingtalk.com/document/robots/custom-robot-access and …/customize-robot-security-settings:
POST JSON to ``https://oapi.dingtalk.com/robot/send?access_token=<token>``. With 加签 (signing)
the URL also carries ``timestamp`` (milliseconds) and ``sign``, the URL-encoded
Base64(HMAC-SHA256(key=secret, message="<timestamp>\\n<secret>")); DingTalk refuses a
timestamp more than an hour off. Formats: ``text``, ``markdown`` (title + text; the bot
writes markdown, links included) and ``actionCard`` (markdown with buttons that open a URL: a
message's link buttons go as one). A robot may send 20 messages a minute;
beyond that DingTalk answers errcode 130101 and blocks the robot for 10 minutes, so the preset sends
at most 18 a minute (a margin for clocks and for posts answered late) and is never blocked.
Answers are HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` or an error code: 130101 "send
too fast, exceed 20 times per minute", 310000 "sign not match" / "invalid timestamp", 300001
"token is not exist", 460101 "message too long, exceed 20000 bytes".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

from adapters.robots.base import (
    MINUTE,
    Body,
    Dialect,
    ErrorCodes,
    Preset,
    link_choices,
    title_of,
    utf8_len,
    written,
)
from bot.messages import Outgoing

PLATFORM_PER_MINUTE = 20
PER_MINUTE = 18
"""Two under DingTalk's 20: reaching 20 costs ten minutes of silence (errcode 130101)."""
BLOCKED_FOR = 600.0
MAX_TEXT = 20000
"""Bytes of a message's text DingTalk takes (its 20,000-byte content limit)."""
DIALECT = Dialect(code="{}")
"""DingTalk's markdown has headings, bold, italic, links and lists, but no code spans."""
BLOCKED = 130101
TOO_FAST = frozenset({410100})
MISCONFIGURED = frozenset({310000, 300001, 300005, 400101, 400102, 400105})
"""Signature or keyword or IP check failed, token missing or unknown, robot disabled: fixed
by whoever set the robot up, so retried and nothing is lost."""
GONE = frozenset({400013})
"""The group was dissolved."""
REFUSED = frozenset({40035, 460101, 430101, 430102, 430103, 430104})
"""A missing parameter, a message over 20,000 bytes, or content DingTalk's checks refuse
(an unsafe link, text or image)."""


def sign(url: str, body: Body, secret: str | None, now: float) -> tuple[str, Body]:
    if not secret:
        return url, body
    timestamp = str(int(now * 1000))
    return f"{url}&timestamp={timestamp}&sign={quote_plus(signature(secret, timestamp))}", body


def signature(secret: str, timestamp: str) -> str:
    """Base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")): DingTalk's outgoing signing and
    its receiving robot's ``sign`` header (keyed with the app secret) are the same scheme."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def render(message: Outgoing) -> list[Body]:
    """Markdown, and for a message with link buttons an ``actionCard`` (its last part when
    cut): one button is ``singleTitle``/``singleURL``, several are ``btns`` (``title``,
    ``actionURL``) stacked vertically (``btnOrientation`` "0")."""
    title = title_of(message)
    bodies: list[Body] = [
        {"msgtype": "markdown", "markdown": {"title": title, "text": piece}}
        for piece in written(message, DIALECT, MAX_TEXT, utf8_len)
    ]
    links = link_choices(message)
    if links:
        card: Body = {"title": title, "text": bodies[-1]["markdown"]["text"]}
        if len(links) == 1:
            card.update(singleTitle=links[0].label, singleURL=links[0].url)
        else:
            card.update(
                btnOrientation="0",
                btns=[{"title": link.label, "actionURL": link.url} for link in links],
            )
        bodies[-1] = {"msgtype": "actionCard", "actionCard": card}
    return bodies


judge = ErrorCodes(
    waits={BLOCKED: BLOCKED_FOR, **dict.fromkeys(TOO_FAST, MINUTE)},
    refused=REFUSED,
    misconfigured=MISCONFIGURED,
    gone=GONE,
).judge


PRESET = Preset(
    kind="dingtalk",
    max_bytes=MAX_TEXT,
    max_text_length=4096,
    messages_per_minute=PER_MINUTE,
    messages_per_second=None,
    render=render,
    sign=sign,
    judge=judge,
    link_buttons=True,
)
