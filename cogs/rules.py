"""/rules for everyone, /manage-rules for admins; a posted rules message follows every edit."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncConnection

from db import cases
from db import rules as rules_db
from db.rules import Rule, RuleNotFound
from locales import SOURCE_LANGUAGE
from moderation.access import admins_only, is_moderator, require_admin
from moderation.i18n import N_, Texts, every_language, guild_texts, member_texts, texts
from moderation.shown_text import fit_embed

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

RULES_COLOUR = discord.Colour.from_rgb(255, 95, 162)
NO_RULES = N_("This server hasn't written any rules yet.")
NO_SUCH_RULE = N_("There's no rule {number}.")
MAX_RULES = 25  # one embed field each; Discord allows 25 fields


@dataclass(frozen=True, slots=True)
class RuleChange:
    """What a change did, as a catalog string and its values: the admin reads it in their
    language, the case keeps it in the source language."""

    text: str
    values: dict[str, str | int]

    def read(self, tr: Texts) -> str:
        return tr(self.text, **self.values)


class RulesTooLong(ValueError):
    """The change would break one of Discord's length limits; nothing was saved."""

    def __init__(self, message: str, **values: int) -> None:
        super().__init__(message)
        self.message, self.values = message, values


def rules_embed(tr: Texts, guild_name: str, rules: list[Rule]) -> discord.Embed:
    """The rules as one embed, whole: the framing in `tr`'s language, the rules as the admins
    wrote. `_check_limits` measures it before a change is saved; it is shown through
    `fit_embed`, in case the server was renamed to a longer name since."""
    embed = discord.Embed(title=tr("{server} rules", server=guild_name), colour=RULES_COLOUR)
    for rule in rules:
        embed.add_field(
            name=f"{rule.position}. {rule.title}", value=rule.body or "\u200b", inline=False
        )
    if not rules:
        embed.description = tr(NO_RULES)
    return embed


def rule_embed(tr: Texts, rule: Rule) -> discord.Embed:
    return discord.Embed(
        title=tr("Rule {number}: {title}", number=rule.position, title=rule.title),
        description=rule.body or None,
        colour=RULES_COLOUR,
    )


class RuleModal(discord.ui.Modal):
    """Title and body of a rule: a modal, so the body can span several lines on a phone."""

    def __init__(
        self,
        tr: Texts,
        heading: str,
        on_done: Callable[[discord.Interaction, str, str], Awaitable[None]],
        rule: Rule | None = None,
    ) -> None:
        super().__init__(title=heading, timeout=900)
        self.on_done = on_done
        self.rule_title = discord.ui.TextInput(
            label=tr("Title"),
            custom_id="rule-title",
            placeholder=tr("No deepfakes or sexualized edits"),
            default=rule.title if rule else None,
            max_length=Rules.TITLE_LIMIT,
        )
        self.body = discord.ui.TextInput(
            label=tr("Details"),
            custom_id="rule-body",
            style=discord.TextStyle.paragraph,
            placeholder=tr("What the rule means, and what happens when it's broken."),
            default=rule.body if rule else None,
            required=False,
            max_length=Rules.BODY_LIMIT,
        )
        self.add_item(self.rule_title)
        self.add_item(self.body)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.on_done(interaction, self.rule_title.value.strip(), self.body.value.strip())


class Rules(commands.Cog):
    """The server's rules: shown with /rules, managed by admins with /manage-rules."""

    MAX_RULES = MAX_RULES
    TITLE_LIMIT = 250  # an embed field name holds 256 characters, less the "25. " number
    BODY_LIMIT = 1024  # an embed field value holds 1024 characters
    EMBED_LIMIT = 6000  # Discord's limit for all the text of one embed

    manage = app_commands.Group(
        name="manage-rules",
        description="Add, edit, move, remove and post the server's rules",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot

    async def _list(self, guild_id: int) -> list[Rule]:
        async with self.bot.db.connect() as conn:
            return await rules_db.list_rules(conn, guild_id)

    @app_commands.command(name="rules", description="Show this server's rules")
    @app_commands.guild_only()
    @app_commands.describe(
        number="Show just this rule", public="Post in this channel for everyone (moderators)"
    )
    async def show_rules(
        self,
        interaction: discord.Interaction[Lightstick],
        number: app_commands.Range[int, 1, MAX_RULES] | None = None,
        public: bool = False,
    ) -> None:
        assert interaction.guild is not None and isinstance(interaction.user, discord.Member)
        tr = member_texts(interaction)
        may_post = public and await is_moderator(self.bot, interaction.user)
        if may_post:  # a post for everyone speaks the server's language
            settings = await self.bot.guild_settings.get(interaction.guild.id)
            tr = guild_texts(settings.language, interaction.guild)
        try:
            embed = await self._embed_for(tr, interaction.guild, number)
        except RuleNotFound:
            count = len(await self._list(interaction.guild.id))
            await interaction.response.send_message(
                tr.plural(
                    "There's no rule {number}; this server has {count} rule.",
                    "There's no rule {number}; this server has {count} rules.",
                    count,
                    number=number,
                ),
                ephemeral=True,
            )
            return
        if public and not may_post:
            await interaction.response.send_message(
                tr("Only moderators can post the rules for everyone. Here they are just for you:"),
                embed=embed,
                ephemeral=True,
            )
            return
        await interaction.response.send_message(embed=embed, ephemeral=not public)

    async def _embed_for(
        self, tr: Texts, guild: discord.Guild, number: int | None
    ) -> discord.Embed:
        if number is None:
            return fit_embed(rules_embed(tr, guild.name, await self._list(guild.id)))
        async with self.bot.db.connect() as conn:
            return fit_embed(rule_embed(tr, await rules_db.get_rule(conn, guild.id, number)))

    async def _change(
        self,
        interaction: discord.Interaction[Lightstick],
        change: Callable[[AsyncConnection], Awaitable[RuleChange]],
    ) -> None:
        """Apply one change and its case in one transaction, then refresh the posted rules."""
        member = require_admin(interaction)
        guild = interaction.guild
        assert guild is not None
        tr = member_texts(interaction)
        try:
            async with self.bot.db.transaction() as conn:
                summary = await change(conn)
                self._check_limits(guild.name, await rules_db.list_rules(conn, guild.id))
                reason = summary.read(texts(SOURCE_LANGUAGE))
                await cases.create_case(
                    conn, guild.id, "rules", moderator_id=member.id, reason=reason
                )
        except RuleNotFound as exc:
            problem = tr(NO_SUCH_RULE, number=exc.position)
            await interaction.response.send_message(
                tr("{problem} Nothing changed.", problem=problem), ephemeral=True
            )
            return
        except RulesTooLong as exc:
            problem = tr(exc.message, **exc.values)
            await interaction.response.send_message(
                tr("{problem} Nothing changed.", problem=problem), ephemeral=True
            )
            return
        await interaction.response.send_message(summary.read(tr), ephemeral=True)
        problems = await self.refresh_posts(guild, tr)
        if problems:
            await interaction.followup.send("\n".join(problems), ephemeral=True)

    def _check_limits(self, guild_name: str, rules: list[Rule]) -> None:
        if len(rules) > self.MAX_RULES:
            raise RulesTooLong(N_("A server can have at most {limit} rules."), limit=self.MAX_RULES)
        # The longest framing of any language must fit, as the post may be in any of them.
        if max(len(rules_embed(tr, guild_name, rules)) for tr in every_language()) > (
            self.EMBED_LIMIT
        ):
            raise RulesTooLong(
                N_(
                    "All the rules together must stay under {limit} characters (Discord's "
                    "limit for one message); shorten some first."
                ),
                limit=self.EMBED_LIMIT,
            )

    @manage.command(name="add", description="Add a rule (opens a form)")
    @app_commands.describe(position="Where to put it (default: last)")
    @admins_only()
    async def add(
        self,
        interaction: discord.Interaction[Lightstick],
        position: app_commands.Range[int, 1, MAX_RULES] | None = None,
    ) -> None:
        async def save(submitted: discord.Interaction, title: str, body: str) -> None:
            async def change(conn: AsyncConnection) -> RuleChange:
                rule = await rules_db.add_rule(conn, submitted.guild_id, title, body, position)
                return RuleChange(
                    N_("Added rule {number}: {title}."),
                    {"number": rule.position, "title": rule.title},
                )

            await self._change(submitted, change)

        tr = member_texts(interaction)
        await interaction.response.send_modal(RuleModal(tr, tr("New rule"), save))

    @manage.command(name="edit", description="Edit a rule's title or details (opens a form)")
    @app_commands.describe(number="The rule to edit")
    @admins_only()
    async def edit(
        self,
        interaction: discord.Interaction[Lightstick],
        number: app_commands.Range[int, 1, MAX_RULES],
    ) -> None:
        assert interaction.guild_id is not None
        tr = member_texts(interaction)
        try:
            async with self.bot.db.connect() as conn:
                rule = await rules_db.get_rule(conn, interaction.guild_id, number)
        except RuleNotFound:
            await interaction.response.send_message(tr(NO_SUCH_RULE, number=number), ephemeral=True)
            return

        async def save(submitted: discord.Interaction, title: str, body: str) -> None:
            async def change(conn: AsyncConnection) -> RuleChange:
                edited = await rules_db.edit_rule(
                    conn, submitted.guild_id, number, title=title, body=body
                )
                return RuleChange(
                    N_("Edited rule {number}: {title}."),
                    {"number": edited.position, "title": edited.title},
                )

            await self._change(submitted, change)

        heading = tr("Edit rule {number}", number=number)
        await interaction.response.send_modal(RuleModal(tr, heading, save, rule))

    @manage.command(name="remove", description="Remove a rule; the ones after it move up")
    @app_commands.describe(number="The rule to remove")
    @admins_only()
    async def remove(
        self,
        interaction: discord.Interaction[Lightstick],
        number: app_commands.Range[int, 1, MAX_RULES],
    ) -> None:
        async def change(conn: AsyncConnection) -> RuleChange:
            rule = await rules_db.remove_rule(conn, interaction.guild_id, number)
            return RuleChange(
                N_("Removed rule {number}: {title}."), {"number": number, "title": rule.title}
            )

        await self._change(interaction, change)

    @manage.command(name="move", description="Move a rule to another number")
    @app_commands.describe(number="The rule to move", to="Its new number")
    @admins_only()
    async def move(
        self,
        interaction: discord.Interaction[Lightstick],
        number: app_commands.Range[int, 1, MAX_RULES],
        to: app_commands.Range[int, 1, MAX_RULES],
    ) -> None:
        async def change(conn: AsyncConnection) -> RuleChange:
            rule = await rules_db.move_rule(conn, interaction.guild_id, number, to)
            return RuleChange(
                N_("Moved rule {number} ({title}) to number {position}."),
                {"number": number, "title": rule.title, "position": rule.position},
            )

        await self._change(interaction, change)

    @manage.command(name="post", description="Post the rules in a channel; later edits update it")
    @app_commands.describe(channel="Where to post the rules")
    @admins_only()
    async def post(
        self, interaction: discord.Interaction[Lightstick], channel: discord.TextChannel
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        tr = member_texts(interaction)
        rules = await self._list(guild.id)
        if not rules:
            await interaction.response.send_message(
                tr("This server hasn't written any rules yet. Add one with /manage-rules add."),
                ephemeral=True,
            )
            return
        permissions = channel.permissions_for(guild.me)
        if not (permissions.view_channel and permissions.send_messages and permissions.embed_links):
            await interaction.response.send_message(
                tr(
                    "I can't post in {channel}: I need View Channel, Send Messages and Embed "
                    "Links there.",
                    channel=channel.mention,
                ),
                ephemeral=True,
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.bot.db.connect() as conn:
            existing = {p.channel_id: p for p in await rules_db.list_posts(conn, guild.id)}
        problem = await self._publish(guild, channel, rules, existing.get(channel.id), tr)
        if problem:
            await interaction.followup.send(problem, ephemeral=True)
            return
        async with self.bot.db.transaction() as conn:
            await cases.create_case(
                conn,
                guild.id,
                "rules",
                moderator_id=interaction.user.id,
                channel_id=channel.id,
                reason=f"Posted the rules in #{channel.name}",
            )
        await interaction.followup.send(
            tr(
                "Posted the rules in {channel}. Later changes will update that message.",
                channel=channel.mention,
            ),
            ephemeral=True,
        )

    async def _publish(
        self,
        guild: discord.Guild,
        channel: discord.TextChannel | discord.Thread,
        rules: list[Rule],
        post: rules_db.RulePost | None,
        tr: Texts,
    ) -> str | None:
        """Edit the posted message in place, or post it anew if it's gone. A problem (in `tr`,
        the admin's language), or None. The post itself speaks the server's language."""
        settings = await self.bot.guild_settings.get(guild.id)
        embed = fit_embed(rules_embed(guild_texts(settings.language, guild), guild.name, rules))
        try:
            if post is not None:
                try:
                    await channel.get_partial_message(post.message_id).edit(embed=embed)
                    return None
                except discord.NotFound:
                    log.info(
                        "Posted rules in channel %s were deleted; posting again", post.channel_id
                    )
            message = await channel.send(embed=embed)
        except discord.Forbidden:
            return tr(
                "I couldn't update the rules in {channel}: I'm missing permissions there.",
                channel=channel.mention,
            )
        except discord.HTTPException as exc:
            log.warning("Could not publish rules in guild %s: %s", guild.id, exc)
            return tr("Discord didn't accept the rules message; please try again in a moment.")
        async with self.bot.db.transaction() as conn:
            await rules_db.save_post(conn, guild.id, message.channel.id, message.id)
        return None

    async def refresh_posts(self, guild: discord.Guild, tr: Texts) -> list[str]:
        """Bring every posted rules message up to date; returns problems to tell the admin."""
        async with self.bot.db.connect() as conn:
            posts = await rules_db.list_posts(conn, guild.id)
            rules = await rules_db.list_rules(conn, guild.id)
        problems = []
        for post in posts:
            channel = guild.get_channel(post.channel_id)
            if not isinstance(channel, discord.TextChannel | discord.Thread):
                async with self.bot.db.transaction() as conn:
                    await rules_db.forget_post(conn, guild.id, post.channel_id)
                continue
            problem = await self._publish(guild, channel, rules, post, tr)
            if problem:
                problems.append(problem)
        return problems


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Rules(bot))
