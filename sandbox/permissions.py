"""Discord's permission model, so a bot that lacks a permission fails here as it would there.

Follows Discord's documented algorithm: the guild owner and Administrator have everything; else
@everyone's permissions OR the member's roles, then the channel's overwrites in Discord's order
(@everyone, roles together, the member). A timed-out member keeps only View Channel and Read
Message History. Acting on another member also needs a higher top role than theirs.
"""

from __future__ import annotations

from sandbox.errors import DiscordError
from sandbox.state import OVERWRITE_MEMBER, Channel, Guild, Member


class Permission:
    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40
    PIN_MESSAGES = 1 << 51
    ALL = (1 << 53) - 1


# What @everyone gets in a new guild (Discord's default, trimmed to what the sandbox models).
EVERYONE_DEFAULT = (
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.ADD_REACTIONS
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.SEND_MESSAGES_IN_THREADS
)

# The bot's managed role unless a test says otherwise: what a moderation bot's invite asks for.
BOT_DEFAULT = (
    EVERYONE_DEFAULT
    | Permission.KICK_MEMBERS
    | Permission.BAN_MEMBERS
    | Permission.MANAGE_MESSAGES
    | Permission.MODERATE_MEMBERS
    | Permission.PIN_MESSAGES
)

TIMED_OUT_ALLOWED = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY


def guild_permissions(guild: Guild, member: Member) -> int:
    if member.user.id == guild.owner_id:
        return Permission.ALL
    perms = guild.everyone.permissions
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & Permission.ADMINISTRATOR:
        return Permission.ALL
    if member.timed_out():
        perms &= TIMED_OUT_ALLOWED
    return perms


def channel_permissions(guild: Guild, channel: Channel, member: Member) -> int:
    perms = guild_permissions(guild, member)
    if perms & Permission.ADMINISTRATOR or member.user.id == guild.owner_id:
        return Permission.ALL
    overwrites = {ow.id: ow for ow in channel.overwrites}
    everyone = overwrites.get(guild.id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        overwrite = overwrites.get(role_id)
        if overwrite is not None and overwrite.type != OVERWRITE_MEMBER:
            allow |= overwrite.allow
            deny |= overwrite.deny
    perms = (perms & ~deny) | allow
    own = overwrites.get(member.user.id)
    if own is not None and own.type == OVERWRITE_MEMBER:
        perms = (perms & ~own.deny) | own.allow
    if member.timed_out():
        perms &= TIMED_OUT_ALLOWED
    if not perms & Permission.VIEW_CHANNEL:
        return 0  # a channel you cannot see grants nothing
    return perms


def top_role_position(guild: Guild, member: Member) -> int:
    positions = [guild.roles[r].position for r in member.roles if r in guild.roles]
    return max(positions, default=0)


def require(perms: int, needed: int) -> None:
    """Raise Discord's 50013 unless every bit of `needed` is in `perms`."""
    if perms & needed != needed:
        raise DiscordError.missing_permissions()


def require_in_channel(guild: Guild, channel: Channel, member: Member, needed: int) -> None:
    perms = channel_permissions(guild, channel, member)
    if not perms & Permission.VIEW_CHANNEL:
        raise DiscordError.missing_access()
    require(perms, needed)


def require_above(guild: Guild, actor: Member, target: Member) -> None:
    """Kick, ban, timeout and role edits need a top role above the target's; owners are immune."""
    if actor.user.id == guild.owner_id:
        return
    if target.user.id == guild.owner_id:
        raise DiscordError.missing_permissions()
    if top_role_position(guild, actor) <= top_role_position(guild, target):
        raise DiscordError.missing_permissions()
