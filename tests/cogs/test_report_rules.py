"""The rules behind reports that need no Discord: links, excerpts, limits, and what a queue
message shows in each state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cogs.reports import account_too_new, excerpt_of, limit_answer
from db.cases import Case
from db.guild_settings import GuildSettings
from db.reports import Report, Reporter
from moderation.i18n import texts
from moderation.messages import MessageLink, parse_message_link
from moderation.report_buttons import report_view
from moderation.report_queue import ReportState, report_embed

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ENGLISH = texts("en")


@pytest.mark.parametrize(
    "text",
    [
        "https://discord.com/channels/1/22/333",
        "https://ptb.discord.com/channels/1/22/333",
        "https://canary.discordapp.com/channels/1/22/333",
        "  look: https://discord.com/channels/1/22/333?x=1  ",
    ],
)
def test_message_links_from_every_client_are_read(text: str) -> None:
    assert parse_message_link(text) == MessageLink(1, 22, 333)


@pytest.mark.parametrize(
    "text",
    ["", "333", "https://discord.com/channels/@me/22/333", "https://evil.example/channels/1/2/3"],
)
def test_what_is_not_a_server_message_link_is_refused(text: str) -> None:
    assert parse_message_link(text) is None


def test_an_excerpt_is_one_line_cut_at_a_word() -> None:
    assert excerpt_of("  omg\n\nlook   at this  ", 100) == "omg look at this"
    cut = excerpt_of("deepfake " * 20, 30)
    assert cut.endswith("deepfake…") and len(cut) <= 30
    assert excerpt_of("x" * 50, 10) == "x" * 9 + "…"


def test_limits_answer_kindly_once_the_window_or_the_day_is_full() -> None:
    settings = GuildSettings(
        guild_id=1,
        reporter_limit_short=5,
        reporter_window_short_minutes=10,
        reporter_limit_daily=20,
    )
    assert limit_answer(ENGLISH, settings, in_window=4, in_day=19) is None
    now = limit_answer(ENGLISH, settings, in_window=5, in_day=5)
    assert now is not None and "last 10 minutes" in now and "Thank you" in now
    today = limit_answer(ENGLISH, settings, in_window=0, in_day=20)
    assert today is not None and "tomorrow" in today


def test_account_age_is_checked_only_when_the_guild_sets_one() -> None:
    assert not account_too_new(NOW, 0, NOW)
    assert account_too_new(NOW - timedelta(days=6), 7, NOW)
    assert not account_too_new(NOW - timedelta(days=8), 7, NOW)


def report(**changes: object) -> Report:
    base = Report(
        id=7,
        guild_id=1,
        number=12,
        target_kind="message",
        target_key="message:333",
        target_user_id=40,
        channel_id=22,
        message_id=333,
        category="spam",
        excerpt="buy followers",
        status="open",
        hidden=False,
        queue_channel_id=None,
        queue_message_id=None,
        created_at=NOW,
        resolved_by=None,
        resolved_at=None,
        resolution_reason=None,
    )
    return replace(base, **changes)


def reporter(reporter_id: int, category: str, details: str = "") -> Reporter:
    return Reporter(7, reporter_id, category, details, None, True, NOW)


def shown(state: ReportState) -> str:
    embed = report_embed(state, ENGLISH)
    return "\n".join([embed.title or "", embed.description or ""] + [f.value for f in embed.fields])


def labels(state: ReportState) -> dict[str, bool]:
    view = report_view(state.report, ENGLISH)
    return {item.item.label: item.item.disabled for item in view.children}  # type: ignore[attr-defined]


def test_a_queue_message_names_the_author_the_reporters_and_links_the_message() -> None:
    state = ReportState(report(), (reporter(50, "spam", "third time today"),), (), hashes=2)
    text = shown(state)
    assert text.startswith("Report #12: Spam or scam")
    assert "<@40>" in text and "<@50>" in text and "third time today" in text
    assert "https://discord.com/channels/1/22/333" in text and "buy followers" in text
    assert labels(state) == {
        "Take down": False,
        "Dismiss": False,
        "Timeout author": False,
        "Ban author": False,
    }


def test_one_sexual_or_deepfake_reporter_makes_the_report_urgent() -> None:
    state = ReportState(report(), (reporter(50, "spam"), reporter(51, "deepfake")), (), 0)
    assert state.urgent and state.category == "deepfake"
    assert shown(state).startswith("🚨 Urgent report #12: Deepfake / AI-manipulated")
    assert "removes the message only" in shown(state)


def test_a_hidden_message_is_said_to_be_hidden_and_not_linked() -> None:
    state = ReportState(report(hidden=True), (reporter(50, "sexualized"),), (), 2)
    text = shown(state)
    assert "Hidden pending review" in text and "discord.com/channels" not in text


def test_a_decided_report_shows_who_decided_and_keeps_only_the_follow_ups() -> None:
    case = Case(3, 1, 9, "report_takedown", 40, 60, "", 22, 333, 5, None, 7, NOW)
    taken = ReportState(
        report(status="taken_down", resolved_by=60, resolved_at=NOW),
        (reporter(50, "spam"),),
        (case,),
        2,
    )
    assert "Taken down by <@60>" in shown(
        taken
    ) and "Case #9 · Report: taken down by <@60>" in shown(taken)
    assert labels(taken) == {
        "Take down": True,
        "Dismiss": True,
        "Timeout author": False,
        "Ban author": False,
    }
    dismissed = replace(taken, report=replace(taken.report, status="dismissed"), cases=())
    assert all(labels(dismissed).values())


def test_a_member_report_has_no_take_down() -> None:
    state = ReportState(
        report(
            target_kind="user", target_key="user:40", channel_id=None, message_id=None, excerpt=""
        ),
        (reporter(50, "harassment"),),
        (),
        0,
    )
    assert "Member <@40>" in shown(state)
    assert "Media" not in str(report_embed(state, ENGLISH).fields)
    assert list(labels(state)) == ["Dismiss", "Timeout author", "Ban author"]


def test_where_everyone_can_read_the_queue_reporters_are_counted_not_named() -> None:
    state = ReportState(
        report(), (reporter(50, "deepfake", "it's my friend"), reporter(51, "deepfake")), (), 0
    )
    embed = report_embed(state, ENGLISH, name_reporters=False)
    text = "\n".join(f.value for f in embed.fields)
    assert "Deepfake / AI-manipulated ×2" in text and "Not named here" in text
    assert "<@50>" not in text and "<@51>" not in text and "my friend" not in text
