"""What the mailbox tells whom: a letter and each step of its thread, to the branch's
secretaries (or its secretaries' room, or the admins), and answers to the writer.

Every message is built here as a ``Note``; a handler queues it with ``ctx.send_to`` and the
deadline worker as an outbox row, so both say it the same way. Notes to secretaries carry the
tag ``mail:<letter id>``, so a platform reply to one is an answer to that letter. A note to an
anonymous writer vanishes from the outbox once delivered, and is never tagged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bot.context import Settings
from bot.i18n import Translator, _, translator
from bot.markup import Markup
from bot.messages import Address, Image
from bot.recipients import Note, Reader, admin_ids, readers, secretary_ids
from bot.workdays import WorkCalendar
from dialogs.mailbox.common import CASE, CATEGORY, STATUS
from dialogs.mailbox.config import MailboxConfig
from dialogs.mailbox.relay import Relay, relay_of
from dialogs.mailbox.repository import Mailbox, due_of, number_of, overdue
from dialogs.mailbox.tables import Letter
from store.models import Branch, Member
from store.repos import Repositories

TAG = "mail:"


def tag_of(letter: Letter) -> str:
    return f"{TAG}{letter.id}"


def case(letter: Letter) -> str:
    return CASE.format(number_of(letter))


def category_text(language: Translator, category: str) -> str:
    known = CATEGORY.get(category)
    return language.text(known) if known else category


# -- who ------------------------------------------------------------------------------------


async def secretaries(
    repos: Repositories,
    settings: Settings,
    letter: Letter,
    may_open: Callable[[str], bool],
) -> list[Reader]:
    """Who is told about ``letter``: the one it was passed to, else the branch's secretaries'
    room or the secretaries themselves; the admins when it was passed up, has no branch, or
    the branch has no secretary."""
    config = settings.section(MailboxConfig)
    if letter.assignee_id is not None and not letter.with_admins:
        people = await readers(repos.session, [letter.assignee_id], may_open)
        if people:
            return people
    if not letter.with_admins and letter.branch_id is not None:
        branch = await repos.session.get(Branch, letter.branch_id)
        room = config.rooms.get(branch.name if branch else "") or config.rooms.get("*")
        if room is not None:
            platform, _colon, chat = room.partition(":")
            locales = await repos.rooms.locales([(platform, chat)])
            return [Reader(Address(platform, chat), locales.get((platform, chat)))]
        members = (await secretary_ids(repos.session, [letter.branch_id])).get(letter.branch_id, [])
        people = await readers(repos.session, members, may_open)
        if people:
            return people
    return await readers(repos.session, await admin_ids(repos, settings), may_open)


async def writer(
    repos: Repositories, letter: Letter, relay: Relay, may_open: Callable[[str], bool]
) -> Reader | None:
    """The writer's direct chat (opened through the relay for an anonymous letter)."""
    member_id = await repos.get(Mailbox).writer_of(letter, relay)
    if member_id is None:
        return None
    found = await readers(repos.session, [member_id], may_open)
    return found[0] if found else None


# -- what -----------------------------------------------------------------------------------


def heading(language: Translator, letter: Letter, today: date, calendar: WorkCalendar) -> Markup:
    """``📮 M-2026-0042 · complaint · written 2 working days ago · first answer due …``."""
    age = calendar.between(letter.written_on, today)
    due = due_of(letter)
    template = (
        _(
            "📮 **{case}** · {category} · {status} · written {written} "
            "(working days since: {age}) · answer due {due}"
        )
        if letter.answered_on is None
        else _(
            "📮 **{case}** · {category} · {status} · written {written} "
            "(working days since: {age}) · resolution due {due}"
        )
    )
    text = language(
        template,
        case=case(letter),
        category=category_text(language, letter.category),
        status=language.text(STATUS[letter.status]),
        written=language.day(letter.written_on),
        age=age,
        due=language.day(due),
    )
    if overdue(letter, today):
        text = Markup.join([text, language(_("⚠️ Overdue."))], " ")
    return text


def writer_line(language: Translator, letter: Letter, name: str | None) -> Markup:
    if letter.anonymous or name is None:
        return language(_("From: anonymous writer"))
    return language(_("From: {name}"), name=name)


async def letter_notes(
    repos: Repositories,
    letter: Letter,
    text: str,
    people: list[Reader],
    settings: Settings,
    today: date,
) -> list[Note]:
    """The letter itself for each of ``people``: heading, writer, text, then its images."""
    calendar = WorkCalendar([*settings.days_off, *settings.section(MailboxConfig).days_off])
    name = None
    if not letter.anonymous and letter.writer_id is not None:
        member = await repos.session.get(Member, letter.writer_id)
        name = member.display_name if member else None
    notes: list[Note] = []
    relay = relay_of(settings.section(MailboxConfig))
    images = [Image(mime, data) for mime, data in await repos.get(Mailbox).images(letter.id, relay)]
    for reader in people:
        language = translator(reader.locale, settings.default_locale)
        body = Markup.join(
            [
                heading(language, letter, today, calendar),
                writer_line(language, letter, name),
                Markup.literal(text),
                language(
                    _("Answer with `/reply {case} <text>`, or reply to this message."),
                    case=case(letter),
                ),
            ],
            "\n\n",
        )
        notes.append(Note(reader, body, tag=tag_of(letter)))
        notes += [
            Note(reader, language(_("Image of {case}"), case=case(letter)), image, tag_of(letter))
            for image in images
        ]
    return notes
