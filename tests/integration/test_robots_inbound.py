"""Hearing robots' groups (docs/robots/): DingTalk's signed callback, Slack's signed slash
command and Mattermost's token, each against bad signatures, stale timestamps, replays and
malformed bodies, answered with protocol v1's table; answers go where the platform says."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import aiohttp

from adapters.robots.inbound import umbrella
from tests.support.chat import settle
from tests.support.robots import (
    REPLY_PATHS,
    FakeRobot,
    dingtalk_headers,
    origin,
    robot_config,
    robots_bot,
    serving,
    slack_headers,
    until_accepted,
)

APP_SECRET = "dingtalk-app-secret-0123456789"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "mattermost-command-token-1234"
Answer = tuple[int, Any]


class Robot:
    """A robot of a running bot, seen from its platform: posts callbacks to the bot."""

    def __init__(self, url: str, fake: FakeRobot, client: aiohttp.ClientSession) -> None:
        self.url = url
        self.fake = fake
        self.client = client

    async def post(self, body: bytes, headers: dict[str, str], *, path: str = "") -> Answer:
        async with self.client.post(self.url + path, data=body, headers=headers) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None


@asynccontextmanager
async def hearing(database_url: str, kind: str, secret: str) -> AsyncIterator[Robot]:
    fake = FakeRobot.of(kind)
    async with serving(fake):
        block = robot_config(fake, "main") | {"inbound": {"secret": secret}}
        async with robots_bot(database_url, [block], serve_http=True) as (bot, _):
            async with aiohttp.ClientSession() as client:
                yield Robot(f"{bot.http.url}/robots/{kind}/main", fake, client)
            await settle(bot)


def dingtalk_event(fake: FakeRobot, said: str, *, expires_in: float = 3600, **extra: Any) -> bytes:
    body = {
        "msgtype": "text",
        "text": {"content": f" {said}"},
        "msgId": f"msg{uuid.uuid4().hex}",
        "createAt": int(time.time() * 1000),
        "conversationType": "2",
        "conversationId": "cidP0u0Fg0rQ==",
        "conversationTitle": "Library branch",
        "senderId": "$:LWCP_v1:$abc",
        "senderNick": "Mei",
        "senderStaffId": "manager1234",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "sessionWebhook": f"{origin(fake)}{REPLY_PATHS['dingtalk'][0]}?session=s1",
        "sessionWebhookExpiredTime": int((time.time() + expires_in) * 1000),
        **extra,
    }
    return json.dumps(body, ensure_ascii=False).encode()


async def test_dingtalk_callback_is_answered_on_its_session_webhook(database_url: str) -> None:
    async with hearing(database_url, "dingtalk", APP_SECRET) as robot:
        answer = await robot.post(dingtalk_event(robot.fake, "/help"), dingtalk_headers(APP_SECRET))
        assert answer == (200, {"ok": True})
        await until(robot.fake, "replies")
        assert robot.fake.accepted == [], "the session webhook, not the robot's URL"
        assert "/help" in json.dumps(robot.fake.replies[0], ensure_ascii=False)
        expired = dingtalk_event(robot.fake, "/help", expires_in=-1)
        assert (await robot.post(expired, dingtalk_headers(APP_SECRET)))[0] == 200
        await until_accepted(robot.fake, 1)
        assert robot.fake.refused == [], "the robot's URL is signed"
        assert len(robot.fake.replies) == 1


async def test_dingtalk_refuses_bad_stale_replayed_and_malformed_callbacks(
    database_url: str,
) -> None:
    async with hearing(database_url, "dingtalk", APP_SECRET) as robot:
        body = dingtalk_event(robot.fake, "/help")
        assert await robot.post(body, {}) == (401, {"ok": False, "error": "missing signature"})
        wrong = dingtalk_headers("not-the-app-secret")
        assert await robot.post(body, wrong) == (401, {"ok": False, "error": "bad signature"})
        stale = dingtalk_headers(APP_SECRET, int((time.time() - 3601) * 1000))
        assert await robot.post(body, stale) == (
            401,
            {"ok": False, "error": "timestamp too far off"},
        )
        headers = dingtalk_headers(APP_SECRET, int(time.time() * 1000) - 5)
        assert await robot.post(body, headers) == (200, {"ok": True})
        other = dingtalk_event(robot.fake, "/me")  # the sign covers only the timestamp
        assert await robot.post(other, headers) == (401, {"ok": False, "error": "replayed request"})
        base = int(time.time() * 1000) - 1000
        for number, (malformed, reason) in enumerate(
            [
                (b"{not json", "body is not JSON"),
                (b"[]", "body must be a JSON object"),
                (dingtalk_event(robot.fake, "x", text={"content": 5}), "field text.content"),
                (dingtalk_event(robot.fake, "x", msgId=""), "missing field: msgId"),
                (dingtalk_event(robot.fake, "x", senderStaffId="a\x00b"), "contains NUL"),
                (dingtalk_event(robot.fake, "   "), "an event needs text"),
            ]
        ):
            stamp = base - number  # one request per timestamp
            status, answer = await robot.post(malformed, dingtalk_headers(APP_SECRET, stamp))
            assert status == 400 and reason in answer["error"], (malformed, answer)
        huge = b'{"pad": "' + b"x" * 70_000 + b'"}'
        assert (await robot.post(huge, dingtalk_headers(APP_SECRET)))[0] == 413


def slack_command(text: str, **extra: str) -> bytes:
    fields = {
        "token": "deprecated-verification-token",
        "team_id": "T00000000",
        "channel_id": "C2147483705",
        "channel_name": "library",
        "user_id": "U2147483697",
        "user_name": "mei",
        "command": "/branchbot",
        "text": text,
        "response_url": "",
        "trigger_id": f"13345224609.738474920.{uuid.uuid4().hex}",
        **extra,
    }
    return urlencode(fields).encode()


async def test_slack_slash_command_is_answered_on_its_response_url(database_url: str) -> None:
    async with hearing(database_url, "slack", SIGNING_SECRET) as robot:
        url = f"{origin(robot.fake)}{REPLY_PATHS['slack'][0]}"
        body = slack_command("help", response_url=url)
        assert await robot.post(body, slack_headers(SIGNING_SECRET, body)) == (200, None)
        await until(robot.fake, "replies")
        assert "/help" in robot.fake.replies[0]["text"] and robot.fake.accepted == []


async def test_slack_refuses_bad_stale_replayed_and_malformed_commands(database_url: str) -> None:
    async with hearing(database_url, "slack", SIGNING_SECRET) as robot:
        body = slack_command("help")
        assert await robot.post(body, {}) == (401, {"ok": False, "error": "missing signature"})
        wrong = slack_headers("not-the-signing-secret", body)
        assert await robot.post(body, wrong) == (401, {"ok": False, "error": "bad signature"})
        tampered = slack_headers(SIGNING_SECRET, body)
        assert (await robot.post(slack_command("me"), tampered))[1]["error"] == "bad signature"
        stale = slack_headers(SIGNING_SECRET, body, int(time.time()) - 301)
        assert await robot.post(body, stale) == (
            401,
            {"ok": False, "error": "timestamp too far off"},
        )
        signed = slack_headers(SIGNING_SECRET, body)
        assert await robot.post(body, signed) == (200, None)
        assert await robot.post(body, signed) == (401, {"ok": False, "error": "replayed request"})
        for malformed, reason in [
            (b"\xff\xfe", "body is not a form"),
            (slack_command("help", user_id=""), "missing field: user_id"),
            (slack_command("help", trigger_id="x" * 300), "longer than 255"),
        ]:
            status, answer = await robot.post(malformed, slack_headers(SIGNING_SECRET, malformed))
            assert status == 400 and reason in answer["error"], (malformed, answer)


def mattermost_command(text: str, **extra: Any) -> bytes:
    fields = {
        "channel_id": "fdsafdsafdsafdsafdsafdsafd",
        "channel_name": "library",
        "command": "/branchbot",
        "team_domain": "org",
        "team_id": "rdc9bgriktyx9p4kowh3dmgqyc",
        "text": text,
        "token": TOKEN,
        "trigger_id": f"trigger-{uuid.uuid4().hex}",
        "user_id": "rnina9994bde8mua79zqcg5hmo",
        "user_name": "mei",
        "response_url": "",
        **extra,
    }
    return urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_mattermost_command_and_outgoing_webhook_checked_by_token(
    database_url: str,
) -> None:
    async with hearing(database_url, "mattermost", TOKEN) as robot:
        url = f"{origin(robot.fake)}{REPLY_PATHS['mattermost'][0]}"
        body = mattermost_command("help", response_url=url)
        assert await robot.post(body, FORM) == (200, {"ok": True})
        await until(robot.fake, "replies")
        assert "/help" in robot.fake.replies[0]["text"]
        assert await robot.post(body, FORM) == (401, {"ok": False, "error": "replayed request"})
        wrong = mattermost_command("help", token="not-the-token")
        assert await robot.post(wrong, FORM) == (401, {"ok": False, "error": "bad token"})
        assert (await robot.post(mattermost_command("help", token=""), FORM))[1] == {
            "ok": False,
            "error": "missing token",
        }
        outgoing = {
            "token": TOKEN,
            "team_id": "rdc9bgriktyx9p4kowh3dmgqyc",
            "channel_id": "fdsafdsafdsafdsafdsafdsafd",
            "timestamp": int(time.time() * 1000),
            "user_id": "rnina9994bde8mua79zqcg5hmo",
            "user_name": "mei",
            "post_id": "ppp" + uuid.uuid4().hex[:20],
            "text": "#bot help",
            "trigger_word": "#bot",
        }
        posted = json.dumps(outgoing).encode()
        json_headers = {"Content-Type": "application/json"}
        assert await robot.post(posted, json_headers) == (200, {"ok": True})
        await until_accepted(robot.fake, 1)
        stale = json.dumps(outgoing | {"timestamp": 1, "post_id": "other"}).encode()
        assert await robot.post(stale, json_headers) == (
            401,
            {"ok": False, "error": "timestamp too far off"},
        )
        for malformed, headers, reason in [
            (b"{nope", json_headers, "body is not JSON"),
            (mattermost_command("help", user_id=""), FORM, "missing field: user_id"),
        ]:
            status, answer = await robot.post(malformed, headers)
            assert status == 400 and reason in answer["error"], (malformed, answer)


def test_an_umbrella_command_is_one_of_ours_and_a_number_an_answer() -> None:
    assert umbrella(" quiz 3 ") == "/quiz 3"
    assert umbrella("") == "/help"
    assert umbrella("/me") == "/me"
    assert umbrella("2") == "2"


async def test_a_robot_not_configured_to_hear_is_404(database_url: str) -> None:
    async with hearing(database_url, "slack", SIGNING_SECRET) as robot:
        body = slack_command("help")
        headers = slack_headers(SIGNING_SECRET, body)
        status, answer = await robot.post(body, headers, path="-nope")
        assert (status, answer) == (404, {"ok": False, "error": "unknown robot"})


async def until(fake: FakeRobot, what: str, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not getattr(fake, what):
            fake.changed.clear()
            await fake.changed.wait()
