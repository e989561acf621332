"""Group robots (docs/robots/): each kind's format, signing, limits and error answers against
a fake of its platform, and a 200-notice broadcast to five robots of different kinds with no
limit broken, folded where a robot's budget needs it, nothing lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.robots import PRESETS, dingtalk, feishu, mattermost, slack, wecom
from adapters.robots.base import GROUP, Pace, RobotChannel, cut
from bot.app import configure
from bot.cli import main
from bot.config import ConfigError
from bot.delivery import degrade
from bot.markup import Markup
from bot.messages import (
    Address,
    Capabilities,
    Choice,
    Outgoing,
    Refusal,
    RetryLater,
    TransientError,
    Unreachable,
)
from bot.outbox import Row, enqueue, payload
from store.broadcast_tables import Broadcast
from store.broadcasts import Broadcasts
from store.repos import Repositories
from store.runtime import OUTBOX
from tests.support.chat import settle
from tests.support.robots import (
    DEEP_LINK,
    KEYS,
    KINDS,
    FakeRobot,
    held,
    robot_config,
    robots_bot,
    serving,
    until_accepted,
    until_refused,
)

LINK = Choice("Open the board", "", "https://bot.example.org/board")


async def post(bot: Any, platform: str, message: Outgoing, *, fold: bool = False) -> None:
    """Queue ``message`` for the robot's group, as a handler would."""
    async with bot.db.session() as session:
        queued = await enqueue(
            Repositories(session),
            [Row(Address(platform, GROUP), payload(message, "en", fold=fold))],
        )
    bot.deliveries[platform].enqueue(queued)


async def statuses(bot: Any, platform: str) -> list[str]:
    async with bot.db.session() as session:
        query = select(OUTBOX.c.status).where(OUTBOX.c.platform == platform).order_by(OUTBOX.c.id)
        return list(await session.scalars(query))


def test_presets_carry_the_platforms_documented_figures() -> None:
    """The real rules, as the platforms document them (see each module's docstring)."""
    assert (wecom.PRESET.max_bytes, wecom.PRESET.messages_per_minute) == (4096, 20)
    assert dingtalk.PLATFORM_PER_MINUTE == 20 and dingtalk.PRESET.messages_per_minute == 18
    assert dingtalk.BLOCKED_FOR == 600
    assert (feishu.PRESET.messages_per_minute, feishu.PRESET.messages_per_second) == (100, 5)
    assert feishu.MAX_BODY == 20 * 1024 and feishu.MAX_TEXT < feishu.MAX_BODY
    assert slack.PRESET.messages_per_second == 1 and slack.MAX_TEXT == 4000
    assert mattermost.MAX_TEXT == 16383
    for preset in PRESETS.values():
        assert preset.max_text_length * (3 if preset.size is not len else 1) <= preset.max_bytes
    assert sorted(PRESETS) == sorted(KINDS)


def test_text_is_cut_by_utf8_bytes_never_inside_a_character() -> None:
    text = "党支部通知" * 1000  # 15,000 bytes on one line
    pieces = cut(text, 4096)
    assert all(len(p.encode()) <= 4096 for p in pieces)
    assert "".join(pieces) == text
    lines = "\n".join(f"第{i}行：学习安排" for i in range(600))
    pieces = cut(lines, 2048)
    assert all(len(p.encode()) <= 2048 for p in pieces)
    assert "\n".join(pieces) == lines, "cut at line breaks, nothing lost"


@pytest.mark.parametrize(
    ("module", "status", "body", "outcome"),
    [
        (wecom, 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, RetryLater),
        (wecom, 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, TransientError),
        (
            wecom,
            200,
            {"errcode": 40058, "errmsg": "markdown.content exceed max length"},
            Refusal.REFUSED,
        ),
        (dingtalk, 200, {"errcode": 130101, "errmsg": "send too fast"}, RetryLater),
        (dingtalk, 200, {"errcode": 310000, "errmsg": "sign not match"}, TransientError),
        (dingtalk, 200, {"errcode": 300001, "errmsg": "token is not exist"}, TransientError),
        (dingtalk, 200, {"errcode": 400013, "errmsg": "群已被解散"}, Refusal.GONE),
        (dingtalk, 200, {"errcode": 430101, "errmsg": "含有不安全的外链"}, Refusal.REFUSED),
        (feishu, 200, {"code": 11232, "msg": "frequency limited psm"}, RetryLater),
        (feishu, 200, {"code": 9499, "msg": "too many request"}, RetryLater),
        (feishu, 400, {"code": 9499, "msg": "Bad Request"}, Refusal.REFUSED),
        (feishu, 200, {"code": 19021, "msg": "sign match fail"}, TransientError),
        (feishu, 200, {"code": 19024, "msg": "Key Words Not Found"}, TransientError),
        (slack, 429, "rate_limited", RetryLater),
        (slack, 404, "no_service", TransientError),
        (slack, 403, "action_prohibited", TransientError),
        (slack, 410, "channel_is_archived", Refusal.GONE),
        (slack, 400, "invalid_payload", Refusal.REFUSED),
        (slack, 500, "rollup_error", TransientError),
        (mattermost, 429, "limit exceeded", RetryLater),
        (mattermost, 501, {"id": "web.incoming_webhook.disabled.app_error"}, TransientError),
        (mattermost, 400, {"id": "web.incoming_webhook.invalid.app_error"}, TransientError),
        (mattermost, 400, {"id": "model.post.is_valid.msg.app_error"}, Refusal.REFUSED),
        (mattermost, 503, "down", TransientError),
    ],
)
def test_each_platforms_answers_map_to_the_delivery_contract(
    module: Any, status: int, body: Any, outcome: Any
) -> None:
    raw = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
    headers = {"Retry-After": "1", "X-RateLimit-Reset": "1"}
    if isinstance(outcome, Refusal):
        with pytest.raises(Unreachable) as refused:
            module.PRESET.judge(status, headers, raw)
        assert refused.value.reason is outcome
    else:
        with pytest.raises(outcome):
            module.PRESET.judge(status, headers, raw)
    ok = b'{"errcode": 0, "errmsg": "ok"}' if module in (wecom, dingtalk) else b'{"code": 0}'
    module.PRESET.judge(200, {}, ok if module not in (slack, mattermost) else b"ok")


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_posts_its_own_format_signed_as_the_platform_checks(
    database_url: str, kind: str
) -> None:
    fake = FakeRobot.of(kind)
    message = Outgoing(
        Markup.format("**Meeting notice**\n学习《党章》 at {place}", place="Room *3*"), ((LINK,),)
    )
    async with serving(fake), robots_bot(database_url, [robot_config(fake, "main")]) as (bot, _):
        await post(bot, f"{kind}:main", message)
        await until_accepted(fake, 1)
        await settle(bot)
        assert await statuses(bot, f"{kind}:main") == ["sent"]
    assert fake.refused == [] and fake.violations == []
    [body] = fake.accepted
    text = fake.texts[0]
    assert "学习《党章》" in text and "Room" in text and "https://bot.example.org/board" in text
    shape: dict[str, Callable[[], bool]] = {
        "wecom": lambda: body["msgtype"] == "markdown" and "**Meeting notice**" in text,
        "dingtalk": lambda: (
            body["msgtype"] == "actionCard"
            and body["actionCard"]["title"] == "Meeting notice"
            and "**Meeting notice**" in body["actionCard"]["text"]
            and (body["actionCard"]["singleTitle"], body["actionCard"]["singleURL"])
            == ("Open the board", LINK.url)
        ),
        "feishu": lambda: (
            body["msg_type"] == "interactive"
            and "sign" in body
            and {"tag": "button", "text": {"tag": "plain_text", "content": "Open the board"}}
            | {"url": LINK.url}
            in [a for e in body["card"]["elements"] if e["tag"] == "action" for a in e["actions"]]
        ),
        "slack": lambda: "*Meeting notice*" in text and "<https://bot.example.org/board|" in text,
        "mattermost": lambda: "**Meeting notice**" in text and r"Room \*3\*" in text,
    }
    assert shape[kind](), body


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
async def test_a_wrong_signing_secret_is_retried_never_dropped(
    database_url: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeRobot.of(kind)
    async with (
        serving(fake),
        robots_bot(
            database_url, [robot_config(fake, "main") | {"secret": "not-the-robots-secret"}]
        ) as (bot, _),
    ):
        await post(bot, f"{kind}:main", Outgoing(Markup.literal("hello")))
        await until_refused(fake)
        assert await statuses(bot, f"{kind}:main") == ["pending"]
    assert "misconfigured" in caplog.text and KEYS[kind] not in caplog.text, "never the key"
    assert fake.refused[0] == "sign" and fake.accepted == []


async def test_a_long_chinese_text_goes_in_parts_within_wecoms_bytes(database_url: str) -> None:
    fake = FakeRobot.of("wecom")
    text = "\n".join(f"第{i}条：请各支部于本周五前完成学习并在群里报告。" for i in range(300))
    async with serving(fake), robots_bot(database_url, [robot_config(fake, "main")]) as (bot, _):
        await post(bot, "wecom:main", Outgoing(Markup.literal(text)))
        await until_accepted(fake, 1)
        await settle(bot)
    assert fake.violations == [] and len(fake.accepted) >= 4
    assert all(len(t.encode()) <= 4096 for t in fake.texts)
    assert "\n".join(fake.texts) == text


async def test_a_failed_part_is_sent_again_without_the_parts_before_it(
    database_url: str,
) -> None:
    fake = FakeRobot.of("wecom")
    fake.plan = [None, (200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    text = "\n".join(f"第{i}条：请各支部于本周五前完成学习。" for i in range(300))
    async with serving(fake), robots_bot(database_url, [robot_config(fake, "main")]) as (bot, _):
        await post(bot, "wecom:main", Outgoing(Markup.literal(text)))
        await settle(bot, 30)
    assert "\n".join(fake.texts) == text, "each part once, in order"


def test_robot_urls_are_checked_per_kind_and_never_echoed() -> None:
    good = {
        "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-SECRETKEY",
        "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token=SECRETKEY0",
        "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/SECRETKEY-1",
        "slack": "https://hooks.slack.com/services/T0/B0/SECRETKEY2",
        "mattermost": "https://chat.example.org/hooks/SECRETKEY3",
    }
    for kind, url in good.items():
        config = configure(None, robots=[{"name": "a", "kind": kind, "url": url}])
        assert config.robots[0].url.get_secret_value() == url
    bad = [
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?nokey=SECRETKEY"),
        ("dingtalk", "https://oapi.dingtalk.com.evil.example/robot/send?access_token=SECRETKEY"),
        ("feishu", "http://open.feishu.cn/open-apis/bot/v2/hook/SECRETKEY"),
        ("slack", "https://hooks.slack.com/other/SECRETKEY"),
        ("mattermost", "https://chat.example.org/hooks/"),
        ("wecom", "https://oapi.dingtalk.com/robot/send?access_token=SECRETKEY"),
    ]
    for kind, url in bad:
        with pytest.raises(ConfigError) as error:
            configure(None, robots=[{"name": "a", "kind": kind, "url": url}])
        assert "SECRETKEY" not in str(error.value) and "robots.0" in str(error.value)
    with pytest.raises(ConfigError, match="has no signing secret"):
        configure(
            None, robots=[{"name": "a", "kind": "wecom", "url": good["wecom"], "secret": "x"}]
        )


async def test_the_robots_group_is_bound_to_its_branch(database_url: str) -> None:
    fake = FakeRobot.of("wecom")
    async with (
        serving(fake),
        robots_bot(database_url, [robot_config(fake, "lib", branch="Library")]) as (bot, _),
    ):
        async with bot.db.session() as session:
            repositories = Repositories(session)
            assert await repositories.rooms.by_chat("wecom:lib", GROUP) is None, "no branch yet"
            branch = await repositories.branches.add("Library")
            assert branch is not None
        await bot.bind_robots()
        async with bot.db.session() as session:
            room = await Repositories(session).rooms.by_chat("wecom:lib", GROUP)
            assert room is not None and room.branch_id == branch.id and room.title == "lib"


@pytest.mark.parametrize(
    ("locale", "deep_link", "expected"),
    [
        (
            "en",
            DEEP_LINK,
            "Nobody can answer in this group. Answer in your direct chat with the bot:\n"
            "• memory: https://t.me/branchbot_test",
        ),
        (
            "zh_Hans",
            DEEP_LINK,
            "本群无法作答。请在与机器人的私聊中作答：\n• memory：https://t.me/branchbot_test",
        ),
        ("en", None, "Nobody can answer in this group. Ask your secretary where to answer."),
        ("zh_Hans", None, "本群无法作答，请向书记询问在哪里作答。"),
    ],
)
async def test_a_send_only_group_is_told_where_to_answer(
    database_url: str, locale: str, deep_link: str | None, expected: str
) -> None:
    fake = FakeRobot.of("wecom")
    question = Outgoing(
        Markup.literal("Did you read the notice?"),
        ((Choice("✅ Received", "ack:1"), Choice("Later", "ack:2")), (LINK,)),
    )
    async with (
        serving(fake),
        robots_bot(database_url, [robot_config(fake, "main")], deep_link=deep_link) as (bot, _),
    ):
        async with bot.db.session() as session:
            queued = await enqueue(
                Repositories(session),
                [Row(Address("wecom:main", GROUP), payload(question, locale))],
            )
        bot.deliveries["wecom:main"].enqueue(queued)
        await until_accepted(fake, 1)
    [text] = fake.texts
    assert expected in text.replace(
        "[https://t.me/branchbot_test](https://t.me/branchbot_test)", "https://t.me/branchbot_test"
    )
    assert "Received" not in text and "1." not in text, "no answers nobody can give"
    assert "[Open the board](https://bot.example.org/board)" in text, "the link stays"


WEB_CHAT = Choice("Open the web chat", "", "https://bot.example.org/chat")


def test_degrade_keeps_only_link_buttons_where_the_robot_has_them() -> None:
    message = Outgoing(
        Markup.literal("Notice"), ((Choice("✅ Received", "ack:1"), LINK), (WEB_CHAT,))
    )
    kept = degrade(message, Capabilities(buttons=False, link_buttons=True), "en")
    assert kept.choices == ((LINK,), (WEB_CHAT,)), "link buttons stay buttons"
    assert "1. ✅ Received" in kept.text.plain() and "bot.example.org" not in kept.text.plain()
    plain = degrade(message, Capabilities(buttons=False), "en")
    assert plain.choices == () and "[Open the web chat](https://bot.example.org/chat)" in (
        plain.text.markdown()
    )
    links_only = Outgoing(Markup.literal("Notice"), ((LINK,),))
    kept = degrade(links_only, Capabilities(buttons=False, link_buttons=True), "en")
    assert kept.text.plain() == "Notice" and kept.choices == ((LINK,),)
    text = Markup.format("**Meeting notice** at [the board]({url})", url=LINK.url)
    [post_body] = feishu.render(Outgoing(text))
    assert post_body["msg_type"] == "post", "without link buttons, Feishu's rich text"
    lines = post_body["content"]["post"]["zh_cn"]["content"]
    assert {"tag": "a", "text": "the board", "href": LINK.url} in lines[0]
    assert dingtalk.render(Outgoing(text))[0]["msgtype"] == "markdown"
    assert PRESETS["dingtalk"].link_buttons and PRESETS["feishu"].link_buttons
    assert not any(PRESETS[kind].link_buttons for kind in ("wecom", "slack", "mattermost"))


@pytest.mark.parametrize("links", [(WEB_CHAT,), (WEB_CHAT, LINK)])
async def test_a_link_button_reaches_dingtalk_as_an_action_card_and_feishu_as_a_card(
    database_url: str, links: tuple[Choice, ...]
) -> None:
    """An answer button still says where to answer; the link buttons are real buttons that
    open their URL, in the platforms' own formats (which the fakes check)."""
    fakes = [FakeRobot.of(kind) for kind in ("dingtalk", "feishu", "wecom")]
    message = Outgoing(
        Markup.format("**{title}**\n{body}", title="学习安排", body="周五下午三点学习《党章》"),
        ((Choice("✅ Received", "ack:1"),), links),
    )
    async with (
        serving(*fakes),
        robots_bot(database_url, [robot_config(f, "main") for f in fakes]) as (bot, _),
    ):
        for fake in fakes:
            await post(bot, f"{fake.kind}:main", message)
        for fake in fakes:
            await until_accepted(fake, 1)
    ding, fei, wecom_fake = fakes
    assert all(fake.violations == [] and fake.refused == [] for fake in fakes)
    [body] = ding.accepted
    assert body["msgtype"] == "actionCard"
    card = body["actionCard"]
    assert card["title"] == "学习安排" and "**学习安排**" in card["text"]
    if len(links) == 1:
        assert (card["singleTitle"], card["singleURL"]) == (WEB_CHAT.label, WEB_CHAT.url)
    else:
        assert card["btns"] == [{"title": c.label, "actionURL": c.url} for c in links]
        assert card["btnOrientation"] == "0"
    assert "Nobody can answer in this group" in card["text"] and "Received" not in card["text"]
    assert WEB_CHAT.url not in card["text"], "a button, not a link in the text"
    [body] = fei.accepted
    assert body["msg_type"] == "interactive"
    elements = body["card"]["elements"]
    assert elements[0]["tag"] == "div" and "**学习安排**" in elements[0]["text"]["content"]
    [action] = [e for e in elements if e["tag"] == "action"]
    assert [(b["tag"], b["text"]["content"], b["url"]) for b in action["actions"]] == [
        ("button", c.label, c.url) for c in links
    ]
    assert body["card"]["header"]["title"]["content"] == "学习安排"
    assert "sign" in body and "timestamp" in body, "a card is signed like any body"
    [text] = wecom_fake.texts
    assert f"[{WEB_CHAT.label}]({WEB_CHAT.url})" in text, "WeCom keeps markdown links"


def test_the_fakes_refuse_malformed_cards() -> None:
    from tests.support.robots import format_problem

    assert format_problem("dingtalk", {"msgtype": "actionCard", "actionCard": {"text": "x"}})
    assert format_problem(
        "dingtalk",
        {"msgtype": "actionCard", "actionCard": {"title": "t", "text": "x", "btns": [{}]}},
    )
    assert format_problem(
        "feishu",
        {
            "msg_type": "interactive",
            "card": {"elements": [{"tag": "action", "actions": [{"tag": "button"}]}]},
        },
    )
    for kind, fake_card in [("dingtalk", dingtalk), ("feishu", feishu)]:
        message = Outgoing(Markup.literal("x" * 30000), ((WEB_CHAT,),))
        bodies = fake_card.render(message)
        assert len(bodies) > 1 and all(format_problem(kind, b) is None for b in bodies)


NOTICES = 200


async def test_200_notices_to_five_robots_break_no_limit_and_lose_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog of 200 notices per robot (as after a restart, or a burst of broadcasts):
    robots with a budget get digests, Mattermost (no limit) gets each; the horizon of a
    budget is shortened from a minute to 5 s so the test takes seconds at the real rates."""
    monkeypatch.setattr("bot.delivery.FOLD_HORIZON", 5.0)
    fakes = [FakeRobot.of(kind) for kind in KINDS]
    names = [f"{f.kind}:r{i}" for i, f in enumerate(fakes)]
    async with (
        serving(*fakes),
        robots_bot(
            database_url,
            [robot_config(f, f"r{i}", branch=f"Branch {i}") for i, f in enumerate(fakes)],
        ) as (bot, _),
    ):
        async with bot.db.session() as session:
            for index in range(len(fakes)):
                branch = await Repositories(session).branches.add(f"Branch {index}")
                assert branch is not None
                if index % 2 == 0:  # WeCom, Feishu, Mattermost read Chinese: 3 bytes a character
                    await Repositories(session).branches.set_locale(branch.id, "zh_Hans")
        await bot.bind_robots()
        async with held(bot, names):
            async with bot.db.session() as session:
                broadcasts = Repositories(session).get(Broadcasts)
                for number in range(NOTICES):
                    await broadcasts.create(**notice(number))
            await queued(bot, names, NOTICES)
        await done(bot, NOTICES)
        for name in names:
            assert await statuses(bot, name) == ["sent"] * NOTICES, name
    for fake in fakes:
        assert fake.violations == [] and fake.refused == [], (fake.kind, fake.violations)
        assert fake.kind != "wecom" or all(len(t.encode()) <= 4096 for t in fake.texts)
        everything = "\n".join(fake.texts)
        for number in range(NOTICES):
            assert everything.count(f"N{number:03d}X") == 1, (fake.kind, number)
    folded = {fake.kind: len(fake.accepted) for fake in fakes}
    assert folded["mattermost"] == NOTICES, "no limit, no digest"
    assert all(folded[kind] < NOTICES / 5 for kind in ("wecom", "dingtalk", "feishu", "slack"))
    assert folded["dingtalk"] <= dingtalk.PER_MINUTE and folded["wecom"] <= 20


def notice(number: int) -> dict[str, Any]:
    return {
        "report_to": {
            "platform": "memory",
            "chat_id": "dm-sam",
            "direct": True,
            "user_id": "sam",
            "locale": "en",
        },
        "text": Markup.literal(
            f"学习安排 N{number:03d}X：周五下午三点在三楼会议室学习《党章》，请准时参加。"
        ).to_json(),
        "category": "notice",
        "branch_ids": {"all": True},
        "rooms": True,
        "members": False,
        "ack": True,
        "created_by": None,
    }


async def queued(bot: Any, names: list[str], count: int) -> None:
    """Wait until every robot has ``count`` rows in the outbox (a generous limit: a loaded CI
    machine running the suite in parallel workers expands 200 broadcasts slowly)."""
    async with asyncio.timeout(240):
        while True:
            async with bot.db.session() as session:
                query = (
                    select(OUTBOX.c.platform, func.count())
                    .where(OUTBOX.c.platform.in_(names))
                    .group_by(OUTBOX.c.platform)
                )
                counts = {name: count for name, count in (await session.execute(query)).all()}
            if all(counts.get(name, 0) >= count for name in names):
                return
            await asyncio.sleep(0.1)


async def done(bot: Any, count: int) -> None:
    async with asyncio.timeout(240):
        while True:
            async with bot.db.session() as session:
                query = select(func.count()).where(Broadcast.status == "done")
                finished = await session.scalar(query)
            if finished == count:
                break
            await asyncio.sleep(0.2)
    await settle(bot, 60)


def test_config_check_shows_no_robot_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "branchbot.toml"
    path.write_text(
        'playground = false\n[[robots]]\nname = "lib"\nkind = "dingtalk"\n'
        'url = "https://oapi.dingtalk.com/robot/send?access_token=ding-key-1"\n'
        'secret = "ding-secret-1"\nbranch = "Library"\n'
        '[robots.inbound]\nsecret = "ding-app-secret-1"\n'
    )
    assert main(["config", "check", "--config", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "ding-key-1" not in printed and "ding-secret-1" not in printed
    assert "ding-app-secret-1" not in printed
    assert json.loads(printed)["robots"][0]["branch"] == "Library"
    path.write_text(
        'playground = false\n[[robots]]\nname = "lib"\nkind = "wecom"\n'
        'url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?token=wecom-key-1"\n'
    )
    assert main(["config", "check", "--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert "no key= parameter" in error and "wecom-key-1" not in error


def test_the_robot_never_posts_past_its_own_count() -> None:
    """The adapter's last guard: a message cut into parts counts as several posts."""
    pace = Pace(per_minute=3, per_second=2.0)
    assert pace.wait(100.0) <= 0
    for moment in (100.0, 100.5, 101.0):
        assert pace.wait(moment) <= 0
        pace.record(moment)
    assert pace.wait(101.2) == pytest.approx(58.8), "the fourth waits for the first to age out"
    assert pace.wait(160.0) <= 0
    pace = Pace(per_minute=None, per_second=5.0)
    pace.record(10.0)
    assert pace.wait(10.1) == pytest.approx(0.1)


def test_config_overrides_the_presets_rates() -> None:
    default = RobotChannel(
        PRESETS["dingtalk"], "a", "https://oapi.dingtalk.com/robot/send?access_token=x"
    )
    assert default.capabilities.group_messages_per_minute == 18
    assert not default.capabilities.buttons and not default.capabilities.can_open_dm
    slower = RobotChannel(
        PRESETS["feishu"],
        "b",
        "https://open.feishu.cn/open-apis/bot/v2/hook/x",
        None,
        10.0,
        50,
        2.0,
    )
    assert slower.capabilities.group_messages_per_minute == 50
    assert slower.capabilities.chat_interval == 0.5
    assert slower.name == "feishu:b"
