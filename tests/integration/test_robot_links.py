"""A send-only group's messages link into a direct chat at the right place (issue 17): a
notice's "received" and a survey, the same link for the whole group, opened in the web chat by
a member (who gets the notice with its button, or the survey's first question) and by a guest
or a member it was not addressed to (who learn nothing of it)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from sqlalchemy import select

from adapters.webchat import is_code
from adapters.webchat.limits import LOOPBACK, client_address
from bot.delivery import Place, answer_elsewhere, fold
from bot.markup import Markup
from bot.messages import Capabilities, Outgoing
from bot.outbox import payload
from dialogs.broadcast.fanout import notice
from store.broadcast_tables import BroadcastRecipient
from store.broadcasts import Broadcasts
from store.repos import Repositories
from store.runtime import PendingMessage
from tests.support.appraisal import import_template, open_round
from tests.support.chat import ask, code_in, settle
from tests.support.robots import FakeRobot, robot_config, robots_bot, serving, until_accepted
from tests.support.webchat import client, visit

CSRF = "X-Branchbot-CSRF"
LINK = re.compile(r"\((http://127\.0\.0\.1:\d+/chat\?start=([a-z]+_\d+))\)")


class Visitor:
    """One phone's web chat: a session cookie, its CSRF token, what it was shown."""

    def __init__(self, http: aiohttp.ClientSession, base: str, csrf: str) -> None:
        self.http, self.base, self.csrf = http, base, csrf
        self.seen = 0

    async def send(self, body: dict[str, Any]) -> None:
        async with self.http.post(
            self.base + "/chat/send", json=body, headers={CSRF: self.csrf}
        ) as response:
            assert response.status == 200, await response.text()

    async def news(self, bot: Any) -> list[dict[str, Any]]:
        """The bot's messages since the last call."""
        await settle(bot)
        async with self.http.get(self.base + "/chat/history") as response:
            messages = [m for m in (await response.json())["messages"] if m["kind"] == "bot"]
        fresh, self.seen = messages[self.seen :], len(messages)
        return fresh


async def open_link(http: aiohttp.ClientSession, link: str) -> str:
    """Open a group's link as a phone does: the page, which says ``/start <payload>``."""
    async with http.get(link) as response:
        assert response.status == 200
        page = await response.text()
    assert '"start": "' + link.partition("start=")[2] + '"' in page
    return page


async def test_a_notice_and_a_survey_link_into_the_web_chat_at_their_place(
    database_url: str,
) -> None:
    fake = FakeRobot.of("wecom")
    async with (
        serving(fake),
        robots_bot(
            database_url,
            [robot_config(fake, "lib", branch="Library")],
            serve_http=True,
            deep_link=None,
            web_chat={"enabled": True},
        ) as (bot, memory),
        client() as phone,
        client() as stranger,
    ):
        base = bot.http.url
        await ask(bot, memory, "boss", "/branch add Library")
        await bot.bind_robots()
        invite = await ask(bot, memory, "boss", "/invite Library member")
        code = code_in(invite)
        # the admin's platform has no links of its own: the invite points into the web chat
        assert f"{base}/chat?start={code}" in invite, invite
        member = Visitor(phone, base, await visit(phone, base))
        await member.send({"id": "j1", "text": f"/join {code}"})
        joined = " ".join(m["text"] for m in await member.news(bot))
        assert "Library" in joined, joined

        async with bot.db.session() as session:
            broadcast = (
                await Repositories(session)
                .get(Broadcasts)
                .create(
                    report_to={
                        "platform": "memory",
                        "chat_id": "dm-boss",
                        "direct": True,
                        "user_id": "boss",
                        "locale": "en",
                    },
                    text=Markup.literal(
                        "Stocktaking on Friday: the stacks close at noon."
                    ).to_json(),
                    category="notice",
                    branch_ids={"all": True},
                    rooms=True,
                    members=False,
                    ack=True,
                    created_by=None,
                )
            )
        await until_accepted(fake, 1, timeout=30)
        [posted] = fake.texts
        assert "Stocktaking on Friday" in posted and "Received" not in posted
        [(link, payload)] = LINK.findall(posted)
        assert payload == f"notice_{broadcast.id}"

        # a stranger's phone opens the same link: told to join, shown nothing of the notice
        await open_link(stranger, link)
        guest = Visitor(stranger, base, await visit(stranger, base))
        await guest.send({"id": "s1", "text": f"/start {payload}"})
        told = " ".join(m["text"] for m in await guest.news(bot))
        assert "To join your branch" in told and "Stocktaking" not in told, told

        # the member's phone: the notice again, with its button; one press records it
        await open_link(phone, link)
        await member.send({"id": "m1", "text": f"/start {payload}"})
        [shown] = await member.news(bot)
        assert "Stocktaking on Friday" in shown["text"], shown
        [[button]] = shown["choices"]
        assert "Received" in button["label"], button
        await member.send(
            {
                "id": "m2",
                "choice": button["payload"],
                "message_id": shown["id"],
                "label": button["label"],
            }
        )
        [thanks] = await member.news(bot)
        assert "is recorded" in thanks["text"], thanks
        async with bot.db.session() as session:
            acked = await session.scalars(
                select(BroadcastRecipient.acked_at).where(
                    BroadcastRecipient.broadcast_id == broadcast.id,
                    BroadcastRecipient.member_id.is_not(None),
                )
            )
            assert [a is not None for a in acked] == [True]
        await member.send({"id": "m3", "text": f"/start {payload}"})
        [again] = await member.news(bot)
        assert "already recorded" in again["text"], again

        # a notice that does not exist, or a made-up payload, says so and nothing more
        await member.send({"id": "m4", "text": "/start notice_999999"})
        [unknown] = await member.news(bot)
        assert "was not addressed to you" in unknown["text"], unknown

        # a survey's notice links to answering it: the member's first question
        await import_template(bot)
        await open_round(bot, memory, "boss", branches="Library")
        await until_accepted(fake, 2, timeout=30)
        survey = fake.texts[1]
        assert "Survey" in survey and "answers are anonymous" in survey, survey
        [(link, payload)] = LINK.findall(survey)
        assert payload.startswith("survey_")
        await open_link(phone, link)
        await member.send({"id": "m5", "text": f"/start {payload}"})
        first = " ".join(m["text"] for m in await member.news(bot))
        assert "How is the branch doing?" in first, first
        await guest.send({"id": "s2", "text": f"/start {payload}"})
        told = " ".join(m["text"] for m in await guest.news(bot))
        assert "To join your branch" in told and "branch doing" not in told, told


def places_of(payload: str | None) -> list[Place]:
    """The web chat and a Matrix account, as ``BranchBot.answer_places`` gives them."""
    web = "https://bot.example.org/chat"
    return [
        Place("web", f"{web}?start={payload}" if payload else web),
        Place("matrix", handle="@bot:example.org"),
    ]


def test_a_digest_of_notices_links_each_one() -> None:
    """Notices queued faster than a robot's budget are merged: each keeps its own link."""
    rows = [
        PendingMessage(
            n,
            "wecom:lib",
            "group",
            False,
            None,
            payload(
                notice(Markup.literal(f"Notice {n}"), "notice", n, True, "en", "en"),
                "en",
                fold=True,
            ),
            0,
        )
        for n in (41, 42)
    ]
    merged, absorbed = fold(rows, 4000)
    assert absorbed == [42]
    message = answer_elsewhere(
        Outgoing.from_json(merged.payload),
        Capabilities(buttons=False, can_open_dm=False),
        "en",
        False,
        places_of,
    )
    text = message.text.markdown()
    assert "Web chat: [1](https://bot.example.org/chat?start=notice_41) · " in text.replace(
        "\\", ""
    ), text
    assert "[2](https://bot.example.org/chat?start=notice_42)" in text, text
    assert "write to @bot:example.org and send /start notice_41 · /start notice_42" in (
        message.text.plain()
    )
    assert message.choices == () and "Received" not in text
    single = answer_elsewhere(
        Outgoing.from_json(rows[0].payload),
        Capabilities(buttons=False, can_open_dm=False),
        "zh_Hans",
        False,
        places_of,
    )
    shown = single.text.plain()
    assert "• 网页私聊：https://bot.example.org/chat?start=notice_41\n" in shown, shown
    assert "• Matrix：给@bot:example.org发私聊消息/start notice_41" in shown, shown
    quiet = notice(Markup.literal("No answer asked"), "notice", 43, False, "en", "en")
    assert (
        quiet.answer_at == ()
        and answer_elsewhere(
            quiet, Capabilities(buttons=False, can_open_dm=False), "en", False, places_of
        )
        == quiet
    ), "a notice without “received” says nothing about answering"


def test_a_command_link_is_no_code_try() -> None:
    commands = frozenset({"quiz", "challenge"})
    assert not is_code("start", "quiz", commands), "a group's /quiz link starts the quiz"
    assert not is_code("start", "lesson_opac", commands)
    assert is_code("start", "QUIZ", commands) and is_code("start", "ABCD2345", commands)
    assert is_code("join", "quiz", commands), "/join always reads a code"
    assert client_address("::ffff:127.0.0.1", "203.0.113.7", LOOPBACK) == "203.0.113.7"
