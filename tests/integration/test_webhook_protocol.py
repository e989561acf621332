"""The webhook channel's public contract (docs/webhook.md), answer by answer."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from adapters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from tests.support.webhook import SECRET, Lab, lab_bot


async def test_accepts_and_answers_through_the_callback(lab: Lab) -> None:
    status, answer = await lab.post(lab.event("mei", "/me"))
    assert (status, answer) == (200, {"ok": True})
    async with asyncio.timeout(10):
        await lab.bot.idle()
    [message] = lab.receiver.messages
    assert message["chat"] == {"id": "dm-mei", "type": "direct"}
    assert message["user"] == {"id": "mei"}
    assert message["text"].startswith("Mei") and message["markdown"].startswith("**Mei**")
    assert message["id"].isdigit()
    assert "choices" not in message and "image" not in message
    assert lab.receiver.bad_signatures == 0


async def test_same_event_id_is_processed_once(lab: Lab) -> None:
    event = lab.event("mei", "/me", event_id="same-id")
    assert await lab.post(event) == (200, {"ok": True})
    assert await lab.post(event) == (200, {"ok": True, "duplicate": True})
    async with asyncio.timeout(10):
        await lab.bot.idle()
    assert len(lab.receiver.messages) == 1


async def test_duplicate_is_recognised_after_a_restart(database_url: str) -> None:
    async with lab_bot(database_url) as lab:
        assert await lab.post(lab.event("mei", "/me", event_id="x1")) == (200, {"ok": True})
    async with lab_bot(database_url) as lab:
        assert await lab.post(lab.event("mei", "/me", event_id="x1")) == (
            200,
            {"ok": True, "duplicate": True},
        )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing signature"),
        ({TIMESTAMP_HEADER: "now", SIGNATURE_HEADER: "sha256=00"}, "bad timestamp"),
        ({TIMESTAMP_HEADER: "1", SIGNATURE_HEADER: "sha256=00"}, "timestamp too far off"),
    ],
)
async def test_unsigned_or_stale_requests_are_refused(
    lab: Lab, headers: dict[str, str], reason: str
) -> None:
    status, answer = await lab.post(lab.event("mei", "/me"), headers=headers)
    assert (status, answer["error"]) == (401, reason)


async def test_wrong_secret_and_tampered_body_are_refused(lab: Lab) -> None:
    body = json.dumps(lab.event("mei", "/me")).encode()
    status, _ = await lab.post(body, headers=signed_headers("not the secret", body))
    assert status == 401
    headers = signed_headers(SECRET, body)
    status, _ = await lab.post(body.replace(b"/me", b"/help"), headers=headers)
    assert status == 401
    old = int(time.time()) - 301
    status, _ = await lab.post(body, headers=signed_headers(SECRET, body, old))
    assert status == 401
    async with asyncio.timeout(5):
        await lab.bot.idle()
    assert lab.receiver.messages == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (
            b'{"chat": {"id": "c", "type": "direct"}, "sender": {"id": "u"}, "text": "hi"}',
            "missing field: id",
        ),
        (b'{"id": "1", "sender": {"id": "u"}, "text": "hi"}', "missing field: chat"),
        (
            b'{"id": "1", "chat": {"id": "c", "type": "room"}, "sender": {"id": "u"}, "text": "x"}',
            'field chat.type must be "group" or "direct"',
        ),
        (
            b'{"id": "1", "chat": {"id": "c", "type": "group"}, "text": "hi"}',
            "missing field: sender",
        ),
        (
            b'{"id": "1", "chat": {"id": "c", "type": "group"}, "sender": {"id": ""}, "text": "x"}',
            "field sender.id must not be empty",
        ),
        (
            b'{"id": "1", "chat": {"id": "c", "type": "group"}, "sender": {"id": "u"}}',
            "an event needs text, choice or file",
        ),
        (
            b'{"id": "1", "chat": {"id": "c", "type": "group"}, "sender": {"id": "u"}, '
            b'"text": 5.5}',
            "field text must be a string",
        ),
    ],
)
async def test_malformed_events_get_400_with_the_reason(lab: Lab, body: bytes, reason: str) -> None:
    status, answer = await lab.post(body, headers=signed_headers(SECRET, body))
    assert status == 400
    assert answer["error"].startswith(reason)


async def test_oversized_body_unknown_channel(lab: Lab) -> None:
    big = lab.event("mei", "x" * (65 * 1024))
    status, _ = await lab.post(big)
    assert status == 413
    status, answer = await lab.post(lab.event("mei", "/me"), channel="nope")
    assert (status, answer["error"]) == (404, "unknown channel")


async def test_callback_failures_are_retried_until_delivered_once(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two errors and a rate limit, then the answer: once, each retry counted by its reason.
    The back-off is shortened (its real 1–8 s would race ``ask``'s 10 s under a loaded CI)."""
    from bot import delivery

    monkeypatch.setattr(delivery, "retry_delay", lambda failures: 0.05)
    lab.receiver.plan = [500, 429, 503]
    answers = await lab.ask("mei", "/me")
    assert len(answers) == 1
    assert lab.receiver.attempts == 4
    retries = lab.bot.metrics.retries
    assert retries.labels("webhook:lab", "rate_limited")._value.get() == 1
    assert retries.labels("webhook:lab", "error")._value.get() == 2


async def test_direct_message_to_someone_who_never_wrote(lab: Lab) -> None:
    """A group command whose answer goes to the sender's DM uses chat id direct:<user>."""
    from bot.events import Chat, Incoming, Sender
    from bot.markup import Markup
    from bot.messages import Address, Outgoing

    await lab.bot.deliveries["webhook:lab"].adapter.send(
        Address("webhook:lab", "", True, "newbie"), Outgoing(Markup.literal("hi")), "99"
    )
    [message] = lab.receiver.messages
    assert message["chat"] == {"id": "direct:newbie", "type": "direct"}
    assert message["user"] == {"id": "newbie"}
    assert Incoming("p", "e", Chat("c", True), Sender("u")).identity == "p:u"


async def test_health_and_metrics(lab: Lab) -> None:
    async with lab.client.get(f"{lab.bot.http.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
    await lab.ask("mei", "/me")
    async with lab.client.get(f"{lab.bot.http.url}/metrics") as response:
        text = await response.text()
    assert 'branchbot_events_total{outcome="handled",platform="webhook:lab"} 1.0' in text
    assert 'branchbot_messages_total{outcome="sent",platform="webhook:lab"} 1.0' in text


async def test_playground_only_answers_local_names(database_url: str) -> None:
    async with lab_bot(database_url, playground=True) as lab:
        url = lab.bot.http.url
        async with lab.client.get(f"{url}/") as response:
            assert response.status == 200
            assert "__PLAYGROUND_CONFIG__" not in await response.text()
        for path in ("/", "/playground/events"):
            async with lab.client.get(f"{url}{path}", headers={"Host": "evil.example"}) as response:
                assert response.status == 403
        status, answer = await lab.post(
            lab.event("ada", "/help"), channel="playground", headers={"Host": "evil.example"}
        )
        assert (status, answer["error"]) == (403, "not allowed from here")


async def test_stored_admin_from_the_cli_is_an_admin(lab: Lab) -> None:
    from bot.cli import _admin_add

    assert "Only admins" in await lab.say("ops", "/branches")
    assert await _admin_add(lab.bot.config, "webhook:lab:ops")
    await lab.bot.engine.refresh_admins()  # the scheduler does this every 30 s
    assert "no branches yet" in await lab.say("ops", "/branches")
