"""What the /broadcast prompt promises about formatting is what members receive."""

from __future__ import annotations

from tests.support.lab_broadcasts import compose, organisation
from tests.support.webhook import Lab, to, until


async def test_the_prompt_shows_the_syntax_and_italic_arrives_italic(lab: Lab) -> None:
    await organisation(lab)
    prompt = await lab.say("sam", "/broadcast")
    for syntax in ("**bold**", "_italic_", "`code`", "[label](https://example.org)"):
        assert syntax in prompt, prompt
    await lab.say("sam", "/cancel")
    answers = await compose(
        lab, "sam", "Meeting _on time_, **Friday**", "Members", "Notice", "No", "Send now"
    )
    await lab.ask("sam", choice=next(c["payload"] for c in answers[-1]["choices"][0]))
    mei = await until(lab, lambda m: to("mei")(m) and "Friday" in m["text"])
    assert "Meeting on time, Friday" in mei["text"]
    assert "Meeting *on time*, **Friday**" in mei["markdown"]
    await until(lab, lambda m: to("sam")(m) and "delivered" in m["text"])
    await lab.bot.idle()
