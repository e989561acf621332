"""Routing one event inside its batch: a duplicate, a chat that moved, a command, a file (to
the conversation that waits for one, else to the features that take files), a button press, a
reply to one of the bot's messages, a numbered answer, or text for the conversation the chat
holds.

A press whose button belongs to an earlier step, an ended question or someone else is told
so (in a group privately, to whoever pressed it) and changes nothing.
"""

from __future__ import annotations

from bot.batch import Batch, Work, chat_of
from bot.context import Context
from bot.conversation import ROOM
from bot.i18n import _
from bot.messages import Accepted
from store.runtime import StoredConversation


async def handle(batch: Batch, item: Work) -> None:
    """One event of the batch, its effects collected into the batch."""
    event = item.event
    if item.timeout_version is not None:
        await batch.timeout(item)
        return
    seen_key = (event.platform, event.event_id)
    if seen_key in batch.shared.caches.seen or seen_key in batch.seen_set:
        batch.answers.append((item, Accepted(duplicate=True)))
        return
    batch.seen.append(seen_key)
    batch.seen_set.add(seen_key)
    if event.moved_to:
        await batch.store.rooms.move(event.platform, event.chat.id, event.moved_to)
        batch.note_room_changes()
        batch.answers.append((item, Accepted()))
        return
    person = await batch.person((event.platform, event.sender.id))
    ctx = await batch.context(event, batch.shared.principals.of(event, person))
    if (
        event.chat.direct
        and person is not None
        and (person.direct_chats.get(event.platform) != event.chat.id)
    ):
        await batch.store.people.note_direct_chat(event.platform, event.sender.id, event.chat.id)
        person.direct_chats[event.platform] = event.chat.id
    await _route(ctx, batch)
    if event.chat.direct and person is None and ctx.people_changed:
        # Someone new became a member in this very event (/join in a DM): keep the chat,
        # or a platform that cannot open a DM could never write to them first. Only then:
        # a query for every stranger's message cut the core's throughput to a sixth.
        await batch.store.people.note_direct_chat(event.platform, event.sender.id, event.chat.id)
    batch.collect(ctx)
    batch.answers.append((item, Accepted()))


async def _route(ctx: Context, batch: Batch) -> None:
    event = ctx.event
    router = batch.shared.router
    chat_key = chat_of(ctx)
    active = batch.conversations_of(chat_key)
    if event.command:
        await router.dispatch(ctx, event.command, event.args)
        return
    if event.attachment is not None:
        attachment = event.attachment
        slot = next((s for s, c in active.items() if batch.takes_files(c)), None)
        if slot is not None:
            await batch.feed(ctx, slot, lambda m: m.on_file(ctx, attachment), chat_key)
        else:
            await router.dispatch_file(ctx, attachment)
        return
    if event.choice is not None:
        await _choice(ctx, batch, active, event.choice)
        return
    if event.replied_to is not None and router.replies and await router.replied(ctx):
        return
    owner = chat_key
    if not active and not event.chat.direct:
        owner = (event.platform, event.chat.id, ROOM)
        active = batch.conversations_of(owner)
    conversation = active.get("main") or next(iter(active.values()), None)
    if conversation is not None:
        slot = "main" if "main" in active else next(iter(active))
        text = event.text.strip()
        options = conversation.choices or []
        if text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(options):
            payload = options[int(text) - 1]
            await batch.feed(ctx, slot, lambda m: m.on_choice(ctx, payload), owner)
        else:
            await batch.feed(ctx, slot, lambda m: m.on_text(ctx, event.text), owner)
        return
    text = event.text.strip()
    if text.isdecimal() and len(text) <= 3 and await router.typed_number(ctx, int(text)):
        return
    if event.chat.direct and text:
        ctx.reply(_("I only respond to commands; /help lists them."))


async def _choice(
    ctx: Context, batch: Batch, active: dict[str, StoredConversation], raw: str
) -> None:
    if await batch.shared.router.press(ctx, raw):
        return
    parts = raw.split("|", 2)
    if len(parts) < 3 or not parts[0].isdecimal() or len(parts[0]) > 12:
        _stale_press(ctx, _("That button is no longer in use."))
        return
    version, slot, payload = int(parts[0]), parts[1] or "main", parts[2]
    conversation = active.get(slot)
    owner = chat_of(ctx)
    if conversation is None and not ctx.event.chat.direct:
        owner = (ctx.event.platform, ctx.event.chat.id, ROOM)
        conversation = batch.conversations_of(owner).get(slot)
    if (conversation is None or conversation.version != version) and (
        owner_name := await _owner_name(ctx, batch, slot, version)
    ) is not None:
        if owner_name:
            message = _("This question is {name}'s; nothing was changed.")
        else:
            message = _("This question belongs to someone else here; nothing was changed.")
        _stale_press(ctx, message, owner_name or None)
        return
    if conversation is None:
        _stale_press(ctx, _("That question has already ended; nothing was changed."))
        return
    if conversation.version != version:
        _stale_press(ctx, _("That button belongs to an earlier question; nothing was changed."))
        return
    await batch.feed(ctx, slot, lambda m: m.on_choice(ctx, payload), owner)


async def _owner_name(ctx: Context, batch: Batch, slot: str, version: int) -> str | None:
    """In a group, the name of the other person whose conversation showed the pressed
    button ("" when they have none on record; ``None`` when it is nobody else's). Only
    stale presses ask, so the query is off the hot path; what this batch changed wins
    over the stored rows."""
    event = ctx.event
    if event.chat.direct or not 0 < version < 2**31:  # what a stored version can be
        return None
    here = (event.platform, event.chat.id)
    owner = next(
        (
            key[2]
            for key, active in batch.conversations.items()
            if key[:2] == here and slot in active and active[slot].version == version
        ),
        None,
    )
    if owner is None:
        owner = await batch.store.conversations.owner(*here, slot, version)
        mine = batch.conversations.get((*here, owner)) if owner is not None else None
        if mine is not None and (slot not in mine or mine[slot].version != version):
            owner = None  # it moved on or ended earlier in this batch
    if owner is None or owner in (ROOM, event.sender.id):
        return None
    person = await batch.person((event.platform, owner))
    return person.display_name if person is not None else ""


def _stale_press(ctx: Context, message: str, name: str | None = None) -> None:
    """Tell whoever pressed an old button; in a group only them (in their direct chat,
    where the platform can reach it), so late presses never clutter the room."""
    if ctx.event.chat.direct:
        ctx.reply(message, name=name)
    elif ctx.capabilities.can_open_dm or ctx.event.platform in ctx.who.direct_chats:
        ctx.reply_direct(message, name=name)
