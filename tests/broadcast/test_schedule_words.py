"""A schedule is shown in the reader's words, never as the English command syntax it is
stored in (``at 2026-12-03 09:00`` inside a Chinese reply)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.markup import Code
from dialogs.broadcast.schedule_words import schedule_words
from store.broadcasts import Broadcasts
from store.clock import SYSTEM_CLOCK
from store.repos import Repositories
from tests.support.broadcasts import TEMPLATE, organisation, plain, say, to_preview
from tests.support.chat import BotFactory

ZONE = "Asia/Shanghai"
ZH = Translator("zh_Hans")
EN = Translator("en")
LATER = ("两者都发", "通知", "不需要", "定时或重复")


async def test_a_one_off_is_shown_as_a_chinese_moment_everywhere(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(default_locale="zh_Hans")
    await organisation(bot, adapter)
    day = (SYSTEM_CLOCK.now().astimezone(ZoneInfo(ZONE)) + timedelta(days=2)).date()
    shown = f"{day.year}年{day.month}月{day.day}日 09:00"
    await to_preview(bot, adapter, steps=LATER)
    preview = plain(await say(bot, adapter, "sam", f"{day:%Y-%m-%d} 09:00"))
    assert f"时间：{shown}（中国时间）。确认发送吗？" in preview, preview
    scheduled = plain(await say(bot, adapter, "sam", "发送"))
    assert f"：{shown}（中国时间）。" in scheduled and "at " not in scheduled, scheduled
    await to_preview(bot, adapter, steps=LATER)
    assert "时间：每周一 09:00（中国时间）。" in plain(
        await say(bot, adapter, "sam", "weekly mon 09:00")
    )
    await say(bot, adapter, "sam", "发送")
    listing = plain(await say(bot, adapter, "sam", "/schedules"))
    assert f" — {shown}，下次" in listing and " — 每周一 09:00，下次" in listing, listing
    assert "at " not in listing and "weekly" not in listing, listing
    assert listing.startswith("定时通知（中国时间）"), listing


def test_every_kind_of_schedule_in_both_languages() -> None:
    expected = {
        "daily 08:30": ("每天 08:30", "daily at 08:30"),
        "weekdays 08:30": ("工作日 08:30", "working days at 08:30"),
        "weekly mon 09:00": ("每周一 09:00", "every Monday at 09:00"),
        "monthly 1 09:00": ("每月1日 09:00", "monthly on day 1 at 09:00"),
        "at 2026-12-03 09:00": ("2026年12月3日 09:00", "2026-12-03 09:00"),
        "cron 0 9 * * 1": ("cron 0 9 * * 1", "cron 0 9 * * 1"),
    }
    for spec, (zh, en) in expected.items():
        assert schedule_words(ZH, spec, ZONE, named=False).plain() == zh
        assert schedule_words(EN, spec, ZONE, named=False).plain() == en
    assert schedule_words(ZH, "daily 08:30", ZONE).plain() == "每天 08:30（中国时间）"
    assert schedule_words(EN, "daily 08:30", ZONE).plain() == "daily at 08:30 (China Time)"
    assert schedule_words(ZH, "at 2026-12-03 09:00", ZONE).plain() == (
        "2026年12月3日 09:00（中国时间）"
    )
    cron = schedule_words(ZH, "cron 0 9 * * 1", ZONE)
    assert Code("cron 0 9 * * 1") in cron.nodes, cron


async def test_a_long_notice_in_the_list_is_marked_as_cut(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    long = "A notice whose first line is much longer than forty characters"
    async with bot.db.session() as session:
        for text in (long, "Short"):
            await (
                Repositories(session)
                .get(Broadcasts)
                .add_schedule(
                    kind="broadcast",
                    spec="daily 08:30",
                    cron="30 8 * * *",
                    template={**TEMPLATE, "text": [["t", text]]},
                    created_by=None,
                    branch_ids={"all": True},
                )
            )
    listing = plain(await say(bot, adapter, "boss", "/schedules"))
    assert ": A notice whose first line is much longe…\n" in listing, listing
    assert listing.endswith(": Short") or ": Short\n" in listing, listing
