"""WeCom (企业微信) group robots, 群机器人.

developer.work.weixin.qq.com/document/path/91770 (群机器人配置说明): POST JSON to
``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>``; ``text`` content up to 2,048
bytes and ``markdown`` content up to 4,096 bytes (UTF-8); each robot sends at most 20
messages a minute. The answer is HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``, or an
``errcode``: 45009 is the frequency limit (wait), 93000 an invalid or deleted key. WeCom's
markdown has bold, links and inline code but no italic and no escapes.
"""

from __future__ import annotations

from adapters.robots.base import (
    MINUTE,
    Body,
    Dialect,
    ErrorCodes,
    Preset,
    unsigned,
    utf8_len,
    written,
)
from bot.messages import Outgoing

MAX_MARKDOWN = 4096
PER_MINUTE = 20
DIALECT = Dialect(italic="{}")
TOO_FAST = 45009
MISCONFIGURED = frozenset({93000, 93004, 93008})
"""Invalid or deleted key, robot removed from the group, or not allowed: fixable by whoever
set the robot up, so retried (as protocol v1 retries 401/403/404) and nothing is lost."""
REFUSED = frozenset({40008, 40035, 40058, 44004, 45002})
"""Invalid message type, invalid parameter (40058 is also "markdown.content exceed max length"),
empty content, content over its limit."""


def render(message: Outgoing) -> list[Body]:
    return [
        {"msgtype": "markdown", "markdown": {"content": piece}}
        for piece in written(message, DIALECT, MAX_MARKDOWN, utf8_len)
    ]


judge = ErrorCodes(waits={TOO_FAST: MINUTE}, refused=REFUSED, misconfigured=MISCONFIGURED).judge


PRESET = Preset(
    kind="wecom",
    max_bytes=MAX_MARKDOWN,
    max_text_length=MAX_MARKDOWN // 3,
    messages_per_minute=PER_MINUTE,
    messages_per_second=None,
    render=render,
    sign=unsigned,
    judge=judge,
)
