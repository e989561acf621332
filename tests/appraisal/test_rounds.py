"""Rounds: ``/survey open`` guided to the end (invitations, room notices, the unreachable named
with their reason), closing dates refused, ``/surveys``, ``/survey close``, and who may run
every survey command."""

from __future__ import annotations

from sqlalchemy import func, select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from bot.messages import Capabilities
from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.tables import SurveyRound
from store.reachability import Reachability
from store.repos import Repositories
from tests.support.appraisal import (
    button,
    closing,
    import_template,
    invitations_out,
    open_round,
    organisation,
    to,
)
from tests.support.broadcasts import plain, press, say
from tests.support.chat import BotFactory, ask


async def rounds(bot: BranchBot) -> int:
    async with bot.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(SurveyRound)) or 0)


async def test_opening_invites_the_members_and_tells_the_rooms(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    before = len(adapter.sent)
    report = plain(await open_round(bot, adapter, branches="Main"))
    assert "Survey R1 is open until" in report
    assert "4 members are invited." in report and "A notice went to 1 room." in report
    assert "`/survey close R1` ends it early." not in report  # the markup is rendered
    assert "/survey close R1 ends it early." in report
    for name in ("sam", "mei", "kai", "lin"):
        invitation = to(adapter, name, before)
        assert len(invitation) == 1, name
        assert "You are invited to answer survey R1" in plain(invitation)
        assert button(invitation, "Start") == "survey:1"
    assert not to(adapter, "nia", before) and not to(adapter, "ned", before)
    rooms = [s for s in adapter.sent[before:] if s.address.chat_id == "room-main"]
    assert len(rooms) == 1 and "Survey R1, Branch appraisal, is open until" in plain(rooms)
    assert not [s for s in adapter.sent[before:] if s.address.chat_id == "room-north"]


async def test_all_branches_and_the_unreachable_named_with_the_reason(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    async with bot.db.session() as session:
        await Reachability(session).set_many("memory", [((True, "ned"), "blocked: by the user")])
    report = plain(await open_round(bot, adapter, branches="All branches"))
    assert "6 members are invited." in report and "A notice went to 2 rooms." in report
    assert "Not reachable in a direct chat:" in report
    assert "• Ned: has blocked the bot or closed their account" in report


async def test_a_secretary_of_one_branch_is_not_asked_which(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    answers = await say(bot, adapter, "nia", "/survey open")
    answers = await press(bot, adapter, "nia", button(answers, "Branch appraisal"))
    assert "Until when may members answer?" in plain(answers)
    answers = await say(bot, adapter, "nia", closing())
    assert "Branches: North." in plain(answers)
    report = plain(await press(bot, adapter, "nia", button(answers, "Open it")))
    report += plain(await invitations_out(bot, adapter))
    assert "2 members are invited." in report
    async with bot.db.session() as session:
        row = await Repositories(session).get(Appraisal).round(1)
    assert row is not None and len(row.branch_ids) == 1


async def test_closing_dates_in_the_past_or_unreadable_are_refused(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    answers = await say(bot, adapter, "boss", "/survey open")
    await press(bot, adapter, "boss", button(answers, "Branch appraisal"))
    await say(bot, adapter, "boss", "Main")
    assert "That moment has already passed (Asia/Shanghai time)." in plain(
        await say(bot, adapter, "boss", "2020-01-01 09:00")
    )
    assert "I can't read that date." in plain(await say(bot, adapter, "boss", "soon"))
    assert "I can't read that date." in plain(await say(bot, adapter, "boss", "daily 09:00"))
    answers = await say(bot, adapter, "boss", closing())
    assert "Cancelled. No survey was opened." in plain(
        await press(bot, adapter, "boss", button(answers, "Cancel"))
    )
    assert await rounds(bot) == 0


async def test_no_templates_yet(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    assert "There are no survey templates yet." in await ask(bot, adapter, "boss", "/survey open")


async def test_surveys_lists_the_rounds_of_ones_branches(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    assert "There are no survey rounds yet." in await ask(bot, adapter, "mei", "/surveys")
    await open_round(bot, adapter, branches="Main")
    listed = await ask(bot, adapter, "mei", "/surveys")
    assert "Open:" in listed and "• R1 Branch appraisal, until" in listed
    assert "There are no survey rounds yet." in await ask(bot, adapter, "ned", "/surveys")
    assert "R1" in await ask(bot, adapter, "boss", "/surveys")
    await ask(bot, adapter, "boss", "/survey close R1")
    listed = await ask(bot, adapter, "kai", "/surveys")
    assert "Closed:" in listed and "R1" in listed and "Open:" not in listed


async def test_who_may_run_each_survey_command(make_bot: BotFactory) -> None:
    """The authorization matrix: a member cannot open or close, a secretary of another branch
    is told there is no such round and nothing changes, a secretary who did not open the round
    cannot close it, whoever opened it and admins can; answering is for members."""
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    only_secretaries = "Only branch secretaries and admins can use /survey open."
    assert only_secretaries in await ask(bot, adapter, "mei", "/survey open")
    assert only_secretaries in await ask(bot, adapter, "stranger", "/survey open")
    assert "Please send /survey open to me in a direct chat" in await ask(
        bot, adapter, "sam", "/survey open", chat="room-main"
    )
    await open_round(bot, adapter, user="boss", branches="Main")
    assert "Only branch secretaries and admins can use /survey close." in await ask(
        bot, adapter, "mei", "/survey close R1"
    )
    assert "There is no survey R1." in await ask(bot, adapter, "nia", "/survey close R1")
    assert "Only whoever opened survey R1 and admins can close it." in await ask(
        bot, adapter, "sam", "/survey close R1"
    )
    assert "Only members of a branch can use /surveys." in await ask(
        bot, adapter, "stranger", "/surveys"
    )
    assert "Only members of a branch can use /survey answer." in await ask(
        bot, adapter, "stranger", "/survey answer R1"
    )
    assert "N1 is a notice number; this needs a round number" in await ask(
        bot, adapter, "mei", "/survey answer N1"
    )
    async with bot.db.session() as session:
        row = await Repositories(session).get(Appraisal).round(1)
    assert row is not None and row.closed_at is None
    assert "Survey R1 is closed" in await ask(bot, adapter, "boss", "/survey close R1")
    assert "Survey R1 is already closed." in await ask(bot, adapter, "boss", "/survey close 1")
    assert "There is no survey R9." in await ask(bot, adapter, "boss", "/survey close R9")


async def test_the_secretary_who_opened_a_round_closes_it(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter, user="sam")
    assert "There is no survey R1." in await ask(bot, adapter, "nia", "/survey close R1")
    assert "Survey R1 is closed" in await ask(bot, adapter, "sam", "/survey close R1")


async def test_privacy_says_what_is_stored_and_the_k_rule(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(appraisal={"k": 7})
    answer = await ask(bot, adapter, "stranger", "/privacy")
    assert "Your privacy in surveys" in answer
    assert "shuffled batches of at least 7 submissions" in answer
    assert "only when at least 7 people answered" in answer


async def test_a_round_on_a_platform_without_buttons_says_how_to_start(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot(MemoryAdapter(capabilities=Capabilities(buttons=False)))
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    invitation = plain(to(adapter, "kai"))
    assert "send /survey answer R1" in invitation and "1. Start" in invitation
