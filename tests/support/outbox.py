"""Messages put straight into the outbox, and the poison no send gets through."""

from __future__ import annotations

from typing import Any

from bot.app import BranchBot
from bot.markup import Markup
from bot.messages import Outgoing
from store.repos import Repositories
from store.runtime import PendingMessage

POISON = "poison"
"""A text that the failing adapters of the delivery tests refuse to send."""


def encode_error() -> Exception:
    """What the webhook channel raised for a lone surrogate in a display name."""
    return UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")


async def queue(
    bot: BranchBot, texts: list[str], chat: str = "dm-mei", foldable: bool = False
) -> list[int]:
    """Put messages for ``chat`` into the outbox and hand them to delivery, as the engine does."""
    direct = chat.startswith("dm-")
    user = chat.removeprefix("dm-") if direct else None
    rows: list[dict[str, Any]] = [
        {
            "platform": "memory",
            "chat_id": chat,
            "direct": direct,
            "user_id": user,
            "payload": {**Outgoing(Markup.literal(text)).to_json(), "fold": foldable},
        }
        for text in texts
    ]
    async with bot.db.session() as session:
        ids = await Repositories(session).outbox.add_many(rows)
    bot.deliveries["memory"].enqueue(
        [
            PendingMessage(i, "memory", chat, direct, user, r["payload"], 0)
            for i, r in zip(ids, rows, strict=True)
        ]
    )
    return ids
