"""Each feature's figures for the monthly branch report (``bot/figures.py``), on both stores:
learning's participation, broadcasting's "received" rate, appraisal's rounds under the k rule
and the mailbox's letters, for one branch, for the whole organisation, and for a month when
there was nothing to measure (``None``, not 0%). The data is written through the features'
own repositories, with the clock set to each moment, in an organisation on Beijing time (so
a month's bounds in UTC are not midnights)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.feature import migrations
from bot.figures import Figure, Figures, Span, Unit
from bot.i18n import Translator
from dialogs import FEATURES, appraisal, broadcast, learning, mailbox
from dialogs.appraisal.mixer import Mixer
from dialogs.appraisal.monthly import OVERALL, RESPONSE, ROUNDS
from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.templates import parse_template
from dialogs.broadcast.figures import ACKNOWLEDGED
from dialogs.learning.figures import ANSWERS, PARTICIPATION
from dialogs.mailbox.config import MailboxConfig
from dialogs.mailbox.monthly import IN_TIME, LETTERS, RATING
from dialogs.mailbox.relay import relay_of
from dialogs.mailbox.repository import Draft, Mailbox
from store.broadcasts import Broadcasts
from store.clock import ManualClock
from store.db import Database
from store.learning import Learning
from store.repos import Repositories
from tests.support.appraisal_store import branch_with_members
from tests.support.lab_learning import BANK

ZONE = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment of the organisation's calendar, in UTC as the store keeps it."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def month(year: int, number: int, branch_ids: Sequence[int] | None = None) -> Span:
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return Span(
        frozenset(branch_ids) if branch_ids is not None else None,
        first,
        following - timedelta(days=1),
        local(first.year, first.month, 1),
        local(following.year, following.month, 1),
    )


@asynccontextmanager
async def organisation_db(url: str) -> AsyncIterator[tuple[Database, ManualClock]]:
    """An empty store with every feature's tables, and a clock the test sets."""
    clock = ManualClock()
    db = Database(url, clock=clock, migrations=migrations(FEATURES))
    await db.upgrade()
    try:
        yield db, clock
    finally:
        await db.dispose()


async def figures_of(db: Database, figures: Figures | None, span: Span) -> dict[str, Figure]:
    assert figures is not None
    async with db.session() as session:
        found = await figures(Repositories(session), span)
    return {figure.label: figure for figure in found}


def test_the_four_features_give_figures_and_their_labels_are_translated() -> None:
    chinese = Translator("zh_Hans")
    labels = (
        PARTICIPATION,
        ANSWERS,
        ACKNOWLEDGED,
        ROUNDS,
        RESPONSE,
        OVERALL,
        LETTERS,
        IN_TIME,
        RATING,
    )
    with_figures = {feature.name for feature in FEATURES if feature.figures is not None}
    assert with_figures == {"learning", "broadcast", "appraisal", "mailbox"}
    for label in labels:
        assert chinese.text(label) != label, label


# -- learning -------------------------------------------------------------------------------


async def test_learning_participation_and_answers(database_url: str) -> None:
    async with organisation_db(database_url) as (db, clock):
        main, (ann, bo, _cy, _dee, eve) = await branch_with_members(
            db, "Main", ["Ann", "Bo", "Cy", "Dee", "Eve"]
        )
        north, (noa, _nia) = await branch_with_members(db, "North", ["Noa", "Nia"])
        empty, _ = await branch_with_members(db, "Empty", [])
        async with db.session() as session:
            await Repositories(session).get(Learning).import_bank(BANK)
        answered = 0

        async def answer(member: int, branch: int, moment: datetime, times: int = 1) -> None:
            nonlocal answered
            clock.set(moment)
            async with db.session() as session:
                repos = Repositories(session)
                store = repos.get(Learning)
                for card in await store.cards(member, await store.sample(None, times)):
                    answered += 1
                    store.record_answer(
                        member, branch, card, f"t:{answered}", "quiz", True, 4, moment.date()
                    )
                await repos.flush()

        await answer(ann, main, local(2026, 3, 1, 0, 0), times=3)  # the month's first minute
        await answer(bo, main, local(2026, 3, 31, 23, 59))
        await answer(noa, north, local(2026, 3, 15))
        await answer(eve, main, local(2026, 3, 16))  # then Eve leaves the branch
        await answer(_cy, main, local(2026, 3, 1) - timedelta(seconds=1))  # February's
        await answer(_dee, main, local(2026, 4, 1))  # April's first moment
        async with db.session() as session:
            await Repositories(session).people.leave_branch(eve)

        march = await figures_of(db, learning.FEATURE.figures, month(2026, 3, [main]))
        # Ann and Bo of the four members Main has now; Eve's answer still counts as Main's.
        assert march[PARTICIPATION] == Figure(PARTICIPATION, 0.5, Unit.SHARE, of=4)
        assert march[ANSWERS] == Figure(ANSWERS, 5.0, Unit.COUNT)

        whole = await figures_of(db, learning.FEATURE.figures, month(2026, 3))
        assert whole[PARTICIPATION] == Figure(PARTICIPATION, 3 / 6, Unit.SHARE, of=6)
        assert whole[ANSWERS].value == 6

        both = await figures_of(db, learning.FEATURE.figures, month(2026, 3, [main, north]))
        assert both[PARTICIPATION] == whole[PARTICIPATION]

        # Nobody to measure: no participation at all, rather than 0%.
        nobody = await figures_of(db, learning.FEATURE.figures, month(2026, 3, [empty]))
        assert nobody[PARTICIPATION] == Figure(PARTICIPATION, None, Unit.SHARE, of=0)
        assert nobody[ANSWERS].value == 0

        # A month when the members answered nothing: measured, and nobody took part.
        may = await figures_of(db, learning.FEATURE.figures, month(2026, 5, [main]))
        assert may[PARTICIPATION] == Figure(PARTICIPATION, 0.0, Unit.SHARE, of=4)
        assert may[ANSWERS].value == 0
        april = await figures_of(db, learning.FEATURE.figures, month(2026, 4))
        assert (april[PARTICIPATION].value, april[ANSWERS].value) == (1 / 6, 1)


# -- broadcast ------------------------------------------------------------------------------


async def test_broadcast_received_rate(database_url: str) -> None:
    async with organisation_db(database_url) as (db, clock):
        main, (ann, bo, cy) = await branch_with_members(db, "Main", ["Ann", "Bo", "Cy"])
        north, (noa,) = await branch_with_members(db, "North", ["Noa"])

        async def notice(moment: datetime, ack: bool, members: list[tuple[int, int]]) -> int:
            clock.set(moment)
            async with db.session() as session:
                store = Repositories(session).get(Broadcasts)
                made = await store.create(
                    report_to={},
                    text=[["t", "Hello"]],
                    category="notice",
                    branch_ids={"all": True},
                    rooms=True,
                    members=True,
                    ack=ack,
                    created_by=None,
                )
                # The branch room's row owes no acknowledgement; each member's row owes one.
                destinations: list[tuple[int | None, int, str, bool]] = [
                    (None, main, "room", False),
                    *((m, b, f"dm-{m}", True) for m, b in members),
                ]
                await store.add_recipients(
                    [
                        {
                            "broadcast_id": made.id,
                            "member_id": member,
                            "branch_id": branch,
                            "name": "",
                            "locale": None,
                            "platform": "memory",
                            "chat_id": chat,
                            "direct": direct,
                            "user_id": None,
                            "status": "outbox",
                        }
                        for member, branch, chat, direct in destinations
                    ]
                )
                return made.id

        everyone = [(ann, main), (bo, main), (cy, main), (noa, north)]
        march = await notice(local(2026, 3, 5), True, everyone)
        no_ack = await notice(local(2026, 3, 20), False, everyone)
        late = await notice(local(2026, 4, 1) - timedelta(seconds=1), True, [(bo, main)])
        february = await notice(local(2026, 2, 28, 23, 59), True, everyone)
        clock.set(local(2026, 4, 3))
        async with db.session() as session:
            store = Repositories(session).get(Broadcasts)
            for number, member in (
                (march, ann),
                (march, cy),
                (late, bo),
                (no_ack, bo),
                (february, noa),
            ):
                assert await store.acknowledge(number, member) is True

        one = await figures_of(db, broadcast.FEATURE.figures, month(2026, 3, [main]))
        # Main owed four (three for the notice of 5 March, Bo's for the one of the 31st), the
        # room's row owes none, and the notice without "received" counts for nothing.
        assert one[ACKNOWLEDGED] == Figure(ACKNOWLEDGED, 3 / 4, Unit.SHARE, of=4)
        north_only = await figures_of(db, broadcast.FEATURE.figures, month(2026, 3, [north]))
        assert north_only[ACKNOWLEDGED] == Figure(ACKNOWLEDGED, 0.0, Unit.SHARE, of=1)
        whole = await figures_of(db, broadcast.FEATURE.figures, month(2026, 3))
        assert whole[ACKNOWLEDGED] == Figure(ACKNOWLEDGED, 3 / 5, Unit.SHARE, of=5)
        february_north = await figures_of(db, broadcast.FEATURE.figures, month(2026, 2, [north]))
        assert february_north[ACKNOWLEDGED].value == 1.0

        april = await figures_of(db, broadcast.FEATURE.figures, month(2026, 4))
        assert april[ACKNOWLEDGED] == Figure(ACKNOWLEDGED, None, Unit.SHARE, of=0)


# -- appraisal ------------------------------------------------------------------------------

TEMPLATE = """survey: monthly-pulse
title: {en: Pulse, zh_Hans: "脉搏"}
sections:
  - title: {en: The branch, zh_Hans: "支部"}
    questions:
      - key: mood
        kind: scale
        points: 5
        text: {en: How is the branch doing?, zh_Hans: "支部如何？"}
        labels:
          1: {en: Poorly, zh_Hans: "差"}
          5: {en: Very well, zh_Hans: "很好"}
""".encode()
K = 5


async def test_appraisal_rounds_response_and_the_k_rule(database_url: str) -> None:
    async with organisation_db(database_url) as (db, clock):
        main, main_members = await branch_with_members(
            db, "Main", ["Ann", "Bo", "Cy", "Dee", "Eve", "Fay"]
        )
        north, north_members = await branch_with_members(db, "North", ["Noa", "Nia", "Ned"])
        loaded = parse_template(TEMPLATE, "pulse.yaml")
        assert loaded.template is not None, loaded.errors
        clock.set(local(2026, 3, 10))
        async with db.session() as session:
            store = Repositories(session).get(Appraisal)
            template_id = await store.add_template(loaded.template)
            opened = await store.open_round(
                template_id, [main, north], clock.now() + timedelta(days=7), None, K
            )
        mixer = Mixer(db)
        given = [(main, m, p) for m, p in zip(main_members, (5, 5, 4, 4, 2), strict=False)]
        given += [(north, m, 1) for m in north_members[:2]]
        for branch, member, points in given:
            clock.advance(minutes=5)
            async with db.session() as session:
                store = Repositories(session).get(Appraisal)
                result = await store.submit(opened.number, member, branch, {"mood": points}, {})
                assert result == "submitted"
            await mixer.tick()

        # Running: the response rate is there, the overall result waits for the seal.
        running = await figures_of(db, appraisal.FEATURE.figures, month(2026, 3, [main]))
        assert running[ROUNDS] == Figure(ROUNDS, 1.0, Unit.COUNT)
        assert running[RESPONSE] == Figure(RESPONSE, 5 / 6, Unit.SHARE, of=6)
        assert running[OVERALL].value is None

        clock.set(local(2026, 3, 18))
        await mixer.tick()
        async with db.session() as session:
            sealed = await Repositories(session).get(Appraisal).round(opened.number)
        assert sealed is not None and sealed.sealed

        one = await figures_of(db, appraisal.FEATURE.figures, month(2026, 3, [main]))
        assert one[RESPONSE] == Figure(RESPONSE, 5 / 6, Unit.SHARE, of=6)
        # 5, 5, 4, 4 and 2 of 1 to 5: a mean of 4, three quarters of the scale.
        assert one[OVERALL] == Figure(OVERALL, 0.75, Unit.SHARE)

        # Two answers: below k, North shows its response rate and nothing of what it answered.
        small = await figures_of(db, appraisal.FEATURE.figures, month(2026, 3, [north]))
        assert small[ROUNDS].value == 1
        assert small[RESPONSE] == Figure(RESPONSE, 2 / 3, Unit.SHARE, of=3)
        assert small[OVERALL].value is None

        # The organisation counts North's answers with the others ("other branches").
        whole = await figures_of(db, appraisal.FEATURE.figures, month(2026, 3))
        assert whole[RESPONSE] == Figure(RESPONSE, 7 / 9, Unit.SHARE, of=9)
        assert whole[OVERALL].value == pytest.approx((22 / 7 - 1) / 4)

        # No round ran in February or in April.
        for before_or_after in (month(2026, 2), month(2026, 4, [main])):
            nothing = await figures_of(db, appraisal.FEATURE.figures, before_or_after)
            assert nothing[ROUNDS] == Figure(ROUNDS, 0.0, Unit.COUNT)
            assert nothing[RESPONSE] == Figure(RESPONSE, None, Unit.SHARE, of=0)
            assert nothing[OVERALL].value is None


# -- mailbox --------------------------------------------------------------------------------


async def test_mailbox_letters_in_time_and_rating(database_url: str) -> None:
    relay = relay_of(MailboxConfig.model_validate({"relay_key": "cd" * 32}))
    async with organisation_db(database_url) as (db, clock):
        main, (ann, bo) = await branch_with_members(db, "Main", ["Ann", "Bo"])
        north, (noa,) = await branch_with_members(db, "North", ["Noa"])
        written = 0

        async def letter(
            branch: int | None,
            writer: int,
            on: date,
            due: date,
            answered: date | None = None,
            rating: int | None = None,
            anonymous: bool = False,
        ) -> None:
            nonlocal written
            written += 1
            clock.set(local(on.year, on.month, on.day, 10))
            async with db.session() as session:
                draft = Draft(anonymous, "work", "Hi", branch, writer, due, due, f"d{written}")
                made = await Repositories(session).get(Mailbox).write(draft, relay, on)
                made.answered_on = answered
                made.rating = rating

        await letter(main, ann, date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 4), 4)
        await letter(main, bo, date(2026, 3, 10), date(2026, 3, 13), date(2026, 3, 16), 2)
        await letter(main, ann, date(2026, 3, 31), date(2026, 4, 3))  # not due yet
        await letter(north, noa, date(2026, 3, 15), date(2026, 3, 18))  # overdue
        await letter(None, noa, date(2026, 3, 5), date(2026, 3, 8))  # to the admins
        await letter(main, bo, date(2026, 2, 28), date(2026, 3, 3), date(2026, 3, 3), 5)
        await letter(main, bo, date(2026, 3, 20), date(2026, 3, 25), anonymous=True)  # unreleased
        await letter(main, bo, date(2026, 4, 1), date(2026, 4, 6), date(2026, 4, 1), 1)
        clock.set(local(2026, 4, 2, 9))

        one = await figures_of(db, mailbox.FEATURE.figures, month(2026, 3, [main]))
        assert one[LETTERS] == Figure(LETTERS, 3.0, Unit.COUNT)
        assert one[IN_TIME] == Figure(IN_TIME, 1 / 2, Unit.SHARE, of=2)
        assert one[RATING] == Figure(RATING, 3.0, Unit.STARS, of=2)

        north_only = await figures_of(db, mailbox.FEATURE.figures, month(2026, 3, [north]))
        assert north_only[IN_TIME] == Figure(IN_TIME, 0.0, Unit.SHARE, of=1)
        assert north_only[RATING] == Figure(RATING, None, Unit.STARS, of=0)

        whole = await figures_of(db, mailbox.FEATURE.figures, month(2026, 3))
        assert whole[LETTERS].value == 5
        assert whole[IN_TIME] == Figure(IN_TIME, 1 / 4, Unit.SHARE, of=4)

        # Past its deadline (3 April, Beijing time) the unanswered letter of 31 March is due.
        clock.set(local(2026, 4, 4, 0, 30))
        later = await figures_of(db, mailbox.FEATURE.figures, month(2026, 3, [main]))
        assert later[IN_TIME] == Figure(IN_TIME, 1 / 3, Unit.SHARE, of=3)

        april = await figures_of(db, mailbox.FEATURE.figures, month(2026, 4, [main]))
        assert [f.value for f in april.values()] == [1.0, 1.0, 1.0]

        may = await figures_of(db, mailbox.FEATURE.figures, month(2026, 5))
        assert may[LETTERS] == Figure(LETTERS, 0.0, Unit.COUNT)
        assert may[IN_TIME] == Figure(IN_TIME, None, Unit.SHARE, of=0)
        assert may[RATING] == Figure(RATING, None, Unit.STARS, of=0)
