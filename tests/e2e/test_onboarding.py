"""Every onboarding command end to end: signed HTTP in, the core, the store, signed HTTP out."""

from __future__ import annotations

from tests.support.chat import code_in
from tests.support.lab_onboarding import organisation
from tests.support.webhook import Lab


async def test_help_lists_what_the_caller_may_use(lab: Lab) -> None:
    guest = await lab.say("guest", "/help")
    assert "/join" in guest and "/me" in guest
    assert "/branch add" not in guest and "/invite" not in guest
    admin = await lab.say("boss", "/help")
    assert "/branch add <name>" in admin and "/invite" in admin and "/bind" in admin
    start = await lab.say("guest", "/start")
    assert "/join <code>" in start and "/help" in start


async def test_branches_invites_and_joining(lab: Lab) -> None:
    assert "There are no branches yet" in await lab.say("boss", "/branches")
    assert "created" in await lab.say("boss", "/branch add Main Library")
    assert "already exists" in await lab.say("boss", "/branch add main   LIBRARY")
    await lab.say("boss", "/branch add Science")
    listing = await lab.say("boss", "/branches")
    assert "2 branches" in listing and "Main Library — 0 members" in listing

    invite = await lab.ask("boss", "/invite Main Library secretary")
    assert "`" in invite[0]["markdown"]
    sam_code = code_in(invite[0]["text"])
    welcome = await lab.say("sam", f"/join {sam_code.lower()}")
    assert "secretary of Main Library" in welcome
    assert "not a valid invite code" in await lab.say("max", f"/join {sam_code}")

    me = await lab.say("sam", "/me")
    assert "Branch: Main Library" in me and "secretary of Main Library" in me
    listing = await lab.say("boss", "/branches")
    assert "Main Library — 1 member, 1 secretary, 0 rooms" in listing


async def test_join_without_code_asks_for_it(lab: Lab) -> None:
    await lab.say("boss", "/branch add Library")
    code = code_in(await lab.say("boss", "/invite Library"))
    assert "invite code" in await lab.say("mei", "/join")
    assert "not a valid invite code" in await lab.say("mei", "WRONG123")
    assert "Welcome to Library" in await lab.say("mei", f" {code[:4]}-{code[4:]} ")
    assert "only respond to commands" in await lab.say("mei", "hello again")


async def test_invite_by_buttons(lab: Lab) -> None:
    await lab.say("boss", "/branch add Library")
    await lab.say("boss", "/branch add Archive")
    pick_branch = (await lab.ask("boss", "/invite"))[0]
    labels = [c["label"] for row in pick_branch["choices"] for c in row]
    assert labels == ["Archive", "Library"]
    library = next(c for row in pick_branch["choices"] for c in row if c["label"] == "Library")
    pick_role = (await lab.ask("boss", choice=library["payload"], message_id=pick_branch["id"]))[0]
    assert [c["label"] for row in pick_role["choices"] for c in row] == ["member", "secretary"]
    member = pick_role["choices"][0][0]
    invite = await lab.say("boss", choice=member["payload"])
    assert "Invite to **Library** as member".replace("**", "") in invite
    stale = await lab.say("boss", choice=library["payload"])
    assert "earlier question" in stale or "already ended" in stale


async def test_revoke(lab: Lab) -> None:
    await lab.say("boss", "/branch add Library")
    code = code_in(await lab.say("boss", "/invite Library"))
    assert "withdrawn" in await lab.say("boss", f"/revoke {code}")
    assert "already withdrawn" in await lab.say("boss", f"/revoke {code}")
    assert "not a valid invite code" in await lab.say("mei", f"/join {code}")
    assert "no invite code" in await lab.say("boss", "/revoke NOPE2345")


async def test_bind_and_unbind(lab: Lab) -> None:
    await organisation(lab)
    assert "direct chat" not in await lab.say("sam", "/bind Main Library", chat="room-1")
    assert "already bound to" in await lab.say("sam", "/bind main library", chat="room-1")
    assert "group room" in await lab.say("sam", "/bind Main Library")
    assert "1 room" in await lab.say("boss", "/branches")
    assert "no longer bound to Main Library" in await lab.say("sam", "/unbind", chat="room-1")
    assert "not bound" in await lab.say("sam", "/unbind", chat="room-1")


async def test_language(lab: Lab) -> None:
    assert "中文" in await lab.say("mei", "/lang zh")
    me = await lab.say("mei", "/me")
    assert "中文" in me and "Branch" not in me
    buttons = (await lab.ask("mei", "/lang"))[0]
    english = next(c for row in buttons["choices"] for c in row if c["label"] == "English")
    assert "English" in await lab.say("mei", choice=english["payload"])
    assert "Language: English" in await lab.say("mei", "/me")


async def test_link_two_accounts(lab: Lab) -> None:
    await organisation(lab)
    answer = await lab.say("mei", "/link")
    code = code_in(answer)
    assert "same account" in await lab.say("mei", f"/link {code}")
    confirm = (await lab.ask("mei-phone", f"/link {code}"))[0]
    assert "Link two accounts?" in confirm["text"]
    link = next(c for row in confirm["choices"] for c in row if c["label"] == "Link")
    assert "one member now" in await lab.say("mei-phone", choice=link["payload"])
    me = await lab.say("mei-phone", "/me")
    assert "Main Library" in me and "webhook:lab:mei" in me and "webhook:lab:mei-phone" in me
    assert "not valid" in await lab.say("max", f"/link {code}")


async def test_cancel(lab: Lab) -> None:
    assert "nothing to stop" in await lab.say("mei", "/cancel")
    await lab.say("mei", "/join")
    assert "Stopped" in await lab.say("mei", "/cancel")
    assert "only respond to commands" in await lab.say("mei", "ABCDEFGH")


async def test_unknown_and_refused_commands_change_nothing(lab: Lab) -> None:
    assert "Did you mean /help" in await lab.say("mei", "/hlep")
    assert "/help lists" in await lab.say("mei", "/xyzzy")
    assert "Only admins" in await lab.say("mei", "/branch add Mine")
    assert "Only admins" in await lab.say("mei", "/branch")
    assert "Usage" in await lab.say("boss", "/branch add")
    assert "Usage" in await lab.say("boss", "/branch")
    assert "Usage" in await lab.say("boss", "/revoke")
    assert "There are no branches yet" in await lab.say("boss", "/branches")
    assert "direct chat" in await lab.say("mei", "/join ABCDEFGH", chat="room-1")


async def test_room_chatter_is_left_alone(lab: Lab) -> None:
    assert await lab.ask("mei", "just chatting", chat="room-1") == []
    assert await lab.ask("mei", "1", chat="room-1") == []
