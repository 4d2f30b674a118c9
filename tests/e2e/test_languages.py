"""Languages end to end: a member whose Discord speaks Korean gets Korean from /rules, /report,
Report message and their refusals, and one on en-US gets English; the registered commands carry
Korean names and descriptions; a server set to Korean gets Korean alerts, queue messages and
DMs while each moderator's own answers follow their client; and pseudo-locale runs find no text
built outside the catalogs in anything the bot answered or posted."""

from __future__ import annotations

import re
from typing import Any

import pytest

from db import guild_settings, takedowns
from db.engine import Database
from db.takedowns import NewEntry
from media.hashing import hash_media
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, MemberHandle
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import StartBot
from tests.e2e.test_reports import (
    arrange,
    bot_database_url,
    buttons,
    click,
    direct_messages,
    embed_text,
    eventually,
)
from tests.e2e.test_scanning import DELETE_ROUTE, KNOWN, reupload
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

HANGUL = re.compile(r"[\uac00-\ud7a3]")
INTERACTION_ANSWERS = (
    "/interactions/{interaction_id}/{interaction_token}/callback",
    "/webhooks/{webhook_id}/{webhook_token}",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
)
SHOWN_KEYS = {"content", "title", "description", "label", "placeholder", "name", "text"}
POSTS = (
    "/channels/{channel_id}/messages",
    "/channels/{channel_id}/messages/{message_id}",
)


def shown_text(payload: Any) -> list[str]:
    """Every string a member reads in a message or form payload (not ids, urls or values)."""
    found: list[str] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in SHOWN_KEYS and isinstance(value, str):
                found.append(value)
            elif key == "fields":  # embed fields: name and value are both read
                found += [f["value"] for f in value] + [f["name"] for f in value]
            elif isinstance(value, dict | list):
                found += shown_text(value)
    elif isinstance(payload, list):
        for item in payload:
            found += shown_text(item)
    return found


def answers(sandbox: Sandbox) -> list[str]:
    return [
        text
        for call in sandbox.calls
        if call.route in INTERACTION_ANSWERS and call.method in ("POST", "PATCH")
        for text in shown_text(call.json)
    ]


def posts(sandbox: Sandbox) -> list[str]:
    """Every string a member reads in what the bot posted or edited in channels and DMs."""
    return [
        text
        for call in sandbox.calls
        if call.route in POSTS and call.method in ("POST", "PATCH") and call.json
        for text in shown_text(call.json)
    ]


def untranslated(text: str) -> str:
    """What is left of a pseudo-locale text once catalog text (⟦…⟧, nested), Discord's markup
    (mentions, timestamps) and quoted records (a "> " line: a case's reason as it was written)
    are taken out; letters left were built outside the catalogs."""
    text = "\n".join(line for line in text.split("\n") if not line.startswith(">"))
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"⟦[^⟦⟧]*⟧", "", text)
    text = re.sub(r"<[@#][!&]?\d+>|<t:\d+(:\w)?>", "", text)
    text = text.replace("ℹ", "")  # the ℹ️ emoji, which str.isalpha takes for a letter
    return "".join(ch for ch in text if ch.isalpha())


async def korean_and_english_fans(guild: GuildHandle) -> tuple[MemberHandle, MemberHandle]:
    return guild.add_member("minji", locale="ko"), guild.add_member("hanni", locale="en-US")


async def test_registered_commands_carry_korean_names_and_descriptions(
    sandbox: Sandbox, bot: BotProcess
) -> None:
    commands = list(sandbox.world.application.commands.values())
    assert {c.name for c in commands} >= {"report", "rules", "Report message", "Report user"}
    by_name = {c.name: c.payload for c in commands}
    assert by_name["report"]["name_localizations"]["ko"] == "신고"
    assert by_name["Report message"]["name_localizations"]["ko"] == "메시지 신고"
    for command in commands:
        payload = command.payload
        assert "ko" in payload["name_localizations"], command.name
        if command.type == 1:
            assert HANGUL.search(payload["description_localizations"]["ko"]), command.name
        for option in payload.get("options") or []:
            assert "ko" in option["name_localizations"], (command.name, option["name"])
            assert "ko" in option["description_localizations"], (command.name, option["name"])
            for choice in option.get("choices") or []:
                assert "ko" in choice["name_localizations"], (command.name, choice["name"])


async def test_a_korean_member_gets_korean_and_an_english_one_english(
    tmp_path: Any, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild)
    await start_bot(env={"HASH_WORKERS": "1"})
    korean, english = await korean_and_english_fans(guild)

    no_rules_ko = await (await korean.run_command("rules")).message()
    no_rules_en = await (await english.run_command("rules")).message()
    assert no_rules_ko.embeds[0]["description"] == "이 서버에는 아직 규칙이 없어요."
    assert no_rules_en.embeds[0]["description"] == "This server hasn't written any rules yet."
    missing_ko = await (await korean.run_command("rules", number=3)).message()
    assert missing_ko.content == "3번 규칙은 없어요. 이 서버의 규칙은 0개예요."

    no_target_ko = await (await korean.run_command("report", category="spam")).followup()
    no_target_en = await (await english.run_command("report", category="spam")).followup()
    assert no_target_ko.content.startswith("무엇을 신고할지 알려 주세요.")
    assert no_target_en.content.startswith("Tell me what to report")

    posted = await guild.owner.send(guild.channel("general"), "buy cheap followers at example.test")
    opened = await korean.run_message_command("Report message", posted)
    form = await opened.modal()
    assert form["title"] == "이 메시지 신고하기"
    assert "성적인 콘텐츠" in shown_text(form) and "딥페이크 / AI 조작" in shown_text(form)
    submitted = await korean.submit_modal(opened, {"report-category": ["spam"]})
    thanks = await submitted.followup()
    assert thanks.content.startswith("고마워요. 신고 번호는 **#1**이고")

    joined = await english.run_message_command("Report message", posted)
    assert (await joined.modal())["title"] == "Report this message"
    submitted = await english.submit_modal(joined, {"report-category": ["spam"]})
    assert (await submitted.followup()).content.startswith("Thank you. Others reported this too")

    again = await korean.run_message_command("Report message", posted)
    assert (await again.message()).content.startswith("이미 신고하셨어요. 신고 **#1**로")
    own = await korean.send(guild.channel("general"), "제 메시지예요")
    refused = await korean.run_message_command("Report message", own)
    assert (await refused.message()).content.startswith("본인의 메시지예요.")


async def test_a_pseudo_locale_run_finds_no_text_built_outside_the_catalogs(
    tmp_path: Any, sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild)
    await start_bot(env={"HASH_WORKERS": "1", "PSEUDO_LOCALE": "1"})
    fan, owner = guild.member("fan"), guild.owner

    await (await fan.run_command("rules")).message()
    opened = await owner.run_command("manage-rules add")
    await (await owner.submit_modal(opened, {"rule-title": "★", "rule-body": "♡"})).message()
    await (await fan.run_command("rules")).message()
    await (await fan.run_command("rules", number=1)).message()
    await (await fan.run_command("rules", number=9)).message()
    await (await fan.run_command("rules", public=True)).message()
    await (await owner.run_command("manage-rules remove", number=7)).message()
    await (await fan.run_command("report", category="spam")).followup()
    await (await fan.run_command("report", category="spam", message="nope")).followup()
    posted = await owner.send(guild.channel("general"), "…")
    opened = await fan.run_message_command("Report message", posted)
    await (await fan.submit_modal(opened, {"report-category": ["spam"]})).followup()
    await (await fan.run_message_command("Report message", posted)).message()
    await (await fan.run_user_command("Report user", fan)).message()
    guild.open_command_to_everyone("config")
    await (await fan.run_command("config show")).message()  # refused: not an admin

    shown = answers(sandbox)
    assert len(shown) > 15 and any("⟦" in text for text in shown)
    leftovers = {text: untranslated(text) for text in shown if untranslated(text)}
    assert leftovers == {}


async def arrange_a_listed_picture(tmp_path: Any, guild: GuildHandle, **settings: Any) -> None:
    """Before the bot starts: the known photo on the list (labelled without words), #mod-queue
    as the mod channel, the Moderator role as the mod role."""
    (tmp_path / "bot").mkdir(exist_ok=True)
    database = await Database.open(bot_database_url(tmp_path))
    known = hash_media(encode(photo(KNOWN), "PNG"))
    async with database.transaction() as conn:
        await takedowns.add_entry(
            conn,
            guild.id,
            NewEntry((known.frames[0].pdq, known.frames[0].phash), label="★"),
            source="hash",
            added_by=guild.owner.id,
        )
        await guild_settings.update_settings(
            conn,
            guild.id,
            mod_channel_id=guild.channel("mod-queue").id,
            mod_role_id=guild.role("Moderator").id,
            **settings,
        )
    await database.close()


def in_mod_queue(sandbox: Sandbox, guild: GuildHandle, title: str) -> list[Message]:
    channel = guild.channel("mod-queue").id
    return [
        m
        for m in sandbox.world.messages.values()
        if m.channel_id == channel and m.embeds and title in m.embeds[0].get("title", "")
    ]


async def a_match(sandbox: Sandbox, guild: GuildHandle, title: str, number: int = 1) -> Message:
    """A fan posts a copy of the listed photo; the alert about it (the `number`th alert)."""
    await guild.member("fan").send(guild.channel("general"), "♡", files=[("a.jpg", reupload())])
    alerts = await eventually(
        lambda: len(in_mod_queue(sandbox, guild, title)) >= number, "the alert"
    )
    assert alerts
    return sorted(in_mod_queue(sandbox, guild, title), key=lambda m: m.id)[number - 1]


async def test_a_server_set_to_korean_gets_korean_alerts_queue_messages_and_dms(
    tmp_path: Any, sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange_a_listed_picture(tmp_path, guild, language="ko", dm_author=True)
    await start_bot(env={"HASH_WORKERS": "1"})
    moderator, fan = guild.member("moderator"), guild.member("fan")

    alert = await a_match(sandbox, guild, "삭제 목록 일치 삭제함")
    assert set(buttons(alert)) == {"일치 아님", "작성자 타임아웃", "작성자 차단", "증거"}
    assert "이 서버의 목록" in embed_text(alert) and alert.embeds[0]["footer"]["text"].startswith(
        "처리 기록 #"
    )
    notice = await eventually(lambda: direct_messages(sandbox, fan), "the author's DM")
    assert notice[0].startswith(f"**{guild.guild.name}**에 올리신 메시지가 삭제되었어요.")

    decided = await click(moderator, alert, "일치 아님")  # the moderator's client is en-US
    assert (await decided.message()).content.startswith("Marked as not a match (case #")
    await sandbox.wait_for_call(
        "PATCH", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(alert.id)
    )
    assert f"일치 아님 · <@{moderator.id}>" in embed_text(alert)

    korean = guild.add_member("minji", locale="ko")
    posted = await fan.send(guild.channel("general"), "팔로워 싸게 팔아요")
    opened = await korean.run_message_command("Report message", posted)
    await (await korean.submit_modal(opened, {"report-category": ["spam"]})).followup()
    (queued,) = await eventually(lambda: in_mod_queue(sandbox, guild, "신고 #1"), "the queue")
    assert queued.embeds[0]["title"] == "신고 #1: 스팸 또는 사기"
    assert list(buttons(queued)) == ["삭제", "기각", "작성자 타임아웃", "작성자 차단", "증거"]
    assert "열림: 운영진을 기다리는 중" in embed_text(queued)

    english = guild.add_member("hanni", locale="en-US")
    asked = await click(guild.owner, queued, "기각")
    form = await asked.modal()
    assert form["title"] == "Dismiss report #1"  # the owner's client speaks English
    await (await guild.owner.submit_modal(asked, {"dismiss-reason": "ok"})).message()
    told = await eventually(lambda: direct_messages(sandbox, korean), "the reporter's DM")
    assert told[0].startswith(f"**{guild.guild.name}** 운영진이 보내 주신 신고(#1)를 검토했고")
    assert not direct_messages(sandbox, english)

    shown = await (await guild.owner.run_command("config show")).message()
    assert "Posts, alerts and DMs: **Korean**" in embed_text(shown)  # the owner reads English
    check = await (await guild.owner.run_command("config check")).message()
    assert check.embeds[0]["title"] == "Lightstick 설정 점검"  # about the server: its language


async def test_a_pseudo_locale_run_of_moderation_finds_no_text_built_outside_the_catalogs(
    tmp_path: Any, sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange_a_listed_picture(tmp_path, guild, dm_author=True, takedown_action="flag")
    await start_bot(env={"HASH_WORKERS": "1", "PSEUDO_LOCALE": "1"})
    moderator, fan, owner = guild.member("moderator"), guild.member("fan"), guild.owner

    alert = await a_match(sandbox, guild, "⟦")  # flagged, not removed: it has Take down
    take_down = next(name for name in buttons(alert) if "Take down" in name)
    await (await click(fan, alert, take_down)).message()  # refused: not a moderator
    await (await click(moderator, alert, take_down)).followup()
    await sandbox.wait_for_call(
        "PATCH", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(alert.id)
    )
    again = await a_match(sandbox, guild, "⟦", number=2)
    not_a_match = next(name for name in buttons(again) if "Not a match" in name)
    await (await click(moderator, again, not_a_match)).message()

    posted = await owner.send(guild.channel("general"), "…")
    opened = await fan.run_message_command("Report message", posted)
    await (await fan.submit_modal(opened, {"report-category": ["deepfake"]})).followup()
    (queued,) = await eventually(lambda: in_mod_queue(sandbox, guild, "#1"), "the queue")
    dismiss = next(name for name in buttons(queued) if "Dismiss" in name)
    asked = await click(moderator, queued, dismiss)
    await asked.modal()
    await (await moderator.submit_modal(asked, {"dismiss-reason": ""})).message()
    await eventually(lambda: direct_messages(sandbox, fan), "the reporter's DM")

    await (await moderator.run_command("cases list")).message()
    await (await moderator.run_command("cases list", user=fan)).message()
    for command in ("config show", "config check", "config channels", "config roles"):
        await (await owner.run_command(command)).message()
    await (await owner.run_command("config roles", mod_role=guild.role("@everyone"))).message()

    shown = answers(sandbox) + posts(sandbox)
    assert len(shown) > 40 and any("⟦" in text for text in shown)
    leftovers = {text: untranslated(text) for text in shown if untranslated(text)}
    assert leftovers == {}
