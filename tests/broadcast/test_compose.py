"""``/broadcast`` through the memory adapter: the preview's own buttons, typed button labels,
the summary before Send, the examples of the schedule step and the numbers in the replies."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.app import BranchBot
from store.broadcast_tables import Broadcast, BroadcastSchedule
from store.clock import SYSTEM_CLOCK, ManualClock
from tests.support.broadcasts import (
    button,
    finished,
    organisation,
    plain,
    press,
    say,
    to_preview,
)
from tests.support.chat import BotFactory


async def broadcasts(bot: BranchBot) -> int:
    async with bot.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Broadcast)) or 0)


async def test_pressing_the_previews_received_button_leaves_send_working(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    preview = await to_preview(bot, adapter)
    answer = plain(await press(bot, adapter, "sam", button(preview, "Received")))
    assert "only the preview" in answer
    sent = plain(await press(bot, adapter, "sam", button(preview, "Send")))
    assert "earlier question" not in sent and "is on its way" in sent
    assert await broadcasts(bot) == 1


async def test_the_button_labels_can_be_typed_in_any_case(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await to_preview(bot, adapter)
    assert "Cancelled" in plain(await say(bot, adapter, "sam", "cancel"))
    assert await broadcasts(bot) == 0
    await say(bot, adapter, "sam", "/broadcast")
    await say(bot, adapter, "sam", "Branch meeting Friday")
    for label in ("both", "NOTICE", "Yes, ask for “received”", "send now"):
        await say(bot, adapter, "sam", label)
    assert "is on its way" in plain(await say(bot, adapter, "sam", "SEND"))
    assert await broadcasts(bot) == 1


async def test_the_summary_names_the_branches_and_where_in_words(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    summary = plain(await to_preview(bot, adapter))
    assert "Goes to: Main, in the branch rooms and members' direct chats. When: now." in summary
    await say(bot, adapter, "boss", "/branch add Science")
    await say(bot, adapter, "boss", "/broadcast")
    answers = await say(bot, adapter, "boss", "Closed on Monday")
    for label in ("All branches", "Branch rooms", "Notice", "No", "Send now"):
        answers = await press(bot, adapter, "boss", button(answers, label))
    assert "Goes to: all branches (2), in the branch rooms." in plain(answers)
    await say(bot, adapter, "boss", "/cancel")
    await say(bot, adapter, "boss", "/broadcast")
    await say(bot, adapter, "boss", "Closed on Monday")
    answers = await say(bot, adapter, "boss", "Science, Main")
    for label in ("Members", "Notice", "No", "Send now"):
        answers = await press(bot, adapter, "boss", button(answers, label))
    assert "Goes to: Main, Science, in members' direct chats." in plain(answers)


async def test_the_schedule_examples_lie_in_the_future(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    tomorrow = SYSTEM_CLOCK.now().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
    example = f"{tomorrow:%Y-%m-%d} 09:00"
    prompt = await to_preview(bot, adapter, steps=("Both", "Notice", "No", "Later"))
    assert f"time: {example} once" in plain(prompt)
    unread = plain(await say(bot, adapter, "sam", "sometime soon"))
    assert "can't read" in unread and example in unread
    answers = await say(bot, adapter, "sam", example)
    assert f"When: {example} (China Time)." in plain(answers)


async def test_a_cron_rule_that_never_fires_is_refused(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await to_preview(bot, adapter, steps=("Both", "Notice", "No", "Later"))
    refused = plain(await say(bot, adapter, "sam", "cron 0 0 31 4,6,9,11 *"))
    assert "no date in the next five years" in refused
    assert "Send it?" in plain(await say(bot, adapter, "sam", "cron 0 0 31 1 *"))


async def test_notices_and_schedules_have_numbers_of_their_own_kind(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    preview = await to_preview(bot, adapter)
    sent = plain(await press(bot, adapter, "sam", button(preview, "Send")))
    async with bot.db.session() as session:
        notice = int(await session.scalar(select(func.max(Broadcast.id))) or 0)
    assert f"Notice N{notice} is on its way" in sent
    await finished(bot, notice)
    preview = await to_preview(bot, adapter, steps=("Both", "Notice", "No", "Later"))
    await say(bot, adapter, "sam", "daily 08:30")
    scheduled = plain(await say(bot, adapter, "sam", "send"))
    async with bot.db.session() as session:
        schedule = await session.scalar(
            select(func.max(BroadcastSchedule.id)).where(BroadcastSchedule.kind == "broadcast")
        )
    assert f"Scheduled as S{schedule}: daily at 08:30 (China Time)." in scheduled
    assert f"/unschedule S{schedule} stops it" in scheduled
    listing = plain(await say(bot, adapter, "sam", "/schedules"))
    assert f"S{schedule} — daily at 08:30, next " in listing
    for typed in (f"N{notice}", f"n{notice}", f"#{notice}", f"#N{notice}", str(notice)):
        assert "Received, N" in plain(await say(bot, adapter, "sam", f"/acks {typed}"))
    wrong = plain(await say(bot, adapter, "sam", f"/acks S{schedule}"))
    assert f"S{schedule} is a schedule number; this needs a notice number, like N2" in wrong
    assert "“abc” is not a notice number: write it like N2" in plain(
        await say(bot, adapter, "sam", "/acks abc")
    )
    assert "is a notice number" in plain(await say(bot, adapter, "sam", f"/unschedule N{notice}"))
    assert f"Schedule S{schedule} is stopped" in plain(
        await say(bot, adapter, "sam", f"/unschedule #s{schedule}")
    )
    again = plain(await say(bot, adapter, "sam", f"/unschedule S{schedule}"))
    stopped = SYSTEM_CLOCK.now().astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"Schedule S{schedule} was already stopped on {stopped:%Y-%m-%d}" in again
    assert "You have no schedule S999" in plain(await say(bot, adapter, "sam", "/unschedule 999"))


async def test_a_moment_that_passes_during_the_preview_asks_for_another_time(
    make_bot: BotFactory,
) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    await organisation(bot, adapter)
    await to_preview(bot, adapter, steps=("Both", "Notice", "No", "Later"))
    # Shanghai is UTC+8: nine hours from now in UTC is an hour from now there.
    soon = (clock.now() + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M")
    preview = await say(bot, adapter, "sam", soon)
    clock.advance(hours=2)  # the author leaves the preview open past the moment
    refused = plain(await press(bot, adapter, "sam", button(preview, "Send")))
    assert refused == (
        "That moment has already passed (Asia/Shanghai time). Type a time in the future, "
        "or /cancel."
    )
    assert "Send it?" in plain(await say(bot, adapter, "sam", "daily 08:30"))
    assert await broadcasts(bot) == 0
