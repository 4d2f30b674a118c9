"""Rules end to end: admins add, edit, move and remove rules; fans read them; a posted rules
message follows every change, and is posted again if someone deleted it."""

from __future__ import annotations

import pytest

from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, MemberHandle
from sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


async def add_rule(admin: MemberHandle, title: str, body: str = "", **options: int) -> str:
    opened = await admin.run_command("manage-rules add", **options)
    submitted = await admin.submit_modal(opened, {"rule-title": title, "rule-body": body})
    return (await submitted.message()).content


def field_names(embed: dict) -> list[str]:
    return [field["name"] for field in embed.get("fields", [])]


async def test_rules_are_added_edited_moved_removed_and_shown(
    guild: GuildHandle, bot: BotProcess
) -> None:
    owner, fan = guild.owner, guild.member("fan")
    assert await add_rule(owner, "Be kind", "No hate, no harassment.") == "Added rule 1: Be kind."
    await add_rule(owner, "No leaks")
    assert await add_rule(owner, "No deepfakes", "Ever.", position=1) == (
        "Added rule 1: No deepfakes."
    )

    opened = await owner.run_command("manage-rules edit", number=3)
    modal = await opened.modal()
    assert "No leaks" in str(modal)  # the form opens filled in
    edited = await owner.submit_modal(
        opened, {"rule-title": "No leaks or spoilers", "rule-body": "Use spoiler tags."}
    )
    assert (await edited.message()).content == "Edited rule 3: No leaks or spoilers."

    moved = await owner.run_command("manage-rules move", number=3, to=2)
    assert "to number 2" in (await moved.message()).content
    removed = await owner.run_command("manage-rules remove", number=1)
    assert (await removed.message()).content == "Removed rule 1: No deepfakes."

    shown = await fan.run_command("rules")
    message = await shown.message()
    assert shown.ephemeral
    assert field_names(message.embeds[0]) == ["1. No leaks or spoilers", "2. Be kind"]
    one = await (await fan.run_command("rules", number=2)).message()
    assert one.embeds[0]["title"] == "Rule 2: Be kind"
    assert one.embeds[0]["description"] == "No hate, no harassment."


async def test_unknown_rule_numbers_get_a_clear_private_answer(
    guild: GuildHandle, bot: BotProcess
) -> None:
    await add_rule(guild.owner, "Be kind")
    answer = await guild.member("fan").run_command("rules", number=4)
    assert (await answer.message()).content == "There's no rule 4; this server has 1 rule."
    assert answer.ephemeral
    removed = await guild.owner.run_command("manage-rules remove", number=2)
    assert (await removed.message()).content == "There's no rule 2. Nothing changed."


async def test_only_moderators_post_rules_publicly(guild: GuildHandle, bot: BotProcess) -> None:
    await add_rule(guild.owner, "Be kind")
    fan_try = await guild.member("fan").run_command("rules", public=True)
    fan_message = await fan_try.message()
    assert fan_try.ephemeral and fan_message.content.startswith("Only moderators")
    mod_post = await guild.member("moderator").run_command("rules", public=True)
    assert not mod_post.ephemeral
    assert field_names((await mod_post.message()).embeds[0]) == ["1. Be kind"]


async def test_rules_longer_than_one_message_are_refused_and_nothing_changes(
    guild: GuildHandle, bot: BotProcess
) -> None:
    for number in range(5):
        await add_rule(guild.owner, f"Rule {number}", "x" * 1000)
    answer = await add_rule(guild.owner, "One too many", "y" * 1000)
    assert "under 6000 characters" in answer and answer.endswith("Nothing changed.")
    shown = await (await guild.member("fan").run_command("rules")).message()
    assert len(shown.embeds[0]["fields"]) == 5


async def test_posted_rules_follow_edits_and_come_back_when_deleted(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    owner = guild.owner
    rules_channel = guild.add_channel("rules")
    empty = await owner.run_command("manage-rules post", channel=rules_channel)
    assert "hasn't written any rules" in (await empty.message()).content
    await add_rule(owner, "Be kind")
    posted = await owner.run_command("manage-rules post", channel=rules_channel)
    assert "Posted the rules" in (await posted.followup()).content
    (post,) = [m for m in sandbox.world.messages.values() if m.channel_id == rules_channel.id]
    assert field_names(post.embeds[0]) == ["1. Be kind"]

    await add_rule(owner, "No leaks")
    await sandbox.wait_for_call("PATCH", "/channels/{channel_id}/messages/{message_id}")
    assert field_names(post.embeds[0]) == ["1. Be kind", "2. No leaks"]

    await owner.delete(post)
    before_change = len(sandbox.calls)
    await add_rule(owner, "No deepfakes", position=1)
    await sandbox.wait_for_call("POST", "/channels/{channel_id}/messages", since=before_change)
    live = [
        m
        for m in sandbox.world.messages.values()
        if m.channel_id == rules_channel.id and not m.deleted
    ]
    assert len(live) == 1 and live[0].id != post.id
    assert field_names(live[0].embeds[0])[0] == "1. No deepfakes"
