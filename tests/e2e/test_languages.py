"""Languages end to end: a member whose Discord speaks Korean gets Korean from /rules, /report,
Report message and their refusals, and one on en-US gets English; the registered commands carry
Korean names and descriptions; and a pseudo-locale run finds no text built outside the
catalogs in anything the bot answered."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, MemberHandle
from sandbox.server import Sandbox
from tests.e2e.conftest import StartBot
from tests.e2e.test_reports import arrange

pytestmark = pytest.mark.e2e

HANGUL = re.compile(r"[\uac00-\ud7a3]")
INTERACTION_ANSWERS = (
    "/interactions/{interaction_id}/{interaction_token}/callback",
    "/webhooks/{webhook_id}/{webhook_token}",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
)
SHOWN_KEYS = {"content", "title", "description", "label", "placeholder", "name", "text"}


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


def untranslated(text: str) -> str:
    """What is left of a pseudo-locale text once catalog text (⟦…⟧, nested) and Discord's
    markup (mentions, timestamps) are taken out; letters left were built outside the catalogs."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"⟦[^⟦⟧]*⟧", "", text)
    text = re.sub(r"<[@#][!&]?\d+>|<t:\d+(:\w)?>", "", text)
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
