"""The one place that acts on members and their messages, and writes the case for it.

Removing a message, timing a member out, banning, and recording a decision all go through
`ModerationActions`, and each writes its case in the same transaction as the records it changes
(an alert resolved, a report closed), in the spirit of Red's `modlog.create_case`: no feature
can act without leaving the audit trail. Each action answers with a sentence for the moderator
when Discord refused it (a `Phrase`, read in the language of whoever sees it), and writes
nothing then.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind, ReportStatus
from db import alerts as alerts_db
from db import cases as cases_db
from db import reports as reports_db
from db import rules as rules_db
from db.cases import Case
from db.guild_settings import GuildSettings
from moderation.i18n import N_, Phrase, guild_texts, phrase, source_texts
from services.moderation_policy import repeat_timeout_minutes, takedown_rule

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)
T = TypeVar("T")

# What the author of a removed takedown-list match is told by DM, with the rule it breaks when
# the server has one that fits (services.moderation_policy.takedown_rule).
REMOVAL_NOTICE = N_(
    "A message you posted in **{server}** was removed: it matches an image on the server's "
    "takedown list of abusive edits and deepfakes. If you think this is a mistake, please "
    "contact the server's moderators."
)
REMOVAL_NOTICE_CITING = N_(
    "A message you posted in **{server}** was removed: it matches an image on the server's "
    "takedown list of abusive edits and deepfakes (see rule {number}: {title}). If you think "
    "this is a mistake, please contact the server's moderators."
)


@dataclass(frozen=True, slots=True)
class CaseDraft:
    """What a case will say; its number is given when it is written."""

    kind: CaseKind
    reason: str
    user_id: int | None = None
    moderator_id: int | None = None
    channel_id: int | None = None
    user_name: str | None = None  # filled in from the member cache when not given
    message_id: int | None = None
    entry_id: int | None = None
    distance: int | None = None
    report_id: int | None = None


# Changes made in the case's transaction. `Gate` runs first and returns the draft to write (it
# may fill in what it found, such as the entry a reported picture became), or None when someone
# else already decided: then nothing is recorded. `Follow` runs after, with the written case
# (an alert names its case).
Gate = Callable[[AsyncConnection, CaseDraft], Awaitable[CaseDraft | None]]
Follow = Callable[[AsyncConnection, Case], Awaitable[None]]


class Decision(Generic[T]):
    """A gate that closes a record (an alert, a report) before its case is written.

    `close` returns the closed record, or None when someone else already decided (then no case
    is written); `then` may change more in the same transaction and fill in the draft. The
    closed record is kept in `closed` for what follows (redrawing it, telling reporters).
    """

    def __init__(
        self,
        close: Callable[[AsyncConnection], Awaitable[T | None]],
        then: Callable[[AsyncConnection, T, CaseDraft], Awaitable[CaseDraft]] | None = None,
    ) -> None:
        self._close = close
        self._then = then
        self.closed: T | None = None

    async def __call__(self, conn: AsyncConnection, draft: CaseDraft) -> CaseDraft | None:
        closed = await self._close(conn)
        if closed is None:
            return None
        self.closed = closed
        return await self._then(conn, closed, draft) if self._then is not None else draft


@dataclass(frozen=True, slots=True)
class Removal:
    """A removal: the case written, or why Discord would not remove the message."""

    case: Case | None = None
    problem: Phrase | None = None


def can_act_on(me: discord.Member, member: discord.Member) -> Phrase | None:
    """Why the bot can't time out or ban `member` (role hierarchy), or None."""
    if member.id == member.guild.owner_id:
        return phrase("{member} owns the server", member=member.mention)
    if member.top_role >= me.top_role:
        return phrase(
            "{member}'s highest role is not below mine; move my role above it",
            member=member.mention,
        )
    return None


def in_english(problem: Phrase) -> str:
    """A problem as the log reads it."""
    return source_texts().read(problem)


async def delete_message(message: discord.Message | discord.PartialMessage) -> Phrase | None:
    """Delete a message; a sentence for the moderators when it couldn't be done.

    A member's message is removed with `ModerationActions.remove_message`, which records the
    case; this alone is for the bot's own posts (a queue message replaced by a new one).
    """
    try:
        await message.delete()
    except discord.NotFound:
        return None  # already gone
    except discord.Forbidden:
        where = getattr(message.channel, "mention", f"<#{message.channel.id}>")
        return phrase(
            "I couldn't remove it: I'm missing **Manage Messages** in {where}.", where=where
        )
    except discord.HTTPException as exc:
        log.warning("Deleting message %s failed: %s", message.id, exc)
        return phrase("I couldn't remove it: Discord returned an error. Please remove it by hand.")
    return None


class ModerationActions:
    """Remove, time out, ban, record: each action with its case, in one transaction."""

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot

    async def record(
        self,
        guild_id: int,
        draft: CaseDraft,
        *,
        gate: Gate | None = None,
        follow: Follow | None = None,
    ) -> Case | None:
        """Write a case with the changes it records; None when `gate` found it decided."""
        async with self.bot.db.transaction() as conn:
            if gate is not None:
                gated = await gate(conn, draft)
                if gated is None:
                    return None
                draft = gated
            draft = self._named(guild_id, draft)
            case = await cases_db.create_case(conn, guild_id, draft.kind, **_fields(draft))
            if follow is not None:
                await follow(conn, case)
        return case

    def _named(self, guild_id: int, draft: CaseDraft) -> CaseDraft:
        """The draft with the member's username as it is now, when the bot knows them: evidence
        names the account as it was when the case was written."""
        if draft.user_name or draft.user_id is None:
            return draft
        guild = self.bot.get_guild(guild_id)
        user = (guild.get_member(draft.user_id) if guild else None) or self.bot.get_user(
            draft.user_id
        )
        return replace(draft, user_name=user.name) if user is not None else draft

    async def remove_message(
        self,
        message: discord.Message | discord.PartialMessage,
        guild_id: int,
        draft: CaseDraft,
        *,
        gate: Gate | None = None,
        follow: Follow | None = None,
    ) -> Removal:
        """Delete a message, then record the case; nothing is recorded if Discord refused."""
        problem = await delete_message(message)
        if problem:
            return Removal(problem=problem)
        return Removal(case=await self.record(guild_id, draft, gate=gate, follow=follow))

    async def take_down(
        self,
        guild_id: int,
        where: tuple[int, int] | None,
        draft: CaseDraft,
        *,
        gate: Gate | None = None,
        follow: Follow | None = None,
    ) -> Removal:
        """Remove the message at `where` (channel id, message id), if there is one to remove,
        then record the case.

        The message is reached by its ids alone, so one in an archived thread the cache doesn't
        hold is removed too, and one its author already deleted is no obstacle.
        """
        if where is None:
            return Removal(case=await self.record(guild_id, draft, gate=gate, follow=follow))
        channel = self.bot.get_partial_messageable(where[0], guild_id=guild_id)
        message = channel.get_partial_message(where[1])
        return await self.remove_message(message, guild_id, draft, gate=gate, follow=follow)

    async def timeout_member(
        self,
        member: discord.Member,
        *,
        minutes: int,
        moderator: discord.Member | None,
        reason: str,
        report_id: int | None = None,
        close_report: bool = False,
    ) -> Phrase | None:
        """Time a member out and record the case; a sentence for the moderator if it failed.

        With `close_report`, the report `report_id` is closed as acted on, in the same transaction.
        """
        guild = member.guild
        if not guild.me.guild_permissions.moderate_members:
            return phrase("I can't time members out: I'm missing **Moderate Members**.")
        blocked = can_act_on(guild.me, member)
        if blocked:
            return phrase("I can't time out {member}: {why}.", member=member.mention, why=blocked)
        try:
            await member.timeout(timedelta(minutes=minutes), reason=reason)
        except discord.Forbidden:
            return phrase(
                "Discord refused to time out {member}: check my role and permissions.",
                member=member.mention,
            )
        except discord.HTTPException as exc:
            log.warning("Timeout of %s failed: %s", member.id, exc)
            return phrase("Discord returned an error; please try again.")
        draft = CaseDraft(
            CaseKind.TIMEOUT,
            f"{minutes} min: {reason}",
            user_id=member.id,
            moderator_id=moderator.id if moderator else None,
            report_id=report_id,
        )
        closer = moderator.id if close_report and moderator is not None else None
        await self.record(guild.id, draft, follow=_closing(report_id, closer, reason))
        return None

    async def ban_user(
        self,
        guild: discord.Guild,
        user: discord.abc.Snowflake,
        *,
        moderator: discord.Member,
        reason: str,
        report_id: int | None = None,
        close_report: bool = False,
    ) -> Phrase | None:
        """Ban and record the case; a sentence for the moderator if it failed.

        With `close_report`, the report `report_id` is closed as acted on, in the same transaction.
        """
        if not guild.me.guild_permissions.ban_members:
            return phrase("I can't ban: I'm missing **Ban Members**.")
        member = user if isinstance(user, discord.Member) else guild.get_member(user.id)
        if member is not None:
            blocked = can_act_on(guild.me, member)
            if blocked:
                return phrase("I can't ban {member}: {why}.", member=member.mention, why=blocked)
        try:
            # Explicit: discord.py would otherwise delete a day of their messages.
            await guild.ban(user, reason=reason, delete_message_seconds=0)
        except discord.Forbidden:
            return phrase("Discord refused the ban: check my role and permissions.")
        except discord.HTTPException as exc:
            log.warning("Ban of %s failed: %s", user.id, exc)
            return phrase("Discord returned an error; please try again.")
        draft = CaseDraft(
            CaseKind.BAN, reason, user_id=user.id, moderator_id=moderator.id, report_id=report_id
        )
        closer = moderator.id if close_report else None
        await self.record(guild.id, draft, follow=_closing(report_id, closer, reason))
        return None

    async def after_removal(self, message: discord.Message, settings: GuildSettings) -> None:
        """What follows an automatic removal: the author's DM and a repeat offender's timeout,
        each as the server's settings say."""
        assert message.guild is not None
        if settings.dm_author:
            await self.notify_author(message, settings)
        since = datetime.now(UTC) - timedelta(hours=settings.repeat_window_hours)
        if not settings.timeout_on_repeat_minutes or not isinstance(message.author, discord.Member):
            return
        async with self.bot.db.connect() as conn:
            removals = await alerts_db.count_removals_since(
                conn, message.guild.id, message.author.id, since
            )
        minutes = repeat_timeout_minutes(settings, removals)
        if minutes is None:
            return
        problem = await self.timeout_member(
            message.author,
            minutes=minutes,
            moderator=None,
            reason=f"{removals} takedown-list matches within {settings.repeat_window_hours} h",
        )
        if problem:
            log.info(
                "Repeat timeout in guild %s not applied: %s", message.guild.id, in_english(problem)
            )

    async def notify_author(self, message: discord.Message, settings: GuildSettings) -> None:
        """DM the author of a removed match why it went, citing the server's rule if one fits,
        in the server's language (the DM speaks for the server)."""
        assert message.guild is not None
        async with self.bot.db.connect() as conn:
            rules = await rules_db.list_rules(conn, message.guild.id)
        tr = guild_texts(settings.language, message.guild)
        rule = takedown_rule(rules)
        server = message.guild.name
        if rule is None:
            text = tr(REMOVAL_NOTICE, server=server)
        else:
            text = tr(REMOVAL_NOTICE_CITING, server=server, number=rule.position, title=rule.title)
        try:
            await message.author.send(text)
        except discord.HTTPException as exc:  # DMs closed (50007) and the like
            log.info("Could not DM the author of message %s: %s", message.id, exc)


def _fields(draft: CaseDraft) -> dict[str, object]:
    fields = asdict(draft)
    del fields["kind"]
    return fields


def _closing(report_id: int | None, closed_by: int | None, reason: str) -> Follow | None:
    """Close a report on a member as acted on, with the timeout's or ban's case."""
    if report_id is None or closed_by is None:
        return None

    async def close(conn: AsyncConnection, _case: Case) -> None:
        await reports_db.resolve(
            conn, report_id, status=ReportStatus.ACTIONED, resolved_by=closed_by, reason=reason
        )

    return close
