"""``/survey status``: bars slowest first, a secretary's names and Nudge, an admin's nudge of a
branch's secretaries, a secretary of another branch refused; and the automatic reminders."""

from __future__ import annotations

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from dialogs.appraisal.progress import bar
from store.reachability import Reachability
from tests.support.appraisal import (
    answer_all,
    button,
    import_template,
    open_round,
    organisation,
    to,
)
from tests.support.broadcasts import plain, press, say
from tests.support.chat import BotFactory


async def submit(bot: BranchBot, adapter: MemoryAdapter, user: str, graded: int = 3) -> None:
    answers = await answer_all(bot, adapter, user, graded=graded)
    assert "are submitted" in plain(await press(bot, adapter, user, button(answers, "Submit")))


def test_the_bar() -> None:
    assert bar(4, 10) == "▓▓▓▓░░░░░░ 4/10"
    assert bar(0, 3) == "░░░░░░░░░░ 0/3"
    assert bar(2, 3) == "▓▓▓▓▓▓░░░░ 2/3"
    assert bar(3, 3) == "▓▓▓▓▓▓▓▓▓▓ 3/3"
    assert bar(0, 0) == "░░░░░░░░░░ 0/0"


async def test_an_admin_sees_every_branch_slowest_first(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter, branches="All branches")
    await submit(bot, adapter, "mei")
    await submit(bot, adapter, "ned", graded=1)
    answers = await say(bot, adapter, "boss", "/survey status R1")
    text = plain(answers)
    assert "Survey R1: 2 of 6 have submitted; open until" in text
    assert text.index("Main  ▓▓░░░░░░░░ 1/4") < text.index("North  ▓▓▓▓▓░░░░░ 1/2")
    assert "Mei" not in text and "Kai" not in text  # an admin sees counts, not names
    assert button(answers, "Nudge the secretaries of Main") == "survey-nudge:1:1"
    assert button(answers, "Nudge the secretaries of North") == "survey-nudge:1:2"
    for name in ("sam", "mei", "kai", "lin", "nia", "ned"):
        assert "Competent" not in plain(to(adapter, name, len(adapter.sent) - 1))
    before = len(adapter.sent)
    report = plain(await press(bot, adapter, "boss", "survey-nudge:1:1"))
    assert "1 secretary of Main is asked to follow up survey R1." in report
    told = plain(to(adapter, "sam", before))
    assert "Survey R1: 1 of 4 in Main have submitted." in told
    assert "/survey status R1 shows who has not" in told
    assert not to(adapter, "kai", before) and not to(adapter, "nia", before)


async def test_a_secretary_sees_who_has_not_submitted_and_nudges_them(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter, branches="All branches")
    await submit(bot, adapter, "mei")
    async with bot.db.session() as session:
        await Reachability(session).set_many("memory", [((True, "lin"), "blocked: by the user")])
    answers = await say(bot, adapter, "sam", "/survey status R1")
    text = plain(answers)
    assert "Survey R1: 1 of 4 have submitted" in text
    assert "Main  ▓▓░░░░░░░░ 1/4" in text and "North" not in text
    assert "Not submitted yet in Main:" in text
    assert "• Kai" in text and "• Sam" in text and "• Mei" not in text
    assert "• Lin: has blocked the bot or closed their account" in text
    assert button(answers, "Nudge Main") == "survey-nudge:1:1"
    before = len(adapter.sent)
    report = plain(await press(bot, adapter, "sam", "survey-nudge:1:1"))
    assert "2 members of Main are reminded of survey R1." in report
    assert "Not reachable in a direct chat:" in report and "• Lin: has blocked" in report
    reminded = to(adapter, "kai", before)
    assert "Reminder: survey R1, Branch appraisal, is open until" in plain(reminded)
    assert button(reminded, "Start") == "survey:1"
    assert to(adapter, "sam", before) and not to(adapter, "mei", before)
    assert not to(adapter, "lin", before) and not to(adapter, "ned", before)


async def test_a_secretary_of_another_branch_is_refused(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter, branches="Main")
    before = len(adapter.sent)
    assert "There is no survey R1." in plain(await say(bot, adapter, "nia", "/survey status R1"))
    assert "There is no survey R1." in plain(await press(bot, adapter, "nia", "survey-nudge:1:1"))
    assert len(adapter.sent) == before + 2  # the two refusals, nothing else
    assert "There is no survey R1." in plain(await press(bot, adapter, "mei", "survey-nudge:1:1"))
    assert "There is no survey R7." in plain(await say(bot, adapter, "boss", "/survey status R7"))


async def test_a_closed_round_shows_its_counts_without_nudges(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter, branches="Main")
    await submit(bot, adapter, "mei")
    await say(bot, adapter, "boss", "/survey close R1")
    answers = await say(bot, adapter, "sam", "/survey status R1")
    assert "Survey R1: 1 of 4 submitted; closed" in plain(answers)
    assert not [c for s in answers for row in s.message.choices for c in row]
    closed = plain(await press(bot, adapter, "sam", "survey-nudge:1:1"))
    assert "Survey R1 is closed: it takes no more answers." in closed
