"""Trust end to end: moderators act only within their rank, reporters stay unnamed wherever a
fan could read the queue, and a moderator's own message is never auto-hidden, even though the
bot (without member chunking) has never cached the moderator."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from sandbox.botprocess import BotProcess
from sandbox.permissions import Permission
from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from tests.e2e.conftest import StartBot
from tests.e2e.test_config import embed_text as embed_dict_text
from tests.e2e.test_reports import (
    AUTO_HIDE_BY_ANYONE,
    MESSAGE_ROUTE,
    PICTURE,
    arrange,
    buttons,
    click,
    embed_text,
    eventually,
    logged_no_errors,
    queue,
    queue_shows,
    report_message,
    report_user,
)
from tests.e2e.test_rules import add_rule
from tests.e2e.test_takedowns import (
    KNOWN,
    add_second_guild,
    reupload,
    say,
    set_mod_channel,
    wait_for_message,
)
from tests.e2e.test_takedowns import embed_text as takedown_embed_text
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

BAN_ROUTE = "/guilds/{guild_id}/bans/{user_id}"


async def test_a_moderator_bans_a_fan_but_not_an_admin_a_moderator_or_without_ban_members(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    # Every member here joined before the bot started: its member cache holds none of them.
    admin = guild.add_member("admin", roles=[guild.add_role("Admin", Permission.ADMINISTRATOR)])
    other_moderator = guild.add_member("seulgi", roles=[guild.role("Moderator")])
    helper_role = guild.add_role("Helper", 0, position=1)
    guild.set_overwrite(guild.channel("mod-queue"), helper_role, allow=Permission.VIEW_CHANNEL)
    helper = guild.add_member("helper", roles=[helper_role])
    await arrange(tmp_path, guild, mod_role_id=helper_role.id)
    bot = await start_bot(env={"HASH_WORKERS": "1"})
    fan, moderator, reporter = guild.member("fan"), guild.member("moderator"), guild.add_member("a")

    await report_user(reporter, admin, "harassment")
    (on_admin,) = await eventually(lambda: queue(sandbox, guild), "the report on the admin")
    refused = await click(moderator, on_admin, "Ban author")
    answer = await refused.message()
    assert refused.ephemeral and "they are an Administrator" in answer.content

    await report_user(reporter, other_moderator, "harassment")
    on_moderator = await queue_shows(sandbox, guild, 2, "Reporters (1)")
    refused = await click(moderator, on_moderator, "Timeout author")
    assert "they are a moderator" in (await refused.message()).content
    assert other_moderator.member.communication_disabled_until is None

    await report_user(reporter, fan, "harassment")
    on_fan = await queue_shows(sandbox, guild, 3, "Reporters (1)")
    refused = await click(helper, on_fan, "Ban author")
    assert "need the **Ban Members** permission" in (await refused.message()).content
    assert not sandbox.calls_to("PUT", BAN_ROUTE)

    asked = await click(moderator, on_fan, "Ban author")
    await click(moderator, await asked.message(), "Ban")
    banned = await sandbox.wait_for_call("PUT", BAN_ROUTE)
    assert banned.params["user_id"] == str(fan.id)
    assert len(sandbox.calls_to("PUT", BAN_ROUTE)) == 1
    assert logged_no_errors(bot)


async def test_reporters_are_not_named_where_a_verified_role_can_read_the_mod_channel(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    verified = guild.add_role("Verified", 0, position=1)
    mod_queue = guild.channel("mod-queue")
    guild.set_overwrite(mod_queue, verified, allow=Permission.VIEW_CHANNEL)  # @everyone denied
    reporter = guild.add_member("minji", roles=[verified])
    await arrange(tmp_path, guild)
    bot = await start_bot(env={"HASH_WORKERS": "1"})

    await report_user(reporter, guild.member("fan"), "harassment")
    (queued,) = await eventually(lambda: queue(sandbox, guild), "the queue message")
    text = embed_text(queued)
    assert "Not named here" in text and str(reporter.id) not in text
    check = await guild.owner.run_command("config check")
    checked = embed_dict_text((await check.message()).embeds[0])
    assert f"<@&{verified.id}> can read <#{mod_queue.id}>" in checked
    assert "@everyone can read" not in checked

    guild.set_overwrite(mod_queue, verified, deny=Permission.VIEW_CHANNEL)
    await report_user(guild.add_member("hanni"), guild.member("fan"), "spam")
    named = await queue_shows(sandbox, guild, 1, "Reporters (2)")
    assert f"<@{reporter.id}>" in embed_text(named)
    assert logged_no_errors(bot)


async def test_a_moderators_message_is_never_auto_hidden_though_the_bot_never_cached_them(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild, auto_hide_threshold=2, **AUTO_HIDE_BY_ANYONE)
    bot = await start_bot(env={"HASH_WORKERS": "1"})
    moderator, fan = guild.member("moderator"), guild.member("fan")
    general = guild.channel("general")
    picture = [("pic.jpg", encode(photo(PICTURE), "JPEG"))]
    by_moderator = await moderator.send(general, "", files=picture)
    by_fan = await fan.send(general, "", files=picture)
    for name in ("minji", "hanni"):
        reporter = guild.add_member(name)
        await report_message(reporter, by_moderator, "sexualized")
        await report_message(reporter, by_fan, "sexualized")

    await sandbox.wait_for_call(
        "DELETE", MESSAGE_ROUTE, where=lambda c: c.params["message_id"] == str(by_fan.id)
    )
    on_moderator = await queue_shows(sandbox, guild, 1, "Reporters (2)")
    assert "Open: waiting for a moderator" in embed_text(on_moderator)
    assert not by_moderator.deleted
    assert "Take down" in buttons(on_moderator)
    assert logged_no_errors(bot)


async def test_a_rule_with_the_longest_title_allowed_is_shown_by_number(
    guild: GuildHandle, bot: BotProcess
) -> None:
    title = "No reposting of edits " + "x" * 228  # 250 characters, the form's limit
    assert len(title) == 250
    await add_rule(guild.owner, title, "Body.", position=1)
    shown = await (await guild.member("fan").run_command("rules", number=1)).message()
    embed = shown.embeds[0]
    assert len(embed["title"]) <= 256 and embed["title"].startswith("Rule 1: No reposting")
    assert embed["title"].endswith("…") and embed["description"] == "Body."


async def test_debug_logging_writes_no_message_content_report_text_or_interaction_token(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild)
    bot = await start_bot(env={"HASH_WORKERS": "1", "LOG_LEVEL": "DEBUG"})
    fan, reporter = guild.member("fan"), guild.add_member("minji")
    posted = await fan.send(guild.channel("general"), "secret-content-kiwi")
    opened = await reporter.run_message_command("Report message", posted)
    submitted = await reporter.submit_modal(
        opened, {"report-category": ["harassment"], "report-details": "secret-note-mango"}
    )
    await submitted.followup()
    await queue_shows(sandbox, guild, 1, "secret-note-mango")
    assert "Report #1 filed in guild" in bot.stderr  # debug logging is on
    for secret in ("secret-content-kiwi", "secret-note-mango", submitted.interaction.token):
        assert secret not in bot.stderr
    assert logged_no_errors(bot)


async def test_a_shared_label_is_shown_inert_and_a_new_share_code_shuts_the_old_one_out(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    publisher = guild.owner
    label = "@everyone **free** [prize](https://phish.example/x)"
    await say(
        publisher,
        "takedown add",
        image=("fake.png", encode(photo(KNOWN), "PNG")),
        label=label,
        share_label=True,
    )
    code = re.search(r"Its code is `([^`]+)`", await say(publisher, "takedown share"))
    assert code
    subscriber = add_second_guild(sandbox, "Subscriber")
    await sandbox.gateway.flushed()
    await set_mod_channel(subscriber)
    await say(subscriber.owner, "takedown subscribe", code=code[1], action="flag")
    await subscriber.member("fan").send(
        subscriber.channel("general"), "", files=[("copy.jpg", reupload())]
    )
    alert = await wait_for_message(sandbox, subscriber.channel("mod-queue").id)
    shown = takedown_embed_text(alert)
    assert "free" in shown and "@everyone" not in shown and "https://phish" not in shown
    assert "**free**" not in shown.replace("\\*", "")  # bold markers are escaped
    assert not alert.content and not alert.mention_everyone

    rotated = await say(publisher, "takedown share", new_code=True)
    new_code = re.search(r"new share code: `([^`]+)`", rotated)
    assert new_code and new_code[1] != code[1] and "1 subscription to the list ended" in rotated
    latecomer = add_second_guild(sandbox, "Latecomer")
    await sandbox.gateway.flushed()
    refused = await say(latecomer.owner, "takedown subscribe", code=code[1], action="remove")
    assert "No shared list has the code" in refused
    joined = await say(latecomer.owner, "takedown subscribe", code=new_code[1], action="remove")
    assert "Subscribed to list" in joined
    left = await say(subscriber.owner, "takedown unsubscribe", code=code[1])
    assert "Unsubscribed" not in left  # the old subscription had already ended


async def test_forget_removes_a_members_reports_and_their_part_in_others(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild)
    bot = await start_bot(env={"HASH_WORKERS": "1"})
    fan, minji, hanni = guild.member("fan"), guild.add_member("minji"), guild.add_member("hanni")
    await report_user(minji, fan, "harassment")
    (about_fan,) = await eventually(lambda: queue(sandbox, guild), "the report on fan")
    posted = await guild.add_member("dani").send(guild.channel("general"), "spam link")
    await report_message(minji, posted, "spam", "secret-note-of-minji")
    await report_message(hanni, posted, "spam")
    await queue_shows(sandbox, guild, 2, "Reporters (2)")

    guild.open_command_to_everyone("forget")  # as an admin could in Integrations
    refused = await fan.run_command("forget", user=minji)
    assert "Only this server's admins" in (await refused.message()).content
    answer = await (await guild.owner.run_command("forget", user=fan)).message()
    assert "1 report about them" in answer.content and "0 cases about them" in answer.content
    await eventually(lambda: about_fan.deleted, "the queue message about fan to go")
    answer = await (await guild.owner.run_command("forget", user=minji)).message()
    assert "1 report they filed" in answer.content
    number = re.search(r"this is case #(\d+)", answer.content)
    assert number, answer.content
    redrawn = await queue_shows(sandbox, guild, 2, "Reporters (1)")
    assert str(minji.id) not in embed_text(redrawn)
    assert "secret-note-of-minji" not in embed_text(redrawn)

    # Each /forget is a case, like every other moderator action: who, whom, counts only.
    listed = await (await guild.owner.run_command("cases list", user=minji)).message()
    text = embed_text(listed) + listed.content
    assert f"#{number[1]} · Member forgotten" in text, text
    assert f"<@{minji.id}>" in text and f"<@{guild.owner.id}>" in text
    assert "0 reports about them, 1 they filed, 0 alerts" in text, text
    assert "secret-note-of-minji" not in text
    path = bot.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        query = "SELECT user_name, reason FROM cases WHERE kind = 'forgotten'"
        stored = db.execute(query).fetchall()
    assert len(stored) == 2, "fan's and minji's"
    assert all(name is None and "minji" not in reason for name, reason in stored), stored
    assert logged_no_errors(bot)
