"""A branch's health report offers each problem of its problem list as a rectification task:
one press (the branch's secretary), the owner and the deadline, and the task carries the
problem's words; the same problem is not made twice, and another branch's secretary cannot."""

from __future__ import annotations

from sqlalchemy import select

from dialogs.supervision.tables import Task
from tests.support.appraisal import import_template
from tests.support.appraisal_rounds import HEALTH, MAIN_SCALES, held_round, prepare
from tests.support.broadcasts import button, plain, press, say
from tests.support.chat import BotFactory


async def test_a_problem_becomes_a_task(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    branches = await prepare(bot, adapter)
    template_id = await import_template(bot, HEALTH)
    number = await held_round(bot, branches, template_id, MAIN_SCALES, remarks=5)

    answers = await say(bot, adapter, "sam", f"/survey report R{number} Main")
    assert "Make a problem of Main's list a rectification task" in plain(answers)
    first = button(answers, "Task for problem 1")
    assert len(first.encode()) <= 64  # a Telegram button's callback data

    # North's secretary may not make Main's tasks, even with the button's payload.
    assert "Only the branch's secretaries" in plain(await press(bot, adapter, "nia", first))

    answers = await press(bot, adapter, "sam", first)
    assert "Who owns it?" in plain(answers)
    answers = await press(bot, adapter, "sam", button(answers, "Mei"))
    answers = await press(bot, adapter, "sam", button(answers, "in a month"))
    made = plain(answers)
    assert "is made: Duty, owned by Mei" in made, made  # the weakest item (0%)
    async with bot.db.session() as session:
        task = await session.scalar(select(Task))
        assert task is not None and task.branch_id == branches["Main"]
        assert task.source == f"appraisal:R{number}:{branches['Main']}:1"

    again = plain(await press(bot, adapter, "sam", first))
    assert f"That problem is already task T{task.id}" in again
    # The organisation's report offers no buttons for a branch the reader does not manage.
    north = plain(await say(bot, adapter, "nia", f"/survey report R{number}"))
    assert "rectification task" not in north
