"""The playground channel's transcript: both sides of every chat, in the order the bot took
the events in, so a reloaded or reopened page can draw itself whole (issue 11, item 16)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.playground import PlaygroundChannel, Standing
from bot.events import Attachment, Chat, Incoming, Sender
from bot.markup import Markup
from bot.messages import Accepted, Address, Choice, EngineStopped, Outgoing


def said(event_id: str, text: str = "", **fields: Any) -> Incoming:
    return Incoming(
        platform="webhook:playground",
        event_id=event_id,
        chat=Chat("room-library", direct=False),
        sender=Sender("mei", "Mei"),
        text=text,
        **fields,
    )


async def started(channel: PlaygroundChannel, seen: list[list[str]]) -> None:
    """Start with a core that notes what the transcript held when each event reached it."""

    async def core(event: Incoming) -> Accepted:
        seen.append([entry["id"] for entry in channel.transcript])
        if event.text == "stopping":
            raise EngineStopped("stopping")
        return Accepted()

    await channel.start(core)


async def test_a_persons_message_is_in_the_transcript_before_the_bot_answers_it() -> None:
    channel, seen = PlaygroundChannel(), []
    await started(channel, seen)
    assert channel.handle is not None
    await channel.handle(said("e1", "/help"))
    assert seen == [["e1"]]
    await channel.send(
        Address("webhook:playground", "room-library"), Outgoing(Markup.literal("hi")), "m1"
    )
    kinds = [(e["kind"], e["id"]) for e in channel.transcript]
    assert kinds == [("user", "e1"), ("bot", "m1")]
    assert channel.transcript[0]["sender"] == {"id": "mei", "name": "Mei"}
    await channel.stop()


async def test_presses_files_and_refusals_are_recorded_as_the_page_shows_them() -> None:
    channel, seen = PlaygroundChannel(), []
    await started(channel, seen)
    assert channel.handle is not None
    room = Address("webhook:playground", "room-library")
    asked = Outgoing(Markup.literal("coming?"), choices=((Choice("yes", "p-yes"),),))
    await channel.send(room, asked, "m1")
    await channel.handle(said("e1", choice="p-yes", reply_to="m1"))
    await channel.handle(said("e1", choice="p-yes", reply_to="m1"))  # the same event again
    await channel.handle(
        said("e2", "skip-bad", attachment=Attachment("bank.csv", "text/csv", b"q;a\n"))
    )
    press, upload = [e for e in channel.transcript if e["kind"] == "user"]
    assert (press["label"], press["choice"], press["message_id"]) == ("yes", "p-yes", "m1")
    assert upload["file"] == {"name": "bank.csv", "size": 4}
    assert "data" not in upload["file"]

    # an event the bot did not take in is marked so; sent again, it is recorded again
    with pytest.raises(EngineStopped):
        await channel.handle(said("e3", "stopping"))
    failed = [e for e in channel.transcript if e["id"] == "e3"]
    assert failed[0]["failed"] is True
    assert channel.transcript[-1]["kind"] == "failed" and channel.transcript[-1]["ref"] == "e3"
    await channel.handle(said("e3", "again"))
    assert [e.get("failed", False) for e in channel.transcript if e["id"] == "e3"] == [True, False]
    await channel.stop()


async def test_a_reconnecting_page_gets_what_it_missed_and_a_new_bot_gets_it_all() -> None:
    channel = PlaygroundChannel()
    await channel.start(lambda event: _accepted())
    address = Address("webhook:playground", "", direct=True, user_id="ada")
    for number in range(3):
        await channel.send(address, Outgoing(Markup.literal(f"m{number}")), f"m{number}")
    app = web.Application()
    app.add_routes(channel.routes())
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        second = channel.transcript[1]["seq"]
        assert await stream(client, second) == ["m2"]
        assert await stream(client, "another-bot:2") == ["m0", "m1", "m2"]
        assert await stream(client, None) == ["m0", "m1", "m2"]
        await channel.close_streams()
    await channel.stop()


async def _accepted() -> Accepted:
    return Accepted()


async def stream(client: TestClient, last: str | None) -> list[str]:
    """The ids the event stream replays at once, after ``last``."""
    headers = {"Last-Event-ID": last} if last else {}
    ids = []
    async with client.get("/playground/events", headers=headers) as response:
        first = await response.content.readline()
        assert first == b"event: hello\n"
        assert "epoch" in json.loads((await response.content.readline())[6:])
        while True:
            line = await response.content.readline()
            if line.startswith(b"data: "):
                ids.append(json.loads(line[6:])["id"])
            if ids and ids[-1] == "m2":
                return ids


def test_a_personas_standing_gives_the_page_facts_to_word_in_its_language() -> None:
    nobody = {"admin": False, "secretary_of": [], "member_of": None}
    assert Standing().as_json() == nobody
    assert Standing(admin=True).as_json() == {**nobody, "admin": True}
    assert Standing(member_of="Library").as_json() == {**nobody, "member_of": "Library"}
    both = Standing(member_of="Library", secretary_of=("Library",))
    assert both.as_json() == {**nobody, "secretary_of": ["Library"]}
    assert Standing(True, "East", ("Library",)).as_json() == (
        {"admin": True, "secretary_of": ["Library"], "member_of": "East"}
    )


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
async def test_the_page_starts_in_the_organisations_language(locale: str) -> None:
    channel = PlaygroundChannel(locale=locale)
    app = web.Application()
    app.add_routes(channel.routes())
    async with (
        TestClient(TestServer(app)) as client,
        client.get("/", headers={"Host": "127.0.0.1"}) as response,
    ):
        html = await response.text()
    config = json.loads(html.split("const CONFIG = ", 1)[1].split(";</script>", 1)[0])
    assert config["locale"] == locale


def test_the_page_speaks_only_the_languages_it_has_words_for() -> None:
    with pytest.raises(ValueError, match="fr"):
        PlaygroundChannel(locale="fr")
