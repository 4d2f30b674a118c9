"""What the buttons on alerts and queue messages share: custom ids that survive a restart, and
the **Timeout author**, **Kick** and **Ban author** steps, which work the same from either."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from db.reports import Report
from moderation.access import moderator_clicking, standing
from moderation.i18n import N_, Texts, member_texts, source_texts
from moderation.replies import apologise
from services.moderation_policy import AuthorAction, rank_refusal

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

BAN, CANCEL = N_("Ban"), N_("Cancel")
# Why not, by rank: the reason is the policy's words (services.moderation_policy), in English.
CANT_ACT = {
    AuthorAction.TIMEOUT: N_("You can't time out {member}: {why}."),
    AuthorAction.KICK: N_("You can't kick {member}: {why}."),
    AuthorAction.BAN: N_("You can't ban {member}: {why}."),
}
TIMEOUT_MINUTES = 60  # the "Timeout author" button when no repeat timeout is configured
Label = tuple[str, discord.ButtonStyle]
TAKE_DOWN: Label = (N_("Take down"), discord.ButtonStyle.danger)
AUTHOR_LABELS: dict[str, Label] = {
    "timeout": (N_("Timeout author"), discord.ButtonStyle.primary),
    "ban": (N_("Ban author"), discord.ButtonStyle.danger),
}
# On an alert about a member's profile picture: the member wears it, they didn't post it.
MEMBER_LABELS: dict[str, Label] = {
    "timeout": (N_("Timeout"), discord.ButtonStyle.primary),
    "kick": (N_("Kick"), discord.ButtonStyle.danger),
    "ban": (BAN, discord.ButtonStyle.danger),
}


class GuildRecord(Protocol):
    """An alert or a report: what a button's custom id points at."""

    @property
    def guild_id(self) -> int: ...


R = TypeVar("R", bound=GuildRecord)


class RecordButton:
    """A label and style per action, and a custom id that holds the record's id, so the button
    works after a restart. Mixed into a `DynamicItem`; the record is read from the database on
    every click. The label speaks `tr`, the language of the message it is on (a button rebuilt
    from a click's custom id is never shown, so it keeps the source text)."""

    KIND: ClassVar[str]  # "alert" or "report", the custom id's second part
    LABELS: ClassVar[dict[str, Label]]
    # What a click does: (interaction, record id, action); each kind of button names its own.
    on_click: ClassVar[Callable[[discord.Interaction[Lightstick], int, str], Awaitable[None]]]

    def __init__(
        self, record_id: int, action: str, *, disabled: bool = False, tr: Texts | None = None
    ) -> None:
        label, style = self.LABELS[action]
        label = (tr or source_texts())(label)
        custom_id = f"lightstick:{self.KIND}:{record_id}:{action}"
        super().__init__(  # type: ignore[call-arg]
            discord.ui.Button(label=label, style=style, disabled=disabled, custom_id=custom_id)
        )
        self.record_id = record_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> Self:
        return cls(int(match["id"]), match["action"])

    async def callback(self, interaction: discord.Interaction[Lightstick]) -> None:
        await type(self).on_click(interaction, self.record_id, self.action)


class ConfirmBan(discord.ui.View):
    """A second click before a ban: bans are hard to undo for the member. It speaks the
    language of the moderator who asked (`tr`)."""

    def __init__(self, tr: Texts, owner_id: int) -> None:
        super().__init__(timeout=60)
        self.tr = tr
        self.owner_id = owner_id
        self.confirmed: discord.Interaction | None = None
        self.confirm.label = tr(BAN)
        self.cancel.label = tr(CANCEL)

    @discord.ui.button(label=BAN, style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        if interaction.user.id != self.owner_id:
            tr = member_texts(interaction)
            await interaction.response.send_message(
                tr("This isn't your confirmation."), ephemeral=True
            )
            return
        self.confirmed = interaction
        self.stop()

    @discord.ui.button(label=CANCEL, style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content=self.tr("Not banned."), view=None)
        self.stop()


async def clicked_record(
    interaction: discord.Interaction[Lightstick],
    record_id: int,
    load: Callable[[AsyncConnection, int], Awaitable[R | None]],
    gone: str,
) -> tuple[discord.Member, R] | None:
    """The moderator who clicked and the record the button is on, read fresh from the database;
    None once whoever clicked has been told why not (not a moderator, record gone: `gone`, a
    marked sentence)."""
    moderator = await moderator_clicking(interaction)
    if moderator is None:
        return None
    async with interaction.client.db.connect() as conn:
        record = await load(conn, record_id)
    if record is None or record.guild_id != interaction.guild_id:
        await interaction.response.send_message(member_texts(interaction)(gone), ephemeral=True)
        return None
    return moderator, record


@asynccontextmanager
async def apologising(interaction: discord.Interaction, doing: str) -> AsyncIterator[None]:
    """An unexpected error in a button's work: logged with its cause, a short apology shown."""
    try:
        yield
    except Exception:
        log.exception("%s failed", doing)
        await apologise(interaction)


def closes_report(report: Report | None) -> bool:
    """Timeout or ban decides a report on a member; on a message, its content still needs one."""
    return report is not None and report.target_kind == "user" and report.is_open


async def fetch_member(guild: discord.Guild, user_id: int) -> discord.Member | None:
    """The member from the cache, or from Discord; None if they left.

    Any other error from Discord is raised: a rank can't be judged on a guess.
    """
    member = guild.get_member(user_id)
    if member is None:
        try:
            member = await guild.fetch_member(user_id)
        except discord.NotFound:
            return None
    return member


async def outranked(
    interaction: discord.Interaction[Lightstick],
    step: OnAuthor,
    member: discord.Member | None,
    action: AuthorAction,
) -> bool:
    """Whether the moderator may not act on the member by rank; if so, they have been told why,
    privately."""
    assert interaction.guild is not None
    settings = await interaction.client.guild_settings.get(interaction.guild.id)
    target = standing(member) if member is not None else None
    refusal = rank_refusal(standing(step.moderator), target, action, settings.mod_role_id)
    if refusal is None:
        return False
    tr = member_texts(interaction)
    await interaction.response.send_message(
        tr(CANT_ACT[action], member=f"<@{step.author_id}>", why=tr.read(refusal)),
        ephemeral=True,
        allowed_mentions=discord.AllowedMentions.none(),
    )
    return True


@dataclass(frozen=True, slots=True)
class OnAuthor:
    """A moderator's step against the author of an alert's or a report's message (or the
    reported member), and the report it may close."""

    moderator: discord.Member
    author_id: int
    reason: str
    report: Report | None = None

    def report_fields(self) -> dict[str, Any]:
        """The report the action names, and whether the action closes it."""
        report = self.report
        return {"report_id": report.id if report else None, "close_report": closes_report(report)}


async def _member_in_reach(
    interaction: discord.Interaction[Lightstick], step: OnAuthor, action: AuthorAction, gone: str
) -> discord.Member | None:
    """The member a timeout or kick acts on; None, with the clicker answered, when they left
    the server (`gone`) or the rank rules refuse the action."""
    assert interaction.guild is not None
    member = await fetch_member(interaction.guild, step.author_id)
    if member is None:
        await interaction.response.send_message(gone, ephemeral=True)
        return None
    if await outranked(interaction, step, member, action):
        return None
    return member


async def timeout_author(interaction: discord.Interaction[Lightstick], step: OnAuthor) -> bool:
    """The "Timeout author" button of an alert or a report; whether the member is timed out."""
    tr = member_texts(interaction)
    gone = tr("The author is no longer in the server.")
    member = await _member_in_reach(interaction, step, AuthorAction.TIMEOUT, gone)
    if member is None:
        return False
    settings = await interaction.client.guild_settings.get(member.guild.id)
    minutes = settings.timeout_on_repeat_minutes or TIMEOUT_MINUTES
    problem = await interaction.client.actions.timeout_member(
        member,
        minutes=minutes,
        moderator=step.moderator,
        reason=step.reason,
        **step.report_fields(),
    )
    answer = (
        tr.read(problem)
        if problem
        else tr.plural(
            "{member} is timed out for {count} minute.",
            "{member} is timed out for {count} minutes.",
            minutes,
            member=member.mention,
        )
    )
    await interaction.response.send_message(answer, ephemeral=True)
    return problem is None


async def kick_author(interaction: discord.Interaction[Lightstick], step: OnAuthor) -> bool:
    """The "Kick" button of a profile-picture alert; whether the member was kicked."""
    tr = member_texts(interaction)
    gone = tr("The member is no longer in the server.")
    member = await _member_in_reach(interaction, step, AuthorAction.KICK, gone)
    if member is None:
        return False
    problem = await interaction.client.actions.kick_member(
        member, moderator=step.moderator, reason=step.reason
    )
    answer = tr.read(problem) if problem else tr("{member} is kicked.", member=member.mention)
    await interaction.response.send_message(
        answer, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
    )
    return problem is None


async def ban_author(interaction: discord.Interaction[Lightstick], step: OnAuthor) -> bool:
    """The "Ban author" button of an alert or a report, with a confirmation; whether banned."""
    guild = interaction.guild
    assert guild is not None
    tr = member_texts(interaction)
    member = await fetch_member(guild, step.author_id)
    if await outranked(interaction, step, member, AuthorAction.BAN):
        return False
    confirm = ConfirmBan(tr, step.moderator.id)
    await interaction.response.send_message(
        tr(
            "Ban {member} from the server? Their earlier messages stay.",
            member=f"<@{step.author_id}>",
        ),
        view=confirm,
        ephemeral=True,
    )
    if await confirm.wait() or confirm.confirmed is None:
        return False
    problem = await interaction.client.actions.ban_user(
        guild,
        member or discord.Object(step.author_id),
        moderator=step.moderator,
        reason=step.reason,
        **step.report_fields(),
    )
    answer = (
        tr.read(problem) if problem else tr("{member} is banned.", member=f"<@{step.author_id}>")
    )
    await confirm.confirmed.response.edit_message(content=answer, view=None)
    return problem is None


# The buttons that act on a message's author (or a member): their step, by custom-id action.
AUTHOR_STEPS: dict[str, Callable[[discord.Interaction[Lightstick], OnAuthor], Awaitable[bool]]] = {
    "timeout": timeout_author,
    "kick": kick_author,
    "ban": ban_author,
}
