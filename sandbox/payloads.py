"""Discord's JSON shapes for the sandbox's objects, shared by REST responses and gateway events.

One place builds each shape so REST and gateway never disagree, and so the OpenAPI check in the
tests covers what the gateway sends too. Snowflakes and permission sets are strings, as on Discord.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sandbox import permissions
from sandbox.state import (
    DM,
    Attachment,
    Ban,
    Channel,
    Command,
    Guild,
    Interaction,
    Member,
    Message,
    MessageFlags,
    Role,
    Snapshot,
    User,
    World,
    snowflake_time,
)


def iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def user(u: User, *, profile: bool = False) -> dict[str, Any]:
    """A user object; the banner only with `profile` (GET /users/{id}): Discord leaves it out of
    the user objects of members and messages."""
    payload: dict[str, Any] = {
        "id": str(u.id),
        "username": u.username,
        "avatar": u.avatar,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "global_name": u.global_name,
        "primary_guild": None,
        "banner": u.banner if profile else None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
    }
    if u.bot:
        payload["bot"] = True
    return payload


def current_user(u: User) -> dict[str, Any]:
    return {**user(u), "mfa_enabled": True, "locale": "en-US", "verified": True}


def role(r: Role) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "name": r.name,
        "permissions": str(r.permissions),
        "position": r.position,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "managed": r.managed,
        "mentionable": r.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
        "description": None,
    }


def member(m: Member, *, with_user: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "avatar": m.avatar,
        "banner": m.banner,
        "communication_disabled_until": iso(m.communication_disabled_until),
        "flags": 0,
        "joined_at": iso(m.joined_at),
        "nick": m.nick,
        "pending": False,
        "premium_since": None,
        "roles": [str(r) for r in m.roles],
        "mute": False,
        "deaf": False,
    }
    if with_user:
        payload["user"] = user(m.user)
    return payload


def interaction_member(guild: Guild, channel: Channel, m: Member) -> dict[str, Any]:
    perms = permissions.channel_permissions(guild, channel, m)
    return {**member(m), "permissions": str(perms)}


def channel(c: Channel) -> dict[str, Any]:
    if c.type == DM:
        return {
            "id": str(c.id),
            "type": DM,
            "flags": 0,
            "last_message_id": str(c.last_message_id) if c.last_message_id else None,
            "recipients": [user(u) for u in c.recipients],
        }
    return {
        "id": str(c.id),
        "type": c.type,
        "flags": 0,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "position": c.position,
        "parent_id": str(c.parent_id) if c.parent_id else None,
        "topic": c.topic,
        "nsfw": c.nsfw,
        "rate_limit_per_user": 0,
        "last_message_id": str(c.last_message_id) if c.last_message_id else None,
        "permission_overwrites": [
            {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}
            for o in c.overwrites
        ],
    }


def guild(g: Guild) -> dict[str, Any]:
    """The REST guild object (GET /guilds/{id})."""
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "description": None,
        "home_header": None,
        "splash": None,
        "discovery_splash": None,
        "features": [],
        "banner": None,
        "owner_id": str(g.owner_id),
        "application_id": None,
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 0,
        "roles": [role(r) for r in g.roles.values()],
        "default_message_notifications": 1,
        "mfa_level": 0,
        "explicit_content_filter": 0,
        "max_presences": None,
        "max_members": 500000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": g.preferred_locale,
        "rules_channel_id": None,
        "safety_alerts_channel_id": None,
        "public_updates_channel_id": None,
        "premium_progress_bar_enabled": False,
        "nsfw": False,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": None,
    }


def gateway_guild(world: World, g: Guild, *, with_members: bool) -> dict[str, Any]:
    """GUILD_CREATE: the REST guild plus channels, members and join data."""
    bot_member = g.members.get(world.bot.id)
    members = list(g.members.values()) if with_members else [bot_member] if bot_member else []
    return {
        **guild(g),
        "unavailable": False,
        "large": len(g.members) > 250,
        "member_count": len(g.members),
        "joined_at": iso(bot_member.joined_at if bot_member else None),
        "channels": [channel(c) for c in world.guild_channels(g)],
        "members": [member(m) for m in members],
        "threads": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def ban(b: Ban) -> dict[str, Any]:
    return {"user": user(b.user), "reason": b.reason}


def attachment(world: World, channel_id: int, a: Attachment) -> dict[str, Any]:
    url = world.attachment_url(channel_id, a)
    payload: dict[str, Any] = {
        "id": str(a.id),
        "filename": a.filename,
        "size": len(a.data),
        "url": url,
        "proxy_url": url,
    }
    if a.content_type:
        payload["content_type"] = a.content_type
    if a.description:
        payload["description"] = a.description
    if a.width is not None and a.height is not None:
        payload["width"], payload["height"] = a.width, a.height
    if a.ephemeral:
        payload["ephemeral"] = True
    return payload


def message(world: World, m: Message, *, content_visible: bool = True) -> dict[str, Any]:
    """A message; without the content intent, content, embeds, files and components are blank."""
    payload: dict[str, Any] = {
        "type": m.type,
        "content": m.content if content_visible else "",
        "mentions": [user(u) for u in m.mentions],
        "mention_roles": [str(r) for r in m.mention_role_ids],
        "attachments": (
            [attachment(world, m.channel_id, a) for a in m.attachments] if content_visible else []
        ),
        "embeds": m.embeds if content_visible else [],
        "timestamp": iso(snowflake_time(m.id)),
        "edited_timestamp": iso(m.edited_at),
        "flags": m.flags,
        "components": m.components if content_visible else [],
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": user(m.author),
        "pinned": m.pinned,
        "mention_everyone": m.mention_everyone,
        "tts": False,
    }
    if m.reactions:
        payload["reactions"] = [
            {
                "emoji": {"id": None, "name": r.emoji},
                "count": len(r.user_ids),
                "count_details": {"burst": 0, "normal": len(r.user_ids)},
                "burst_colors": [],
                "me_burst": False,
                "me": world.bot.id in r.user_ids,
            }
            for r in m.reactions
        ]
    if m.webhook_id is not None:
        payload["webhook_id"] = str(m.webhook_id)
    if m.application_id is not None:
        payload["application_id"] = str(m.application_id)
    if m.interaction_metadata is not None:
        payload["interaction_metadata"] = m.interaction_metadata
    if m.message_reference is not None:
        payload["message_reference"] = m.message_reference
    if m.snapshots:
        payload["message_snapshots"] = [
            {"message": snapshot(world, shot, content_visible=content_visible)}
            for shot in m.snapshots
        ]
    return payload


def snapshot(world: World, shot: Snapshot, *, content_visible: bool) -> dict[str, Any]:
    """A forward's copy of the original: the minimal message fields, no author, no id.

    Without the content intent it is blanked like the message around it."""
    return {
        "type": shot.type,
        "content": shot.content if content_visible else "",
        "mentions": [],
        "mention_roles": [],
        "attachments": (
            [attachment(world, shot.source_channel_id, a) for a in shot.attachments]
            if content_visible
            else []
        ),
        "embeds": shot.embeds if content_visible else [],
        "timestamp": iso(snowflake_time(shot.source_id)),
        "edited_timestamp": iso(shot.edited_at),
        "flags": shot.flags,
        "components": [],
    }


def gateway_message(world: World, m: Message, *, content_visible: bool) -> dict[str, Any]:
    """MESSAGE_CREATE/UPDATE add guild_id and the author's member object."""
    payload = message(world, m, content_visible=content_visible)
    if m.guild_id is not None:
        payload["guild_id"] = str(m.guild_id)
        author = world.guilds[m.guild_id].members.get(m.author.id)
        if author is not None:
            payload["member"] = member(author, with_user=False)
    return payload


def interaction_metadata(interaction: Interaction) -> dict[str, Any]:
    """What a message says about the interaction that made it; the shape depends on the type."""
    metadata: dict[str, Any] = {
        "id": str(interaction.id),
        "type": interaction.type,
        "user": user(interaction.user),
        "authorizing_integration_owners": {"0": str(interaction.guild_id or 0)},
    }
    if interaction.original_message_id is not None:
        metadata["original_response_message_id"] = str(interaction.original_message_id)
    if interaction.type == 3 and interaction.message_id is not None:
        metadata["interacted_message_id"] = str(interaction.message_id)
    if interaction.type == 5 and interaction.opened_by is not None:
        metadata["triggering_interaction_metadata"] = interaction_metadata(interaction.opened_by)
    target = interaction.data.get("target_id")
    if interaction.type == 2 and target is not None:
        key = "target_message_id" if interaction.data.get("type") == 3 else "target_user"
        metadata[key] = str(target) if key == "target_message_id" else _target_user(interaction)
    return metadata


def _target_user(interaction: Interaction) -> dict[str, Any]:
    return interaction.data["resolved"]["users"][str(interaction.data["target_id"])]


def command(world: World, c: Command) -> dict[str, Any]:
    given = {k: v for k, v in c.payload.items() if v is not None}
    if "default_member_permissions" in given:  # Discord answers with a string bitfield
        given["default_member_permissions"] = str(given["default_member_permissions"])
    payload = {
        "options": [],
        "description": "",
        "default_member_permissions": None,
        "nsfw": False,
        "integration_types": [0],
        **given,
        "id": str(c.id),
        "application_id": str(world.application.id),
        "version": str(c.version),
        "type": c.type,
    }
    if c.guild_id is not None:
        payload["guild_id"] = str(c.guild_id)
    return payload


def application(world: World) -> dict[str, Any]:
    app = world.application
    owner = next(u for u in world.users.values() if not u.bot) if world.has_humans() else app.bot
    return {
        "id": str(app.id),
        "name": app.name,
        "icon": None,
        "description": "",
        "type": None,
        "bot": user(app.bot),
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": app.flags,
        "flags_new": str(app.flags),
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "owner": user(owner),
        "approximate_guild_count": len(world.guilds),
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
        "tags": [],
    }


def components_v2(flags: int) -> bool:
    return bool(flags & MessageFlags.IS_COMPONENTS_V2)
