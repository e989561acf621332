"""``/survey status``: bars slowest first, a secretary's names and Nudge, an admin's nudge of a
branch's secretaries, a secretary of another branch refused; and the automatic reminders."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from bot.reminders import ReminderPolicy
from bot.timetable import QuietHours
from dialogs.appraisal.progress import bar
from dialogs.appraisal.reminders import Reminders
from dialogs.appraisal.tables import Reminded
from store.clock import ManualClock, as_utc
from store.reachability import Reachability
from tests.support.appraisal import (
    answer_all,
    button,
    closing,
    import_template,
    join,
    open_round,
    organisation,
    to,
)
from tests.support.broadcasts import plain, press, say
from tests.support.chat import BotFactory, settle

ZONE = "Asia/Shanghai"


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


# -- automatic reminders ----------------------------------------------------------------------


def reminders_to(adapter: MemoryAdapter, user: str, since: int) -> list[str]:
    return [t for t in (plain([s]) for s in to(adapter, user, since)) if "Reminder: survey" in t]


async def remind(bot: BranchBot, clock: ManualClock, hours: float) -> None:
    clock.advance(hours=hours)
    await bot.worker(Reminders).tick()
    await settle(bot)


async def reminding_bot(
    make_bot: BotFactory, quiet: str = "", closes_in: int = 7
) -> tuple[BranchBot, MemoryAdapter, ManualClock]:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    worker = bot.worker(Reminders)
    worker.policy = dataclasses.replace(worker.policy, quiet_hours=QuietHours.parse(quiet))
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter, branches="Main", closes=closing(closes_in))
    return bot, adapter, clock


async def test_reminders_at_the_interval_until_the_maximum_and_not_after_submitting(
    make_bot: BotFactory,
) -> None:
    bot, adapter, clock = await reminding_bot(make_bot)
    await submit(bot, adapter, "mei")
    start = len(adapter.sent)
    await remind(bot, clock, 23)
    assert len(adapter.sent) == start, "the interval has not passed yet"
    await remind(bot, clock, 2)
    for name in ("sam", "kai", "lin"):
        assert len(reminders_to(adapter, name, start)) == 1, name
    assert "open until" in reminders_to(adapter, "kai", start)[0]
    assert button(to(adapter, "kai", start), "Start") == "survey:1"
    assert not to(adapter, "mei", start), "mei has submitted"
    assert not [s for s in adapter.sent[start:] if not s.address.direct]
    await submit(bot, adapter, "kai")
    second = len(adapter.sent)
    await remind(bot, clock, 1)
    assert len(adapter.sent) == second, "an interval after the first reminder"
    await remind(bot, clock, 24)
    assert reminders_to(adapter, "sam", second) and reminders_to(adapter, "lin", second)
    assert not to(adapter, "kai", second), "kai has submitted"
    third = len(adapter.sent)
    await remind(bot, clock, 25)
    assert len(adapter.sent) == third, "reminder_max is 2"
    async with bot.db.session() as session:
        kept = {r.member_id for r in await session.scalars(select(Reminded))}
    assert len(kept) == 2, "the reminder rows of those who submitted are gone"


async def test_no_reminders_in_quiet_hours(make_bot: BotFactory) -> None:
    bot, adapter, clock = await reminding_bot(make_bot, quiet="00:00-23:59")
    start = len(adapter.sent)
    await remind(bot, clock, 25)
    assert not reminders_to(adapter, "kai", start)
    worker = bot.worker(Reminders)
    worker.policy = dataclasses.replace(worker.policy, quiet_hours=QuietHours())
    await remind(bot, clock, 0)
    assert len(reminders_to(adapter, "kai", start)) == 1


async def test_the_closing_is_announced_the_day_before_once(make_bot: BotFactory) -> None:
    bot, adapter, clock = await reminding_bot(make_bot, closes_in=3)
    worker = bot.worker(Reminders)
    worker.policy = dataclasses.replace(worker.policy, reminder_max=0)
    await submit(bot, adapter, "mei")
    start = len(adapter.sent)
    await remind(bot, clock, 24)
    assert len(adapter.sent) == start, "no reminders (reminder_max 0), not the day before yet"
    clock.set(as_utc(datetime.fromisoformat(closing(3)).replace(tzinfo=ZoneInfo(ZONE))))
    await remind(bot, clock, -23)
    for name in ("sam", "kai", "lin"):
        texts = [plain([s]) for s in to(adapter, name, start)]
        assert len(texts) == 1 and "closes" in texts[0] and "in less than a day" in texts[0]
    assert not to(adapter, "mei", start)
    rooms = [s for s in adapter.sent[start:] if s.address.chat_id == "room-main"]
    assert len(rooms) == 1 and "Survey R1, Branch appraisal, closes" in plain(rooms)
    assert not [s for s in adapter.sent[start:] if s.address.chat_id == "room-north"]
    again = len(adapter.sent)
    await remind(bot, clock, 1)
    await remind(bot, clock, 1)
    assert len(adapter.sent) == again, "announced once"


async def test_a_short_round_is_not_announced(make_bot: BotFactory) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    bot.worker(Reminders).policy = ReminderPolicy(quiet_hours=QuietHours())
    await organisation(bot, adapter)
    await import_template(bot)
    local = (clock.now() + timedelta(hours=5)).astimezone(ZoneInfo(ZONE))
    await open_round(bot, adapter, branches="Main", closes=f"{local:%Y-%m-%d %H:%M}")
    start = len(adapter.sent)
    await remind(bot, clock, 1)
    assert len(adapter.sent) == start, "the invitation said when it closes"


async def test_a_nudge_puts_the_next_reminder_an_interval_later(make_bot: BotFactory) -> None:
    bot, adapter, clock = await reminding_bot(make_bot)
    clock.advance(hours=20)
    await press(bot, adapter, "sam", "survey-nudge:1:1")
    start = len(adapter.sent)
    await remind(bot, clock, 5)
    assert not reminders_to(adapter, "kai", start), "nudged 5 hours ago"
    await remind(bot, clock, 20)
    assert len(reminders_to(adapter, "kai", start)) == 1
    await remind(bot, clock, 25)
    await remind(bot, clock, 25)
    assert len(reminders_to(adapter, "kai", start)) == 2, "the nudge is not counted in the maximum"


async def test_a_long_list_of_names_is_cut(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    for number in range(30):
        await join(bot, adapter, f"late{number:02}")
    await open_round(bot, adapter, branches="Main")
    text = plain(await say(bot, adapter, "sam", "/survey status R1"))
    assert "0/34" in text and text.count("• ") == 30 and "… and 4 more." in text
