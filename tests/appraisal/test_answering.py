"""Answering a round in a direct chat: one question at a time with Back, Skip and Next, a
draft that survives a restart and a broadcast written in between, the excellent quota, the
review and Submit, a second attempt, a late answer, and numbers typed where there are no
buttons."""

from __future__ import annotations

from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.messages import Capabilities
from dialogs.appraisal.repository import Appraisal
from store.models import Conversation, OutboxRow
from store.repos import Repositories
from tests.support.appraisal import (
    answer_all,
    button,
    closing,
    import_template,
    invitations_out,
    join,
    open_round,
    organisation,
    to,
)
from tests.support.broadcasts import plain, press, say
from tests.support.chat import BotFactory, ask, code_in, settle


async def submitted(bot: object, number: int, member: int) -> bool:
    async with bot.db.session() as session:  # type: ignore[attr-defined]
        return await Repositories(session).get(Appraisal).has_submitted(number, member)


async def test_one_question_at_a_time_back_skip_review_submit(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    answers = await press(bot, adapter, "mei", button(to(adapter, "mei"), "Start"))
    text = plain(answers)
    assert "Branch appraisal" in text and "1/5" in text and "How is the branch doing?" in text
    assert "About the branch" in text and "1: Poorly" in text
    assert "Skip" not in str(answers[-1].message.choices)  # a required question
    answers = await press(bot, adapter, "mei", button(answers, "4"))
    assert "2/5" in plain(answers) and "1. Weekly" in plain(answers)
    answers = await press(bot, adapter, "mei", button(answers, "Back"))
    assert "1/5" in plain(answers)
    assert button(answers, "✓ 4") == button(answers, "4")
    answers = await press(bot, adapter, "mei", button(answers, "Next"))
    answers = await press(bot, adapter, "mei", button(answers, "Monthly"))
    assert "3/5" in plain(answers) and "Choose 1 to 2, then Done." in plain(answers)
    answers = await press(bot, adapter, "mei", button(answers, "Done"))
    assert "Please choose 1 to 2 options (you chose 0)." in plain(answers)
    answers = await press(bot, adapter, "mei", button(answers, "Study"))
    answers = await press(bot, adapter, "mei", button(answers, "Sport"))
    answers = await press(bot, adapter, "mei", button(answers, "Done"))
    assert "4/5" in plain(answers) and "at most 50 characters" in plain(answers)
    answers = await say(bot, adapter, "mei", "x" * 51)
    assert "must be 1 to 50 characters long (it has 51)" in plain(answers)
    answers = await say(bot, adapter, "mei", "More sport, please")
    text = plain(answers)
    assert "5/5" in text and "Your colleagues" in text and "Member 1 of 3: Kai" in text
    for name in ("Lin", "Sam"):
        answers = await press(bot, adapter, "mei", button(answers, "Competent"))
        assert f"of 3: {name}" in plain(answers)
    answers = await press(bot, adapter, "mei", button(answers, "Excellent"))
    review = plain(answers)
    assert "Your answers to survey R1" in review
    assert "1. How is the branch doing?: 4" in review
    assert "3. Which topics?: Study, Sport" in review
    assert "Excellent 1, Competent 2, Basically competent 0, Not competent 0" in review
    answers = await press(bot, adapter, "mei", button(answers, "Submit"))
    assert "your answers to survey R1 are submitted" in plain(answers)
    assert await submitted(bot, 1, await member_id(bot, "mei"))
    await settle(bot)
    assert not [text for text in await outbox_texts(bot, "dm-mei") if "How is the branch" in text]
    assert [text for text in await outbox_texts(bot, "dm-mei") if "invited" in text]
    again = await press(bot, adapter, "mei", button(to(adapter, "mei"), "Start"))
    assert "already submitted your answers to survey R1" in plain(again)
    again = await say(bot, adapter, "mei", "/survey answer R1")
    assert "already submitted" in plain(again)


async def outbox_texts(bot: object, chat: str) -> list[str]:
    """The stored text of every outbox row of ``chat``."""
    async with bot.db.session() as session:  # type: ignore[attr-defined]
        payloads = await session.scalars(select(OutboxRow.payload).where(OutboxRow.chat_id == chat))
        return [str(payload) for payload in payloads]


async def member_id(bot: object, user: str) -> int:
    async with bot.db.session() as session:  # type: ignore[attr-defined]
        account = await Repositories(session).people.account("memory", user)
        assert account is not None
        return account.member_id


async def test_skip_is_for_optional_questions_and_required_ones_are_named(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    review = await answer_all(bot, adapter, "kai")
    assert "3. Which topics?: (skipped)" in plain(review)
    answers = await press(bot, adapter, "kai", button(review, "From the first question"))
    assert "1/5" in plain(answers) and "✓ 4" in str(answers[-1].message.choices)
    answers = await press(bot, adapter, "kai", button(answers, "Next"))
    answers = await press(bot, adapter, "kai", button(answers, "Next"))
    assert "3/5" in plain(answers) and "Skip" in str(answers[-1].message.choices)


async def test_the_draft_survives_a_restart_and_the_invitation_resumes_it(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    start = button(to(adapter, "mei"), "Start")
    answers = await press(bot, adapter, "mei", start)
    answers = await press(bot, adapter, "mei", button(answers, "4"))
    answers = await press(bot, adapter, "mei", button(answers, "Later"))
    assert "Your answers so far are kept until the survey closes" in plain(answers)
    await bot.stop()
    bot, adapter = await make_bot(MemoryAdapter())
    answers = await press(bot, adapter, "mei", start)
    assert "2/5" in plain(answers) and "How often should we meet?" in plain(answers)
    answers = await say(bot, adapter, "mei", "/survey answer 1")
    assert "2/5" in plain(answers)
    answers = await press(bot, adapter, "mei", button(answers, "Back"))
    assert "✓ 4" in str(answers[-1].message.choices)


async def test_a_broadcast_written_in_between_does_not_lose_the_survey(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    answers = await press(bot, adapter, "sam", button(to(adapter, "sam"), "Start"))
    survey = await press(bot, adapter, "sam", button(answers, "4"))
    assert "Send the text of the notice" in plain(await say(bot, adapter, "sam", "/broadcast"))
    answers = await press(bot, adapter, "sam", button(survey, "Weekly"))
    assert "3/5" in plain(answers)
    answers = await say(bot, adapter, "sam", "Meeting on Friday")
    assert "To which branches" in plain(answers) or "Where shall it go" in plain(answers)


async def test_the_excellent_quota_is_checked_before_moving_on(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    answers = await answer_all(bot, adapter, "lin", grade="Excellent")
    text = plain(answers)
    assert (
        "You graded 3 members “Excellent”, but at most 1 of the 3 may be. "
        "Please change some of the grades."
    ) in text
    assert "Member 1 of 3: Kai" in text and "Your answers to survey" not in text
    answers = await press(bot, adapter, "lin", button(answers, "Competent"))
    answers = await press(bot, adapter, "lin", button(answers, "Competent"))
    answers = await press(bot, adapter, "lin", button(answers, "Excellent"))
    assert "Your answers to survey R1" in plain(answers)
    answers = await press(bot, adapter, "lin", button(answers, "Submit"))
    assert "are submitted" in plain(answers)


async def test_the_quota_is_configurable(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(appraisal={"excellent_quota": 1.0})
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    answers = await answer_all(bot, adapter, "lin", grade="Excellent")
    assert "Your answers to survey R1" in plain(answers)


async def test_after_closing_answers_are_refused_politely(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    answers = await press(bot, adapter, "mei", button(to(adapter, "mei"), "Start"))
    assert "is closed" in plain(await say(bot, adapter, "boss", "/survey close R1"))
    late = await press(bot, adapter, "mei", button(answers, "4"))
    assert "Survey R1 has closed, so it takes no more answers." in plain(late)
    late = await press(bot, adapter, "kai", button(to(adapter, "kai"), "Start"))
    assert "Survey R1 has closed" in plain(late)
    async with bot.db.session() as session:
        rows = (await session.execute(Conversation.__table__.select())).all()
    assert all(row.dialog != "survey" for row in rows)


async def test_a_member_who_joined_after_opening_is_not_asked(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    await join(bot, adapter, "zoe")
    assert not to(adapter, "zoe") or "invited to answer" not in plain(to(adapter, "zoe"))
    answers = await say(bot, adapter, "zoe", "/survey answer R1")
    assert "Survey R1 is not one you were invited to" in plain(answers)
    answers = await say(bot, adapter, "ned", "/survey answer R1")
    assert "Survey R1 is not one you were invited to" in plain(answers)


async def test_numbers_are_typed_where_there_are_no_buttons(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(MemoryAdapter(capabilities=Capabilities(buttons=False)))
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter, closes=None)
    invitation = plain(to(adapter, "mei"))
    assert "/survey answer R1" in invitation and "1. Start" in invitation
    answers = await say(bot, adapter, "mei", "1")
    assert "1/5" in plain(answers) and "4. 4" in plain(answers)
    answers = await say(bot, adapter, "mei", "4")
    assert "2/5" in plain(answers)
    answers = await say(bot, adapter, "mei", "2")  # 1. Weekly 2. Monthly
    assert "3/5" in plain(answers)
    await settle(bot)


async def test_nobody_else_to_grade_and_one_colleague_with_no_excellent(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await ask(bot, adapter, "boss", "/branch add Solo")
    code = code_in(await ask(bot, adapter, "boss", "/invite Solo member"))
    await ask(bot, adapter, "solo", f"/join {code}")
    await open_round(bot, adapter, branches="All branches")
    answers = await answer_all(bot, adapter, "solo", graded=0)
    assert "There is nobody else in your branch to grade." in plain(answers)
    answers = await press(bot, adapter, "solo", button(answers, "Next"))
    assert "Your answers to survey R1" in plain(answers)
    assert "are submitted" in plain(await press(bot, adapter, "solo", button(answers, "Submit")))
    answers = await answer_all(bot, adapter, "ned", grade="Excellent", graded=1)
    assert "You graded 1 member “Excellent”, but at most 0 of the 1 may be." in plain(answers)


async def test_in_chinese(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(default_locale="zh_Hans")
    await organisation(bot, adapter)
    await import_template(bot)
    answers = await say(bot, adapter, "boss", "/survey open")
    answers = await press(bot, adapter, "boss", button(answers, "支部评议"))
    await say(bot, adapter, "boss", "Main")
    answers = await say(bot, adapter, "boss", closing())
    assert "问卷：支部评议。支部：Main。" in plain(answers)
    report = plain(await press(bot, adapter, "boss", button(answers, "发起")))
    assert "邀请正在发出；全部发出后我会告诉你。" in report
    report += plain(await invitations_out(bot, adapter))
    assert "问卷R1已发起" in report and "已邀请4位成员。" in report
    invitation = to(adapter, "mei")
    assert "请你填写问卷R1" in plain(invitation)
    answers = await press(bot, adapter, "mei", button(invitation, "开始"))
    assert "1/5" in plain(answers) and "支部如何？" in plain(answers)
    for label in ("3", "每周", "跳过", "跳过", "合格", "合格", "优秀"):
        answers = await press(bot, adapter, "mei", button(answers, label))
    review = plain(answers)
    assert "你对问卷R1的回答" in review and "优秀 1、合格 2、基本合格 0、不合格 0" in review
    answers = await press(bot, adapter, "mei", button(answers, "提交"))
    assert "你对问卷R1的回答已提交" in plain(answers)
