"""Slack incoming webhooks.

api.slack.com/messaging/webhooks: POST JSON ``{"text": …}`` to
``https://hooks.slack.com/services/T…/B…/…``; the text is Slack's ``mrkdwn`` (``*bold*``,
``_italic_``, `` `code` ``, ``<url|label>``; ``&``, ``<`` and ``>`` escaped as entities). A
text is truncated past 40,000 characters and should stay within 4,000. Slack allows about one
message a second per channel, and answers 429 with ``Retry-After`` beyond that. Errors are
plain-text bodies: 400 ``invalid_payload``, 403 ``action_prohibited`` / ``invalid_token``,
404 ``channel_not_found`` / ``no_service`` / ``no_team``, 410 ``channel_is_archived``,
500 ``rollup_error``.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.robots.base import Body, Dialect, Preset, http_status, retry_after, unsigned, written
from bot.messages import Outgoing, Refusal, RetryLater, TransientError, Unreachable

MAX_TEXT = 4000
PER_SECOND = 1.0


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


DIALECT = Dialect(bold="*{}*", italic="_{}_", link="<{url}|{label}>", escape=escape)


def render(message: Outgoing) -> list[Body]:
    return [{"text": piece, "mrkdwn": True} for piece in written(message, DIALECT, MAX_TEXT, len)]


def judge(status: int, headers: Mapping[str, str], body: bytes) -> None:
    detail = body[:200].decode("utf-8", "replace").strip()
    if 200 <= status < 300:
        return
    if status == 429:
        raise RetryLater(retry_after(headers, 1.0))
    if status == 410 or detail == "channel_is_archived":
        raise Unreachable(detail, Refusal.GONE)
    if status in (403, 404):  # action_prohibited, invalid_token, no_service, channel_not_found
        raise TransientError(f"webhook misconfigured: HTTP {status}: {detail}")
    http_status(status, detail)


PRESET = Preset(
    kind="slack",
    max_bytes=MAX_TEXT,
    max_text_length=MAX_TEXT,
    messages_per_minute=None,
    messages_per_second=PER_SECOND,
    render=render,
    sign=unsigned,
    judge=judge,
    size=len,
)
