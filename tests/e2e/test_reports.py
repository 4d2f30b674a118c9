"""Reports end to end: fans report through /report, Report message and Report user; each reported
thing has one queue message in the mod channel that counts its reporters; moderators act from it
(also after a restart, and only moderators); a taken-down picture stays down; auto-hide, abuse
limits, and a queue message that went missing is posted again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from db import guild_settings
from db.engine import Database
from sandbox.botprocess import BotProcess
from sandbox.permissions import Permission
from sandbox.scenario import GuildHandle, InteractionHandle, MemberHandle
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import StartBot
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

MESSAGE_ROUTE = "/channels/{channel_id}/messages/{message_id}"
PICTURE = 5
# The sandbox's accounts are minutes old: let them count towards auto-hide.
AUTO_HIDE_BY_ANYONE = {"auto_hide_min_account_days": 0, "auto_hide_min_member_days": 0}


def bot_database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot' / 'lightstick.db'}"


async def arrange(
    tmp_path: Path, guild: GuildHandle, *, public: bool = False, **settings: Any
) -> None:
    """Before the bot starts: #mod-queue (private to moderators, unless `public`) as the mod
    channel and the Moderator role as mod role."""
    if public:
        mod_queue = guild.channel("mod-queue")
        guild.set_overwrite(mod_queue, guild.role("@everyone"), allow=Permission.VIEW_CHANNEL)
    (tmp_path / "bot").mkdir(exist_ok=True)
    database = await Database.open(bot_database_url(tmp_path))
    values = {
        "mod_channel_id": guild.channel("mod-queue").id,
        "mod_role_id": guild.role("Moderator").id,
        **settings,
    }
    async with database.transaction() as conn:
        await guild_settings.update_settings(conn, guild.id, **values)
    await database.close()


@pytest.fixture
async def reports_bot(tmp_path: Path, guild: GuildHandle, start_bot: StartBot) -> BotProcess:
    await arrange(tmp_path, guild)
    return await start_bot(env={"HASH_WORKERS": "1"})


def logged_no_errors(bot: BotProcess) -> bool:
    return "Traceback" not in bot.stderr and " ERROR " not in bot.stderr


def link(guild: GuildHandle, message: Message) -> str:
    return f"https://discord.com/channels/{guild.id}/{message.channel_id}/{message.id}"


def embed_text(message: Message) -> str:
    embed = message.embeds[0]
    parts = [embed.get("title", ""), embed.get("description", "")]
    parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


def queue(sandbox: Sandbox, guild: GuildHandle) -> list[Message]:
    """The report queue messages in #mod-queue that are still there, oldest first."""
    channel = guild.channel("mod-queue").id
    return sorted(
        (
            m
            for m in sandbox.world.messages.values()
            if m.channel_id == channel
            and not m.deleted
            and m.embeds
            and "eport #" in m.embeds[0].get("title", "")
        ),
        key=lambda m: m.id,
    )


async def eventually(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll until `check()` gives something truthy (the bot works in its own process)."""
    for _ in range(int(timeout / 0.05)):
        found = check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def queue_shows(sandbox: Sandbox, guild: GuildHandle, number: int, text: str) -> Message:
    """The queue message of report #number, once its embed contains `text`."""

    def find() -> Message | None:
        for message in queue(sandbox, guild):
            if f"eport #{number}:" in message.embeds[0]["title"] and text in embed_text(message):
                return message
        return None

    return await eventually(find, f"report #{number} showing {text!r}")


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    return {c["label"]: c for row in message.components for c in row["components"]}


async def report_message(
    member: MemberHandle, message: Message, category: str, details: str = ""
) -> str:
    """Report message (the context menu), fill in the form; the bot's private answer."""
    opened = await member.run_message_command("Report message", message)
    submitted = await member.submit_modal(
        opened, {"report-category": [category], "report-details": details}
    )
    answer = await submitted.followup()
    assert answer.ephemeral
    return answer.content


async def report_user(member: MemberHandle, target: MemberHandle, category: str) -> str:
    opened = await member.run_user_command("Report user", target)
    submitted = await member.submit_modal(opened, {"report-category": [category]})
    answer = await submitted.followup()
    assert answer.ephemeral
    return answer.content


async def slash_report(member: MemberHandle, **options: Any) -> str:
    answer = await member.run_command("report", **options)
    message = await answer.followup()
    assert message.ephemeral
    return message.content


async def refused_before_the_form(opened: InteractionHandle) -> str:
    answer = await opened.message()
    assert opened.ephemeral
    return answer.content


def public_messages_naming(sandbox: Sandbox, guild: GuildHandle, user_ids: list[int]) -> list:
    """Messages anyone but moderators could see that name one of `user_ids`."""
    queue_channel = guild.channel("mod-queue").id
    found = []
    for message in sandbox.world.messages.values():
        if message.ephemeral or message.channel_id == queue_channel:
            continue
        if message.author.id != guild.bot.user.id:
            continue
        text = message.content + str(message.embeds)
        if any(str(user_id) in text for user_id in user_ids):
            found.append(message)
    return found


async def test_message_reports_from_the_menu_and_a_link_share_one_urgent_queue_message(
    sandbox: Sandbox, guild: GuildHandle, reports_bot: BotProcess
) -> None:
    fan = guild.member("fan")
    first, second = guild.add_member("minji"), guild.add_member("hanni")
    general = guild.channel("general")
    posted = await fan.send(
        general, "omg look at this", files=[("edit.jpg", encode(photo(PICTURE), "JPEG"))]
    )

    answer = await report_message(first, posted, "deepfake", "an AI edit of Jisoo")
    assert "#1" in answer
    (queued,) = await eventually(lambda: queue(sandbox, guild), "the queue message")
    moderator_role = guild.role("Moderator").id
    assert queued.content.startswith(f"<@&{moderator_role}>")
    post = sandbox.calls_to("POST", "/channels/{channel_id}/messages")[-1]
    mentions = post.json["allowed_mentions"]
    assert mentions["parse"] == [] and [int(r) for r in mentions["roles"]] == [moderator_role]
    text = embed_text(queued)
    assert "Urgent report #1: Deepfake / AI-manipulated" in text
    assert "omg look at this" in text and str(fan.id) in text
    assert str(first.id) in text and "an AI edit of Jisoo" in text
    assert [a.filename for a in queued.attachments] == ["SPOILER_lightstick-preview.jpg"]
    assert list(buttons(queued)) == [
        "Take down",
        "Dismiss",
        "Timeout author",
        "Ban author",
        "Evidence",
    ]

    joined = await slash_report(
        second, in_channel=general, category="sexualized", message=link(guild, posted)
    )
    assert "joins **#1**" in joined
    updated = await queue_shows(sandbox, guild, 1, "Reporters (2)")
    assert updated.id == queued.id and str(second.id) in embed_text(updated)
    assert len(queue(sandbox, guild)) == 1

    again = await first.run_message_command("Report message", posted)
    assert "already reported this" in await refused_before_the_form(again)
    own = await fan.run_message_command("Report message", posted)
    assert "your own message" in await refused_before_the_form(own)
    assert "your own message" in await slash_report(
        fan, in_channel=general, category="spam", message=link(guild, posted)
    )

    assert not posted.deleted  # two reporters: under the default auto-hide threshold of 3
    assert fan.id not in sandbox.world.dm_channels
    assert not public_messages_naming(sandbox, guild, [first.id, second.id])
    assert logged_no_errors(reports_bot)


def direct_messages(sandbox: Sandbox, member: MemberHandle) -> list[str]:
    channel = sandbox.world.dm_channels.get(member.id)
    return [m.content for m in sandbox.world.messages.values() if m.channel_id == channel]


async def click(member: MemberHandle, message: Message, label: str) -> InteractionHandle:
    return await member.click(message, buttons(message)[label]["custom_id"])


async def test_member_reports_share_one_queue_message_and_a_ban_from_it_closes_it(
    sandbox: Sandbox, guild: GuildHandle, reports_bot: BotProcess
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    first, second = guild.add_member("minji"), guild.add_member("hanni")

    assert "#1" in await report_user(first, fan, "harassment")
    (queued,) = await eventually(lambda: queue(sandbox, guild), "the queue message")
    assert not queued.content  # not urgent: nobody is pinged
    assert "Report #1: Harassment or hate" in embed_text(queued)
    assert list(buttons(queued)) == ["Dismiss", "Timeout author", "Ban author", "Evidence"]
    yourself = await first.run_user_command("Report user", first)
    assert "can't report yourself" in await refused_before_the_form(yourself)
    assert "joins **#1**" in await slash_report(second, category="spam", user=fan)
    await queue_shows(sandbox, guild, 1, "Reporters (2)")

    asked = await click(moderator, queued, "Ban author")
    confirmation = await asked.message()
    await click(moderator, confirmation, "Ban")
    await sandbox.wait_for_call(
        "PUT",
        "/guilds/{guild_id}/bans/{user_id}",
        where=lambda c: c.params["user_id"] == str(fan.id),
    )
    closed = await queue_shows(sandbox, guild, 1, f"Action taken by <@{moderator.id}>")
    assert "Ban by" in embed_text(closed)
    assert buttons(closed)["Dismiss"]["disabled"] and not buttons(closed)["Ban author"].get(
        "disabled"
    )
    for reporter in (first, second):
        dms = await eventually(lambda r=reporter: direct_messages(sandbox, r), "the reporter's DM")
        assert "reviewed your report #1 and took action" in dms[0]
    assert not direct_messages(sandbox, fan)
    assert not public_messages_naming(sandbox, guild, [first.id, second.id])
    assert logged_no_errors(reports_bot)


@pytest.mark.parametrize("deleted_by_author_first", [False, True])
async def test_take_down_removes_the_message_and_later_reuploads_by_someone_else(
    sandbox: Sandbox, guild: GuildHandle, reports_bot: BotProcess, deleted_by_author_first: bool
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    reporter, copycat = guild.add_member("minji"), guild.add_member("copycat")
    general = guild.channel("general")
    posted = await fan.send(general, "", files=[("leak.png", encode(photo(PICTURE), "PNG"))])
    await report_message(reporter, posted, "sexualized")
    queued = await queue_shows(sandbox, guild, 1, "Hashed when reported")
    if deleted_by_author_first:
        await fan.delete(posted)
        posted.attachments.clear()  # Discord drops a deleted message's files; so must the CDN here

    taken = await click(moderator, queued, "Take down")
    answer = await taken.followup()
    assert "Taken down (case #" in answer.content, answer.content
    assert "Its picture is on the takedown list now." in answer.content
    assert (
        "Copies posted here in the last 7 days are being looked for and removed" in answer.content
    )
    assert posted.deleted
    closed = await queue_shows(sandbox, guild, 1, f"Taken down by <@{moderator.id}>")
    assert buttons(closed)["Take down"]["disabled"] and buttons(closed)["Dismiss"]["disabled"]
    assert "jump" not in embed_text(closed)

    smaller = photo(PICTURE).resize((480, 360))
    copy = await copycat.send(general, "", files=[("again.jpg", encode(smaller, "JPEG"))])
    await sandbox.wait_for_call(
        "DELETE", MESSAGE_ROUTE, where=lambda c: c.params["message_id"] == str(copy.id), timeout=20
    )
    dms = await eventually(lambda: direct_messages(sandbox, reporter), "the reporter's DM")
    assert "reviewed your report #1 and removed the message" in dms[0]
    assert logged_no_errors(reports_bot)


async def test_enough_sexual_or_deepfake_reports_hide_the_message_pending_review(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild, auto_hide_threshold=2, **AUTO_HIDE_BY_ANYONE)
    bot = await start_bot(env={"HASH_WORKERS": "1"})
    fan, moderator = guild.member("fan"), guild.member("moderator")
    spam, deepfake, sexual = (guild.add_member(name) for name in ("minji", "hanni", "dani"))
    posted = await fan.send(
        guild.channel("general"), "", files=[("pic.jpg", encode(photo(PICTURE), "JPEG"))]
    )
    await report_message(spam, posted, "spam")
    (first,) = await eventually(lambda: queue(sandbox, guild), "the queue message")
    assert not first.content

    await report_message(deepfake, posted, "deepfake")
    urgent = await queue_shows(sandbox, guild, 1, "Reporters (2)")
    assert urgent.id != first.id and urgent.content.startswith(f"<@&{guild.role('Moderator').id}>")
    assert first.deleted and not posted.deleted  # one sexual/deepfake report: below 2

    await report_message(sexual, posted, "sexualized")
    await sandbox.wait_for_call(
        "DELETE", MESSAGE_ROUTE, where=lambda c: c.params["message_id"] == str(posted.id)
    )
    hidden = await queue_shows(sandbox, guild, 1, "Hidden pending review")
    assert "Hidden after reports (automatic)" in embed_text(hidden)

    asked = await click(moderator, hidden, "Dismiss")
    form = await moderator.submit_modal(asked, {"dismiss-reason": "a fancam, not an edit"})
    answer = await form.message()
    assert "Dismissed (case #" in answer.content and "can't be restored" in answer.content
    closed = await queue_shows(sandbox, guild, 1, "a fancam, not an edit")
    decided = [label for label in buttons(closed) if label != "Evidence"]
    assert all(buttons(closed)[label].get("disabled") for label in decided)
    for reporter in (spam, deepfake, sexual):
        dms = await eventually(lambda r=reporter: direct_messages(sandbox, r), "the reporter's DM")
        assert "decided no action was needed" in dms[0] and "fancam" not in dms[0]
    assert logged_no_errors(bot)


async def test_queue_buttons_work_after_a_restart_and_refuse_non_moderators(
    sandbox: Sandbox, guild: GuildHandle, reports_bot: BotProcess, start_bot: StartBot
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    reporter = guild.add_member("minji")
    general = guild.channel("general")
    posted = await fan.send(general, "buy followers at scam.example")
    await slash_report(reporter, in_channel=general, category="spam", message=link(guild, posted))
    (queued,) = await eventually(lambda: queue(sandbox, guild), "the queue message")
    await reports_bot.stop()
    restarted = await start_bot(env={"HASH_WORKERS": "1"})

    refused = await click(reporter, queued, "Timeout author")
    assert "Only this server's moderators" in (await refused.message()).content
    assert fan.member.communication_disabled_until is None

    timed = await click(moderator, queued, "Timeout author")
    assert "timed out for 60 minutes" in (await timed.message()).content
    assert fan.member.communication_disabled_until is not None
    still_open = await queue_shows(sandbox, guild, 1, "Timeout by")
    assert "Open: waiting for a moderator" in embed_text(still_open)

    asked = await click(moderator, still_open, "Dismiss")
    form = await moderator.submit_modal(asked, {})
    assert "Dismissed (case #" in (await form.message()).content
    await queue_shows(sandbox, guild, 1, f"Dismissed by <@{moderator.id}>")
    assert not posted.deleted
    cases = await (await moderator.run_command("cases list", user=fan)).message()
    listing = embed_text(cases)
    assert "Report: dismissed" in listing and "Timeout" in listing and "Report #1" in listing
    assert logged_no_errors(restarted)


async def test_reporters_over_the_limits_and_new_accounts_get_a_kind_answer(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild, reporter_limit_short=2, reporter_window_short_minutes=10)
    bot = await start_bot(env={"HASH_WORKERS": "1"})
    fan, reporter = guild.member("fan"), guild.add_member("minji")
    general = guild.channel("general")
    posts = [await fan.send(general, f"spam {n}") for n in range(3)]
    assert "#1" in await slash_report(
        reporter, in_channel=general, category="spam", message=link(guild, posts[0])
    )
    assert "#2" in await report_message(reporter, posts[1], "spam")
    over = await reporter.run_message_command("Report message", posts[2])
    assert "please wait a little" in await refused_before_the_form(over)
    assert "please wait a little" in await slash_report(
        reporter, in_channel=general, category="spam", message=link(guild, posts[2])
    )

    changed = await guild.owner.run_command("config reports", min_account_age_days=7)
    await changed.message()
    newcomer = guild.add_member("newcomer")
    refused = await newcomer.run_message_command("Report message", posts[2])
    assert "account is too new" in await refused_before_the_form(refused)
    assert "#3" in await report_message(guild.member("moderator"), posts[2], "spam")
    await eventually(lambda: len(queue(sandbox, guild)) == 3, "three queue messages")
    assert logged_no_errors(bot)


async def test_a_missing_queue_message_is_posted_by_cases_and_on_the_next_report(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild, public=True, mod_channel_id=None)
    bot = await start_bot(env={"HASH_WORKERS": "1"})
    fan, moderator = guild.member("fan"), guild.member("moderator")
    first, second = guild.add_member("minji"), guild.add_member("hanni")
    posted = await fan.send(guild.channel("general"), "you're all ugly")
    assert "#1" in await report_message(first, posted, "harassment")
    await bot.wait_for_log("no mod channel is set")
    assert not queue(sandbox, guild)

    mod_queue = guild.channel("mod-queue")
    await (await guild.owner.run_command("config channels", mod_channel=mod_queue)).message()
    cases = await moderator.run_command("cases list")
    assert "I posted it again" in (await cases.followup()).content
    (posted_by_cases,) = await eventually(lambda: queue(sandbox, guild), "the re-posted report")
    text = embed_text(posted_by_cases)
    assert "Not named here: members who aren't moderators" in text and str(first.id) not in text

    await moderator.delete(posted_by_cases)
    assert "joins **#1**" in await report_message(second, posted, "harassment")
    again = await queue_shows(sandbox, guild, 1, "Reporters (2)")
    assert again.id != posted_by_cases.id and len(queue(sandbox, guild)) == 1
    assert logged_no_errors(bot)


async def test_a_form_sent_back_before_the_bot_hears_its_answer_still_counts(
    sandbox: Sandbox, guild: GuildHandle, reports_bot: BotProcess
) -> None:
    # The form is on the member's screen as soon as Discord has it; the bot's own answer can
    # still be on its way. A quick reporter (and a loaded test machine) must not lose the report.
    callback = "/interactions/{interaction_id}/{interaction_token}/callback"
    posted = await guild.member("fan").send(guild.channel("general"), "look at this")
    sandbox.faults.answer_late("POST", callback, 1.0)
    assert "#1" in await report_message(guild.add_member("minji"), posted, "spam")
    moderator = guild.member("moderator")
    (queued,) = await eventually(lambda: queue(sandbox, guild), "the queue message")
    sandbox.faults.answer_late("POST", callback, 1.0, times=2)
    asked = await moderator.click(queued, buttons(queued)["Dismiss"]["custom_id"])
    dismissed = await moderator.submit_modal(asked, {"dismiss-reason": "seen it"})
    assert "Dismissed" in (await dismissed.message()).content
    assert logged_no_errors(reports_bot)
