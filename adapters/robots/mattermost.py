"""Mattermost incoming webhooks.

developers.mattermost.com/integrate/webhooks/incoming: POST JSON ``{"text": …}`` to
``https://<server>/hooks/<id>``; the text is Mattermost's markdown (CommonMark with
backslash escapes, so ``Markup.markdown`` fits). A post holds up to 16,383 characters
(``MaxPostSize``); longer texts are cut. Mattermost has no per-webhook rate limit of its own;
with the server's rate limiting on (``RateLimitSettings``, server/channels/app/ratelimit.go) it
answers 429 with the plain text "limit exceeded" and throttled's headers: ``Retry-After``
(seconds until a request is allowed again) and ``X-RateLimit-Reset`` (seconds until the whole
quota is back, longer). Other errors come as JSON ``{"id": …, "message": …, "status_code": …}``:
400 ``web.incoming_webhook.invalid.app_error`` for an unknown hook, 501
``web.incoming_webhook.disabled.app_error`` when incoming webhooks are off, 400 for a
malformed request.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.robots.base import Body, Preset, answer_json, cut, http_status, unsigned
from bot.messages import Outgoing, RetryLater, TransientError

MAX_TEXT = 16383


def render(message: Outgoing) -> list[Body]:
    return [{"text": piece} for piece in cut(message.text.markdown(), MAX_TEXT, len)]


MISCONFIGURED = frozenset(
    {"web.incoming_webhook.invalid.app_error", "web.incoming_webhook.disabled.app_error"}
)
"""An unknown hook id (answered 400) or incoming webhooks switched off (501): fixed by whoever
set the hook up, so retried and nothing is lost."""


def judge(status: int, headers: Mapping[str, str], body: bytes) -> None:
    answer = answer_json(body)
    detail = str(answer.get("message") or body[:200].decode("utf-8", "replace"))
    if 200 <= status < 300:
        return
    if answer.get("id") in MISCONFIGURED:
        raise TransientError(f"webhook misconfigured: HTTP {status}: {detail[:200]}")
    if status == 429:
        try:  # Retry-After is when one request may go; X-RateLimit-Reset the whole quota
            wait = float(headers.get("Retry-After", "") or headers.get("X-RateLimit-Reset", ""))
        except ValueError:
            wait = 1.0
        raise RetryLater(max(wait, 0.0))
    if status in (401, 403, 404):
        raise TransientError(f"webhook misconfigured: HTTP {status}: {detail[:200]}")
    http_status(status, detail[:200])


PRESET = Preset(
    kind="mattermost",
    max_bytes=MAX_TEXT,
    max_text_length=8000,
    messages_per_minute=None,
    messages_per_second=None,
    render=render,
    sign=unsigned,
    judge=judge,
    size=len,
)
