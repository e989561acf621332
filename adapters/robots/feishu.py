"""Feishu / Lark (飞书) custom bots, 自定义机器人.

open.feishu.cn/document/client-docs/bot-v3/add-custom-bot: POST JSON to
``https://open.feishu.cn/open-apis/bot/v2/hook/<token>`` (Lark: ``open.larksuite.com``). With
签名校验 the body also carries ``timestamp`` (seconds) and ``sign``, the Base64 of
HMAC-SHA256 keyed with ``"<timestamp>\\n<secret>"`` over an empty message; Feishu refuses a
timestamp more than an hour off (code 19021). Formats: ``text``, ``post`` (rich text: lines of
text and link elements; the bot's messages go as posts) and ``interactive`` (cards: a
message with link buttons goes as one, its buttons opening their ``url``). A bot may send
100 messages a minute and 5 a second; a request body may be 20 KB. Answers are JSON with
``code`` 0 for success; 11232 is the frequency limit, 9499 "Bad Request" (a malformed body
or one over 20 KB), 19001 an invalid hook token, 19021 a signature or timestamp refused,
19022 "Ip Not Allowed", 19024 "Key Words Not Found" (all answered with HTTP 200).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from adapters.robots.base import (
    Body,
    Dialect,
    Preset,
    answer_json,
    cut,
    http_status,
    link_choices,
    retry_after,
    title_of,
    utf8_len,
)
from bot.markup import Bold, Code, Italic, Link, Markup, Node, Text
from bot.messages import Outgoing, Refusal, RetryLater, TransientError, Unreachable

PER_MINUTE = 100
PER_SECOND = 5.0
MAX_BODY = 20 * 1024
MAX_TEXT = 15 * 1024
"""Bytes of one post's lines, their JSON included (a card's: of its text): the rest of the
20 KB body is the title and the structure around them."""
TOO_FAST = 11232
BAD_OR_TOO_MANY = 9499
"""Feishu's answer to a malformed body ("Bad Request", HTTP 400) and to too many requests
("too many request"): told apart by the status and its words."""
MISCONFIGURED = frozenset({19001, 19021, 19022, 19024})
"""An invalid hook token, a signature or timestamp refused, an IP not allowed, a keyword
missing: fixed by whoever set the bot up, so retried and nothing is lost."""


def signature(secret: str, timestamp: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def sign(url: str, body: Body, secret: str | None, now: float) -> tuple[str, Body]:
    if not secret:
        return url, body
    timestamp = str(int(now))
    return url, {"timestamp": timestamp, "sign": signature(secret, timestamp), **body}


def _elements(node: Node, style: tuple[str, ...], lines: list[list[dict[str, Any]]]) -> None:
    """Append ``node`` to the post's lines (a line break starts a new line)."""
    if isinstance(node, Text | Code):
        for index, part in enumerate(node.value.split("\n")):
            if index:
                lines.append([])
            if part:
                element: dict[str, Any] = {"tag": "text", "text": part}
                if style:
                    element["style"] = list(style)
                lines[-1].append(element)
    elif isinstance(node, Link):
        lines[-1].append({"tag": "a", "text": node.label, "href": node.url})
    else:
        mark = "bold" if isinstance(node, Bold) else "italic"
        assert isinstance(node, Bold | Italic)
        for child in node.children:
            _elements(child, (*style, mark), lines)


def post_lines(text: Markup) -> list[list[dict[str, Any]]]:
    lines: list[list[dict[str, Any]]] = [[]]
    for node in text.safe().nodes:
        _elements(node, (), lines)
    return lines


def _size(line: list[dict[str, Any]]) -> int:
    """The line's bytes in the body as it is sent, its JSON included: a line of many short
    elements (a digest's numbered links) is mostly JSON, which counting only the text and
    the links let pass 20 KB."""
    return utf8_len(json.dumps(line, ensure_ascii=False))


def render(message: Outgoing) -> list[Body]:
    """A ``post``: lines of text (bold and italic as styles) and link elements, cut into
    several posts where the text passes ``MAX_TEXT``; with link buttons, cards (``card``)."""
    if link_choices(message):
        return card(message)
    parts: list[list[list[dict[str, Any]]]] = [[]]
    for line in post_lines(message.text):
        if _size(line) > MAX_TEXT:  # one enormous line: as plain pieces
            text = "".join(str(e.get("text", "")) for e in line)
            parts += [[[{"tag": "text", "text": piece}]] for piece in cut(text, MAX_TEXT)]
            parts.append([])
            continue
        if sum(_size(kept) for kept in parts[-1]) + _size(line) > MAX_TEXT:
            parts.append([])
        parts[-1].append(line)
    title = title_of(message)
    posts = [part for part in parts if part]
    return [
        {
            "msg_type": "post",
            "content": {"post": {"zh_cn": {"title": "" if i else title, "content": lines}}},
        }
        for i, lines in enumerate(posts)
    ] or [{"msg_type": "text", "content": {"text": message.text.plain() or " "}}]


CARD_DIALECT = Dialect(code="{}")
"""A card's ``lark_md`` text: bold, italic and links as in markdown (no code spans)."""


def card(message: Outgoing) -> list[Body]:
    """A message with link buttons as ``interactive`` cards: a ``div`` of ``lark_md`` text
    (cut where it passes ``MAX_TEXT``) and, on the last card, an ``action`` element of
    buttons that each open their ``url``."""
    title = title_of(message)
    pieces = cut(CARD_DIALECT.render(message.text), MAX_TEXT)
    buttons = [
        {"tag": "button", "text": {"tag": "plain_text", "content": c.label}, "url": c.url}
        for c in link_choices(message)
    ]
    cards: list[Body] = []
    for index, piece in enumerate(pieces):
        elements: list[dict[str, Any]] = []
        if piece.strip():
            elements.append({"tag": "div", "text": {"tag": "lark_md", "content": piece}})
        if index == len(pieces) - 1:
            elements.append({"tag": "action", "actions": buttons})
        body: Body = {"config": {"wide_screen_mode": True}, "elements": elements}
        if index == 0:
            body["header"] = {"title": {"tag": "plain_text", "content": title}}
        cards.append({"msg_type": "interactive", "card": body})
    return cards


def judge(status: int, headers: Mapping[str, str], body: bytes) -> None:
    answer = answer_json(body)
    code = answer.get("code", answer.get("StatusCode"))
    detail = f"code {code}: {str(answer.get('msg', ''))[:200]}"
    if code == 0:
        return
    words = str(answer.get("msg", "")).lower()
    if code == TOO_FAST or (code == BAD_OR_TOO_MANY and (status == 429 or "many" in words)):
        raise RetryLater(retry_after(headers, 1.0))
    if code == BAD_OR_TOO_MANY:
        raise Unreachable(detail, Refusal.REFUSED)
    if code in MISCONFIGURED:
        raise TransientError(f"bot misconfigured: {detail}")
    http_status(status, detail)
    raise TransientError(detail)


PRESET = Preset(
    kind="feishu",
    max_bytes=MAX_TEXT,
    max_text_length=4096,
    messages_per_minute=PER_MINUTE,
    messages_per_second=PER_SECOND,
    render=render,
    sign=sign,
    judge=judge,
    link_buttons=True,
)
