"""Queueing notes (``dialogs.mailbox.posts``) from a handler or from the deadline worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.context import Context
from bot.messages import Outgoing
from bot.outbox import Row, payload
from dialogs.mailbox.posts import Note


def may_open(ctx: Context) -> Callable[[str], bool]:
    """Where a handler may write to someone first: only on this platform, if it allows it (a
    chat already known is used on any platform)."""
    here, allowed = ctx.event.platform, ctx.capabilities.can_open_dm
    return lambda platform: allowed and platform == here


def queue(ctx: Context, notes: Iterable[Note]) -> None:
    for note in notes:
        ctx.send_to(
            note.reader.address,
            note.text,
            image=note.image,
            locale=note.reader.locale,
            vanish=note.vanish,
            tag=note.tag,
        )


def rows(notes: Iterable[Note]) -> list[Row]:
    return [
        Row(
            note.reader.address,
            payload(
                Outgoing(note.text, image=note.image),
                note.reader.locale,
                vanish=note.vanish,
                tag=note.tag,
            ),
        )
        for note in notes
    ]
