"""Hostile use of invite and link codes: floods of guesses, telling codes apart, huge codes,
odd button payloads and argument lists long enough to make one message cost many queries."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from sqlalchemy import event, func, select, update

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from bot.events import Chat, Incoming, Sender, parse_command
from store.clock import SYSTEM_CLOCK, ManualClock
from store.models import CodeFailure, Invite, LinkCode
from tests.support.chat import BotFactory, ask, code_in, settle

REFUSED = "is not a valid invite code"
TOO_MANY = "Too many wrong codes"


def answers_in(adapter: MemoryAdapter, chat: str, since: int = 0) -> list[str]:
    return [s.message.text.plain() for s in adapter.sent[since:] if s.address.chat_id == chat]


async def direct(adapter: MemoryAdapter, chat: str, sender: str, text: str) -> None:
    """A message in the direct chat ``chat`` claiming to come from ``sender`` (a webhook
    channel may send any sender id it likes)."""
    command = parse_command(text)
    await adapter.push(
        Incoming(
            platform=adapter.name,
            event_id=uuid.uuid4().hex,
            chat=Chat(chat, direct=True),
            sender=Sender(sender, sender),
            text=text,
            command=command[0] if command else None,
            args=command[1] if command else (),
        )
    )


async def library(bot: BranchBot, adapter: MemoryAdapter) -> str:
    """A branch and one good member code for it."""
    await ask(bot, adapter, "boss", "/branch add Library")
    return code_in(await ask(bot, adapter, "boss", "/invite Library"))


async def test_a_guess_flood_from_one_person_is_cut_off_after_five(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    good = await library(bot, adapter)
    # All at once, so most of them land in the same batch of the engine.
    await asyncio.gather(*(adapter.say("eve", f"/join GUESS{i:03d}") for i in range(300)))
    await settle(bot)
    answers = answers_in(adapter, "dm-eve")
    assert len(answers) == 300
    assert sum(REFUSED in a for a in answers) == 5
    assert sum("try again in 10 minutes" in a for a in answers) == 295
    # While blocked even the right code is not looked at; somebody else can still use it.
    assert TOO_MANY in await ask(bot, adapter, "eve", f"/join {good}")
    assert TOO_MANY in await ask(bot, adapter, "eve", f"/start {good}")
    assert TOO_MANY in await ask(bot, adapter, "eve", "/link ABCD2345")
    assert "Welcome to Library" in await ask(bot, adapter, "mei", f"/join {good}")


async def test_the_limit_also_holds_per_chat_and_inside_the_join_dialog(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await library(bot, adapter)
    # Sixty senders in one direct chat: changing the sender id does not reset the count.
    await asyncio.gather(
        *(direct(adapter, "shared", f"eve-{i}", f"/join GUESS{i:03d}") for i in range(60))
    )
    await settle(bot)
    answers = answers_in(adapter, "shared")
    assert sum(REFUSED in a for a in answers) == 5 and sum(TOO_MANY in a for a in answers) == 55
    # Typed into /join's question, codes count the same.
    await ask(bot, adapter, "max", "/join")
    for i in range(5):
        assert REFUSED in await ask(bot, adapter, "max", f"WRONG{i:03d}")
    assert TOO_MANY in await ask(bot, adapter, "max", "WRONG999")


async def test_failures_older_than_the_window_are_forgotten(make_bot: BotFactory) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    good = await library(bot, adapter)
    for i in range(5):
        await ask(bot, adapter, "eve", f"/join GUESS{i:03d}")
    assert TOO_MANY in await ask(bot, adapter, "eve", f"/join {good}")
    clock.advance(minutes=11)
    assert REFUSED in await ask(bot, adapter, "eve", "/join GUESS999")
    async with bot.db.session() as session:
        kept = await session.scalar(select(func.count()).select_from(CodeFailure))
    assert kept == 2  # the new failure, per sender and per chat; the old rows were deleted
    assert "Welcome to Library" in await ask(bot, adapter, "eve", f"/join {good}")


async def test_a_stranger_gets_one_answer_for_every_kind_of_bad_code(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    used = await library(bot, adapter)
    await ask(bot, adapter, "mei", f"/join {used}")
    await ask(bot, adapter, "boss", "/branch add Archive Of Secrets")
    withdrawn = code_in(await ask(bot, adapter, "boss", "/invite Library"))
    await ask(bot, adapter, "boss", f"/revoke {withdrawn}")
    expired = code_in(await ask(bot, adapter, "boss", "/invite Archive Of Secrets secretary"))
    async with bot.db.session() as session:
        await session.execute(
            update(Invite)
            .where(Invite.code == expired)
            .values(expires_at=SYSTEM_CLOCK.now() - timedelta(minutes=1))
        )
    shapes = set()
    for code in (used, withdrawn, expired, "NOPE2345"):
        answer = await ask(bot, adapter, "stranger", f"/join {code}")
        assert "Archive" not in answer and "Library" not in answer
        shapes.add(answer.replace(code, "<code>"))
    assert len(shapes) == 1, shapes
    # A member of Library trying another branch's spent code learns nothing more either.
    answer = await ask(bot, adapter, "mei", f"/join {expired}")
    made_up = await ask(bot, adapter, "mei", "/join NOPE2345")
    assert answer.replace(expired, "<code>") == made_up.replace("NOPE2345", "<code>")


async def test_a_member_cannot_tell_a_live_code_from_a_made_up_one(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    own = await library(bot, adapter)
    await ask(bot, adapter, "mei", f"/join {own}")
    another_own = code_in(await ask(bot, adapter, "boss", "/invite Library"))
    await ask(bot, adapter, "boss", "/branch add Archive")
    archive = code_in(await ask(bot, adapter, "boss", "/invite Archive"))
    shapes = set()
    for code in (archive, another_own, "NOPE2345"):
        answer = await ask(bot, adapter, "mei", f"/join {code}")
        assert "Archive" not in answer
        assert "/member move" in answer  # what to do, without saying whether the code works
        shapes.add(answer.replace(code, "<code>"))
    assert len(shapes) == 1, shapes
    # Each of them counted as a wrong code: two more and the guessing stops.
    await ask(bot, adapter, "mei", f"/join {archive}")
    await ask(bot, adapter, "mei", f"/join {archive}")
    assert TOO_MANY in await ask(bot, adapter, "mei", f"/join {archive}")
    assert "Welcome to Archive" in await ask(bot, adapter, "max", f"/join {archive}")


async def test_revoke_tells_a_secretary_nothing_about_other_branches_codes(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await ask(bot, adapter, "boss", "/branch add Library")
    sam = code_in(await ask(bot, adapter, "boss", "/invite Library secretary"))
    await ask(bot, adapter, "sam", f"/join {sam}")
    await ask(bot, adapter, "boss", "/branch add Archive")
    archive = code_in(await ask(bot, adapter, "boss", "/invite Archive"))
    live = await ask(bot, adapter, "sam", f"/revoke {archive}")
    made_up = await ask(bot, adapter, "sam", "/revoke ZZZZZZZZ")
    assert live.replace(archive, "<code>") == made_up.replace("ZZZZZZZZ", "<code>")
    assert "You have no invite code ZZZZZZZZ to withdraw." in made_up
    for i in range(3):
        await ask(bot, adapter, "sam", f"/revoke GUESS{i:03d}")
    assert TOO_MANY in await ask(bot, adapter, "sam", f"/revoke {archive}")
    # Nothing was withdrawn, and the limit is the one /join counts toward.
    assert TOO_MANY in await ask(bot, adapter, "sam", "/join NOPE2345")
    assert "Welcome to Archive" in await ask(bot, adapter, "mei", f"/join {archive}")
    own = code_in(await ask(bot, adapter, "boss", "/invite Library"))
    assert "is withdrawn" in await ask(bot, adapter, "boss", f"/revoke {own}")


async def test_a_huge_code_is_echoed_as_a_short_prefix(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    huge = "Q" * 5000
    for text in (f"/join {huge}", f"/start {huge}", f"/link {huge}", f"/revoke {huge}"):
        answer = await ask(bot, adapter, "boss", text)
        assert "Q" * 25 not in answer and len(answer) < 300, answer[:300]
    await ask(bot, adapter, "eve", "/join")
    answer = await ask(bot, adapter, "eve", huge)
    assert REFUSED in answer and "Q" * 25 not in answer and len(answer) < 300
    spaced = " ".join(["W"] * 5000)
    answer = await ask(bot, adapter, "eve", spaced)
    assert REFUSED in answer and len(answer) < 300


async def test_a_non_ascii_digit_payload_in_the_invite_dialog_changes_nothing(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await ask(bot, adapter, "boss", "/branch add Library")
    await ask(bot, adapter, "boss", "/branch add Archive")
    before = len(adapter.sent)
    await adapter.say("boss", "/invite")
    await settle(bot)
    asked = adapter.sent[before].message
    version = asked.choices[0][0].payload.split("|")[0]
    for step, odd in enumerate(("²", "٣", "1" * 40, "-1")):
        answer = await ask(bot, adapter, "boss", choice=f"{int(version) + step}||{odd}")
        assert "went wrong" not in answer and "earlier question" not in answer
    # Still asking for the branch: nothing was chosen.
    assert "member or a secretary" in await ask(bot, adapter, "boss", "Library")


async def test_thirty_two_thousand_words_cost_one_query_and_little_time(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await ask(bot, adapter, "boss", "/branch add Library")
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "branches" in statement:
            statements.append(statement)

    event.listen(bot.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        started = time.thread_time()  # the loop's CPU time; the other workers' load does not count
        answer = await ask(bot, adapter, "boss", "/invite " + " ".join(["a"] * 32_000))
        elapsed = time.thread_time() - started
    finally:
        event.remove(bot.db.engine.sync_engine, "before_cursor_execute", count)
    assert "There is no branch called “a a a" in answer and len(answer) < 200
    assert len(statements) == 1, statements
    assert elapsed < 2.0
    # The longest run of words that names a branch still wins, in that one query.
    assert "Invite to Library as secretary" in await ask(
        bot, adapter, "boss", "/invite library secretary"
    )


async def test_the_daily_prune_deletes_expired_link_codes_and_old_failures(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    stale = code_in(await ask(bot, adapter, "stranger", "/link"))
    live = code_in(await ask(bot, adapter, "mei", "/link"))
    await ask(bot, adapter, "eve", "/join GUESS001")
    await ask(bot, adapter, "max", "/link NOPE2345")  # a fresh failure: its rows stay
    async with bot.db.session() as session:
        await session.execute(
            update(LinkCode)
            .where(LinkCode.code == stale)
            .values(expires_at=SYSTEM_CLOCK.now() - timedelta(minutes=1))
        )
        await session.execute(
            update(CodeFailure)
            .where(CodeFailure.key.in_(["eve", "dm-eve"]))
            .values(failed_at=SYSTEM_CLOCK.now() - timedelta(minutes=11))
        )

    assert await bot.scheduler.prune_codes() == 3  # the stale code, eve's two failure rows

    async with bot.db.session() as session:
        codes = set(await session.scalars(select(LinkCode.code)))
        failures = set(await session.scalars(select(CodeFailure.key)))
    assert codes == {live}
    assert failures == {"max", "dm-max"}
    assert "Link two accounts?" in await ask(bot, adapter, "mei-phone", f"/link {live}")
