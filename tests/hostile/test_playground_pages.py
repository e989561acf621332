"""The playground's pages answer loopback host names only (its page carries Ada's signing
secret; its people endpoint and transcript say who is who), whatever else a request says."""

from __future__ import annotations

import asyncio
import json

from adapters.webhook import signed_headers
from tests.support.webhook import lab_bot

PATHS = ("/", "/playground/events", "/playground/people", "/playground/sample-bank.yaml")


async def test_every_playground_path_refuses_a_foreign_host_name(database_url: str) -> None:
    async with lab_bot(database_url, playground=True) as lab:
        url = lab.bot.http.url
        for path in PATHS:
            async with lab.client.get(f"{url}{path}", headers={"Host": "evil.example"}) as response:
                assert response.status == 403, path
        async with lab.client.get(f"{url}/playground/people") as response:
            assert response.status == 200
            nobody = {"admin": False, "secretary_of": [], "member_of": None}
            assert await response.json() == {
                "ada": {**nobody, "admin": True},
                "sam": nobody,
                "mei": nobody,
                "max": nobody,
            }
        async with lab.client.get(f"{url}/playground/sample-bank.yaml") as response:
            assert response.status == 200
            assert "bank: library-sample" in await response.text()


async def test_a_made_up_last_event_id_replays_everything(database_url: str) -> None:
    async with lab_bot(database_url, playground=True) as lab:
        channel = lab.bot.playground
        assert channel is not None
        body = json.dumps(lab.event("ada", "/branches")).encode()
        status, _ = await lab.post(
            body, channel="playground", headers=signed_headers(channel.secret, body)
        )
        assert status == 200
        url = lab.bot.http.url
        for last in ("x" * 4000, "", "../../etc", "0:-1"):
            headers = {"Last-Event-ID": last} if last else {}
            async with lab.client.get(f"{url}/playground/events", headers=headers) as response:
                assert response.status == 200
                kinds = []
                async with asyncio.timeout(10):
                    while len(kinds) < 1:
                        line = await response.content.readline()
                        if line.startswith(b"data: ") and b'"epoch"' not in line:
                            kinds.append(json.loads(line[6:])["kind"])
                assert kinds == ["user"]
        await channel.close_streams()
