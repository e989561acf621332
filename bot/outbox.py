"""Outbox rows: how the engine and every worker queue a message and hand it to delivery.

A message is promised by writing its row in the same transaction as the change that caused
it (``enqueue``); only once that transaction is committed may delivery see it (``hand_over``):
a row handed over before a rollback would send a message about something that never happened,
and a crash in between loses nothing, for delivery reads pending rows again on start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.messages import Address, Outgoing
from store.repos import Repositories
from store.runtime import EPHEMERAL, TAG, VANISH, PendingMessage


def payload(
    message: Outgoing,
    locale: str | None,
    *,
    fold: bool = False,
    ephemeral: bool = False,
    vanish: bool = False,
    tag: str | None = None,
) -> dict[str, Any]:
    """A message as its row stores it, with its reader's language (for what delivery adds,
    such as the hint under numbered choices); ``fold``: delivery may merge it with others
    waiting for the same chat (never one carrying an image or a file); ``ephemeral``:
    delivery erases the stored text once the row has its outcome (``store.runtime.erased``).
    An ephemeral message is never merged: a merge keeps the head row's own payload to undo
    it, so its text would outlive its delivery.
    ``vanish``: an ephemeral message whose row also loses its chat and person with its
    outcome. ``tag``: what the sender calls it, for a platform reply to it
    (``Outbox.tag_of``)."""
    body = {**message.to_json(), "locale": locale}
    if tag is not None:
        body[TAG] = tag
    if vanish:
        body[VANISH] = True
    if ephemeral or vanish:
        body[EPHEMERAL] = True
    elif fold and message.image is None and message.document is None:
        body["fold"] = True  # a merge carries texts and buttons: media would be dropped
    return body


@dataclass(frozen=True, slots=True)
class Row:
    """An outbox row to write: where, and the stored message (``payload``)."""

    address: Address
    payload: dict[str, Any]


async def enqueue(store: Repositories, rows: Sequence[Row]) -> list[PendingMessage]:
    """Write ``rows`` in the store's transaction; returns them as delivery will take them,
    to be handed over once that transaction is committed."""
    ids = await store.outbox.add_many(
        [
            {
                "platform": row.address.platform,
                "chat_id": row.address.chat_id,
                "direct": row.address.direct,
                "user_id": row.address.user_id,
                "payload": row.payload,
            }
            for row in rows
        ]
    )
    return [
        PendingMessage(
            row_id,
            row.address.platform,
            row.address.chat_id,
            row.address.direct,
            row.address.user_id,
            row.payload,
            0,
        )
        for row_id, row in zip(ids, rows, strict=True)
    ]


def hand_over(
    deliver: Callable[[list[PendingMessage]], None], pending: list[PendingMessage]
) -> None:
    """After the commit: delivery gets the new rows (on a crash, it finds them on start)."""
    if pending:
        deliver(pending)
