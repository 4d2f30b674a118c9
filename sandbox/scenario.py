"""The scenario API: what tests (and the demo) do as the people in a server.

Build a world (`sandbox.create_guild(...)`, `guild.add_member(...)`), then act as a member the
way the Discord client would: post messages with images and embeds, forward messages, share
links that unfurl into previews (`sandbox.world.add_link_preview(...)`), run slash and
context-menu commands, click buttons, pick from selects, fill in modals. The client's own rules
apply: a command must be registered and visible to the member, required options must be there,
a disabled button cannot be clicked. Each action returns a handle to await the bot's answer.

    guild = create_guild(sandbox, "K-pop Fans")
    fan = guild.add_member("fan")
    answer = await fan.run_command("rules", in_channel=guild.channel("general"), number=2)
    message = await answer.message()
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox import messaging, payloads
from sandbox.gateway import Intent
from sandbox.permissions import BOT_DEFAULT, EVERYONE_DEFAULT, Permission, channel_permissions
from sandbox.recorder import Call
from sandbox.server import DEFAULT_TIMEOUT, Sandbox
from sandbox.state import (
    GUILD_TEXT,
    OVERWRITE_MEMBER,
    OVERWRITE_ROLE,
    Attachment,
    Channel,
    Command,
    Guild,
    Interaction,
    Member,
    Message,
    MessageFlags,
    Overwrite,
    ReferenceType,
    Role,
    User,
    World,
    utcnow,
)

FileSpec = tuple[str, bytes]


def _uploaded(world: World, data: bytes | None) -> str | None:
    """The CDN hash of an uploaded avatar or banner (animated when it is a GIF or an animated
    WebP), or None."""
    if data is None:
        return None
    webp_animation = data[:4] == b"RIFF" and data[8:12] == b"WEBP" and b"ANIM" in data[:64]
    return world.add_profile_image(data, animated=data[:4] == b"GIF8" or webp_animation)


class ScenarioError(AssertionError):
    """The test asked for something a member could not do in the Discord client."""


class OptionType:
    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


class ComponentType:
    ACTION_ROW = 1
    BUTTON = 2
    STRING_SELECT = 3
    TEXT_INPUT = 4
    USER_SELECT = 5
    ROLE_SELECT = 6
    MENTIONABLE_SELECT = 7
    CHANNEL_SELECT = 8
    TEXT_DISPLAY = 10
    LABEL = 18
    FILE_UPLOAD = 19


def create_guild(
    sandbox: Sandbox,
    name: str = "Sandbox Fans",
    *,
    owner: str = "owner",
    bot_permissions: int = BOT_DEFAULT,
    channels: Sequence[str] = ("general",),
    preferred_locale: str = "en-US",
    shard: tuple[int, int] | None = None,
) -> GuildHandle:
    """A guild with @everyone, the bot (with a managed role), its owner and some text channels.

    `shard` (shard_id, shard_count) picks an id that Discord routes to that shard."""
    world = sandbox.world
    guild_id = world.ids.next() if shard is None else world.ids.next_on_shard(*shard)
    guild = Guild(id=guild_id, name=name, owner_id=0, preferred_locale=preferred_locale)
    world.guilds[guild.id] = guild
    guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", EVERYONE_DEFAULT, 0)
    handle = GuildHandle(sandbox, guild)
    owner_handle = handle.add_member(owner)
    guild.owner_id = owner_handle.user.id
    bot_role = handle.add_role(world.application.name, bot_permissions, managed=True)
    guild.members[world.bot.id] = Member(world.bot, guild.id, roles=[bot_role.id])
    for channel_name in channels:
        handle.add_channel(channel_name)
    sandbox.gateway.dispatch_guild_create(guild)
    return handle


@dataclass
class GuildHandle:
    sandbox: Sandbox
    guild: Guild

    @property
    def id(self) -> int:
        return self.guild.id

    @property
    def bot(self) -> Member:
        return self.guild.members[self.sandbox.world.bot.id]

    @property
    def bot_role(self) -> Role:
        return next(r for r in self.guild.roles.values() if r.managed)

    @property
    def owner(self) -> MemberHandle:
        return MemberHandle(self.sandbox, self, self.guild.members[self.guild.owner_id])

    def channel(self, name: str) -> Channel:
        for channel in self.sandbox.world.guild_channels(self.guild):
            if channel.name == name:
                return channel
        raise ScenarioError(f"no channel #{name} in {self.guild.name}")

    def role(self, name: str) -> Role:
        for role in self.guild.roles.values():
            if role.name == name:
                return role
        raise ScenarioError(f"no role {name!r} in {self.guild.name}")

    def member(self, username: str) -> MemberHandle:
        for member in self.guild.members.values():
            if member.user.username == username:
                return MemberHandle(self.sandbox, self, member)
        raise ScenarioError(f"no member {username!r} in {self.guild.name}")

    def add_channel(
        self,
        name: str,
        *,
        topic: str | None = None,
        overwrites: Sequence[Overwrite] = (),
        nsfw: bool = False,
    ) -> Channel:
        """A text channel, announced on the gateway; `nsfw` marks it age-restricted."""
        world = self.sandbox.world
        channel = Channel(
            id=world.ids.next(),
            type=GUILD_TEXT,
            name=name,
            guild_id=self.guild.id,
            position=len(self.guild.channel_ids),
            topic=topic,
            nsfw=nsfw,
            overwrites=list(overwrites),
        )
        world.add_channel(channel)
        self._dispatch("CHANNEL_CREATE", payloads.channel(channel), Intent.GUILDS)
        return channel

    def add_role(
        self,
        name: str,
        permissions: int = 0,
        *,
        position: int | None = None,
        managed: bool = False,
        mentionable: bool = False,
    ) -> Role:
        """A role; by default placed above every existing role (the newest role is on top)."""
        top = max((r.position for r in self.guild.roles.values()), default=0)
        role = Role(
            id=self.sandbox.world.ids.next(),
            guild_id=self.guild.id,
            name=name,
            permissions=permissions,
            position=top + 1 if position is None else position,
            managed=managed,
            mentionable=mentionable,
        )
        self.guild.roles[role.id] = role
        self._dispatch("GUILD_ROLE_CREATE", {"role": payloads.role(role)}, Intent.GUILDS)
        return role

    def update_role(self, role: Role, **changes: Any) -> Role:
        for key, value in changes.items():
            setattr(role, key, value)
        self._dispatch("GUILD_ROLE_UPDATE", {"role": payloads.role(role)}, Intent.GUILDS)
        return role

    def open_command_to_everyone(self, name: str) -> None:
        """What an admin can do in Integrations: let every member see and run a command."""
        self.guild.opened_commands.add(name)

    def set_bot_permissions(self, permissions: int) -> None:
        self.update_role(self.bot_role, permissions=permissions)

    def set_overwrite(
        self, channel: Channel, target: Role | Member, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Allow or deny permissions in one channel for a role or a member (an overwrite)."""
        target_id, kind = (
            (target.id, OVERWRITE_ROLE)
            if isinstance(target, Role)
            else (target.user.id, OVERWRITE_MEMBER)
        )
        channel.overwrites = [o for o in channel.overwrites if o.id != target_id]
        channel.overwrites.append(Overwrite(target_id, kind, allow, deny))
        self._dispatch("CHANNEL_UPDATE", payloads.channel(channel), Intent.GUILDS)

    def make_private(self, channel: Channel, *roles: Role) -> None:
        """Hide `channel` from @everyone; `roles` and the bot's role can still see it."""
        self.set_overwrite(channel, self.role("@everyone"), deny=Permission.VIEW_CHANNEL)
        for role in (*roles, self.bot_role):
            self.set_overwrite(channel, role, allow=Permission.VIEW_CHANNEL)

    def add_member(
        self,
        username: str,
        *,
        roles: Sequence[Role] = (),
        dms_open: bool = True,
        locale: str = "en-US",
        avatar: bytes | None = None,
        banner: bytes | None = None,
    ) -> MemberHandle:
        """A new member; `locale` is their Discord client's language (interactions carry it);
        `avatar` and `banner` are the pictures their account already wears (an animated GIF
        gets an "a_" hash, as on Discord)."""
        world = self.sandbox.world
        user = world.add_user(username)
        user.dms_open = dms_open
        user.locale = locale
        user.avatar = _uploaded(world, avatar)
        user.banner = _uploaded(world, banner)
        return self.join(user, roles=roles)

    def join(self, user: User, *, roles: Sequence[Role] = ()) -> MemberHandle:
        """An existing account (a member of another server, say) joins this one."""
        member = Member(user, self.guild.id, roles=[r.id for r in roles])
        self.guild.members[user.id] = member
        data = {**payloads.member(member), "guild_id": str(self.guild.id)}
        self._dispatch("GUILD_MEMBER_ADD", data, Intent.GUILD_MEMBERS)
        return MemberHandle(self.sandbox, self, member)

    def leave(self, handle: MemberHandle) -> None:
        """A member leaves the server: gone from it, and GUILD_MEMBER_REMOVE sent (with the
        user), as Discord does."""
        del self.guild.members[handle.id]
        data = {"user": payloads.user(handle.user)}
        self._dispatch("GUILD_MEMBER_REMOVE", data, Intent.GUILD_MEMBERS)

    def _dispatch(self, event: str, data: dict[str, Any], intent: int) -> None:
        if event != "GUILD_MEMBER_ADD" and event.startswith(("GUILD_", "CHANNEL_")):
            data = {**data, "guild_id": str(self.guild.id)}
        self.sandbox.gateway.dispatch(event, data, guild_id=self.guild.id, intent=intent)


@dataclass
class MemberHandle:
    sandbox: Sandbox
    guild: GuildHandle
    member: Member

    @property
    def user(self) -> User:
        return self.member.user

    @property
    def id(self) -> int:
        return self.member.user.id

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    # -- messages ----------------------------------------------------------------------------

    async def send(
        self,
        channel: Channel,
        content: str = "",
        *,
        files: Sequence[FileSpec] = (),
        embeds: Sequence[dict[str, Any]] = (),
        reply_to: Message | None = None,
    ) -> Message:
        """Post as this member; `files` are (filename, bytes) attachments served by the CDN."""
        self._require_in(channel)
        attachments = [messaging.make_attachment(self.sandbox, n, d) for n, d in files]
        payload: dict[str, Any] = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            payload["message_reference"] = {"message_id": reply_to.id}
        return messaging.create_message(self.sandbox, channel, self.user, payload, attachments)

    async def forward(self, message: Message, to: Channel) -> Message:
        """Forward `message` into `to`, as the client's Forward does: the new message carries a
        snapshot of the original (of the first original, for a forward of a forward)."""
        self._require_in(to)
        reference = {
            "type": ReferenceType.FORWARD,
            "message_id": message.id,
            "channel_id": message.channel_id,
        }
        payload = {"message_reference": reference}
        return messaging.create_message(self.sandbox, to, self.user, payload, [])

    async def send_embed(
        self,
        channel: Channel,
        *,
        image: str | None = None,
        thumbnail: str | None = None,
        title: str = "",
    ) -> Message:
        """Post a rich embed showing pictures from other sites (registered with
        `World.add_external_image`); Discord serves them through its media proxy."""
        embed: dict[str, Any] = {"title": title} if title else {}
        if image:
            embed["image"] = {"url": image}
        if thumbnail:
            embed["thumbnail"] = {"url": thumbnail}
        return await self.send(channel, embeds=[embed])

    async def edit(self, message: Message, content: str | None = None, **fields: Any) -> Message:
        payload = dict(fields)
        if content is not None:
            payload["content"] = content
        return messaging.edit_message(self.sandbox, message, payload, [])

    async def delete(self, message: Message) -> None:
        messaging.delete_message(self.sandbox, message)

    def timeout(self, minutes: float) -> None:
        self.member.communication_disabled_until = utcnow() + dt.timedelta(minutes=minutes)
        self._member_updated(self.member)

    # -- profile pictures --------------------------------------------------------------------

    def set_avatar(self, data: bytes | None) -> str | None:
        """Change the account's avatar (None removes it). Discord sends the user a USER_UPDATE;
        a bot sees it as GUILD_MEMBER_UPDATE in every server they share."""
        self.user.avatar = _uploaded(self.sandbox.world, data)
        self._user_updated()
        return self.user.avatar

    def set_banner(self, data: bytes | None) -> str | None:
        """Change the account's profile banner. It is not in member payloads: the update
        reaches bots as a GUILD_MEMBER_UPDATE without it; GET /users/{id} shows it."""
        self.user.banner = _uploaded(self.sandbox.world, data)
        self._user_updated()
        return self.user.banner

    def set_server_avatar(self, data: bytes | None) -> str | None:
        """Change this server's avatar (a per-server profile): GUILD_MEMBER_UPDATE here only."""
        self.member.avatar = _uploaded(self.sandbox.world, data)
        self._member_updated(self.member)
        return self.member.avatar

    def set_server_banner(self, data: bytes | None) -> str | None:
        """Change this server's profile banner: GUILD_MEMBER_UPDATE here only."""
        self.member.banner = _uploaded(self.sandbox.world, data)
        self._member_updated(self.member)
        return self.member.banner

    def _user_updated(self) -> None:
        for guild in self.sandbox.world.guilds.values():
            member = guild.members.get(self.id)
            if member is not None:
                data = {**payloads.member(member), "guild_id": str(guild.id)}
                self.sandbox.gateway.dispatch(
                    "GUILD_MEMBER_UPDATE", data, guild_id=guild.id, intent=Intent.GUILD_MEMBERS
                )

    def _member_updated(self, member: Member) -> None:
        data = {**payloads.member(member), "guild_id": str(self.guild.id)}
        self.guild._dispatch("GUILD_MEMBER_UPDATE", data, Intent.GUILD_MEMBERS)

    # -- application commands ----------------------------------------------------------------

    async def run_command(
        self, name: str, *, in_channel: Channel | None = None, **options: Any
    ) -> InteractionHandle:
        """Run `/name` (or `/group sub`) in `in_channel` (default: the guild's first channel)
        with options by name (`channel=`, `user=` ... are options), as the client sends them."""
        channel = in_channel or self._default_channel()
        path = name.split()
        command = self._command(path[0], 1, channel)
        resolved: dict[str, dict[str, Any]] = {}
        built = self._build_options(
            command.payload.get("options") or [], path[1:], options, resolved
        )
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": 1,
            "options": built,
        }
        if resolved:
            data["resolved"] = resolved
        if command.guild_id:
            data["guild_id"] = str(command.guild_id)
        return self._start(2, channel, data)

    async def run_user_command(
        self, name: str, target: MemberHandle, *, in_channel: Channel | None = None
    ) -> InteractionHandle:
        channel = in_channel or self._default_channel()
        command = self._command(name, 2, channel)
        data = {
            "id": str(command.id),
            "name": command.name,
            "type": 2,
            "target_id": str(target.id),
            "resolved": {
                "users": {str(target.id): payloads.user(target.user)},
                "members": {str(target.id): self._resolved_member(target.member, channel)},
            },
        }
        return self._start(2, channel, data)

    async def run_message_command(self, name: str, message: Message) -> InteractionHandle:
        channel = self.sandbox.world.channels[message.channel_id]
        command = self._command(name, 3, channel)
        data = {
            "id": str(command.id),
            "name": command.name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): self._message_payload(message)}},
        }
        return self._start(2, channel, data)

    # -- components and modals ---------------------------------------------------------------

    async def click(self, message: Message, custom_id: str) -> InteractionHandle:
        component = self._component(message, custom_id, ComponentType.BUTTON)
        data = {"custom_id": custom_id, "component_type": component["type"]}
        return self._start(3, self.sandbox.world.channels[message.channel_id], data, message)

    async def select(
        self, message: Message, custom_id: str, values: Sequence[str]
    ) -> InteractionHandle:
        component = self._component(message, custom_id, None)
        if component["type"] not in (3, 5, 6, 7, 8):
            raise ScenarioError(f"{custom_id!r} is not a select menu")
        choices = {str(o["value"]) for o in component.get("options", [])}
        if component["type"] == ComponentType.STRING_SELECT and not set(values) <= choices:
            raise ScenarioError(f"{values} are not all options of {custom_id!r}: {choices}")
        data: dict[str, Any] = {
            "custom_id": custom_id,
            "component_type": component["type"],
            "values": list(values),
        }
        resolved = self._resolve_select(component["type"], values, message.channel_id)
        if resolved:
            data["resolved"] = resolved
        return self._start(3, self.sandbox.world.channels[message.channel_id], data, message)

    async def submit_modal(
        self, opened_by: InteractionHandle, values: dict[str, str | Sequence[str]]
    ) -> InteractionHandle:
        """Fill in and submit the modal the bot answered `opened_by` with."""
        modal = await opened_by.modal()
        components = [self._submitted(c, values) for c in modal.get("components", [])]
        unknown = set(values) - set(_custom_ids(modal.get("components", [])))
        if unknown:
            raise ScenarioError(f"the modal has no fields {sorted(unknown)}")
        data = {"custom_id": modal["custom_id"], "components": components}
        source = opened_by.interaction
        message = self.sandbox.world.messages.get(source.message_id) if source.message_id else None
        handle = self._start(5, self.sandbox.world.channels[source.channel_id], data, message)
        handle.interaction.opened_by = source
        return handle

    # -- internals ---------------------------------------------------------------------------

    def _start(
        self,
        kind: int,
        channel: Channel,
        data: dict[str, Any],
        message: Message | None = None,
    ) -> InteractionHandle:
        sandbox = self.sandbox
        interaction = Interaction(
            id=sandbox.world.ids.next(),
            token=f"aW50ZXJhY3Rpb24{secrets.token_urlsafe(48)}",
            type=kind,
            user=self.user,
            guild_id=self.guild.id,
            channel_id=channel.id,
            data=data,
            created_monotonic=time.monotonic(),
            message_id=message.id if message is not None else None,
        )
        sandbox.world.interactions[interaction.id] = interaction
        mark = len(sandbox.calls)
        payload = _interaction_payload(sandbox, self, channel, interaction)
        sandbox.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=self.guild.id)
        return InteractionHandle(sandbox, interaction, mark)

    def _default_channel(self) -> Channel:
        return self.sandbox.world.channels[self.guild.guild.channel_ids[0]]

    def _require_in(self, channel: Channel) -> None:
        perms = channel_permissions(self.guild.guild, channel, self.member)
        needed = Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES
        if perms & needed != needed:
            raise ScenarioError(f"{self.user.username} cannot post in #{channel.name}")

    def _command(self, name: str, kind: int, channel: Channel) -> Command:
        commands = self.sandbox.world.application.commands.values()
        found = [
            c
            for c in commands
            if c.name == name and c.type == kind and c.guild_id in (None, self.guild.id)
        ]
        if not found:
            registered = sorted(f"{c.name} (type {c.type})" for c in commands)
            raise ScenarioError(f"command {name!r} (type {kind}) is not registered: {registered}")
        command = min(found, key=lambda c: c.guild_id is None)  # guild commands shadow global
        required = command.payload.get("default_member_permissions")
        perms = channel_permissions(self.guild.guild, channel, self.member)
        opened = name in self.guild.guild.opened_commands
        if required is not None and not opened and perms & int(required) != int(required):
            raise ScenarioError(f"{self.user.username} cannot see /{name} (needs {required})")
        return command

    def _build_options(
        self,
        definitions: list[dict[str, Any]],
        path: list[str],
        given: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        if path:
            sub = next((d for d in definitions if d["name"] == path[0]), None)
            if sub is None or sub["type"] not in (1, 2):
                raise ScenarioError(f"no subcommand {path[0]!r}")
            inner = self._build_options(sub.get("options") or [], path[1:], given, resolved)
            return [{"type": sub["type"], "name": sub["name"], "options": inner}]
        by_name = {d["name"]: d for d in definitions}
        unknown = set(given) - set(by_name)
        if unknown:
            raise ScenarioError(f"unknown options {sorted(unknown)}; known: {sorted(by_name)}")
        missing = [d["name"] for d in definitions if d.get("required") and d["name"] not in given]
        if missing:
            raise ScenarioError(f"required options missing: {missing}")
        return [
            self._option(by_name[name], value, resolved)
            for name, value in given.items()
            if value is not None
        ]

    def _option(
        self, definition: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        kind = definition["type"]
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ScenarioError(f"{value!r} is not a choice of {definition['name']!r}")
        option: dict[str, Any] = {"name": definition["name"], "type": kind}
        if kind in (OptionType.USER, OptionType.MENTIONABLE) and isinstance(value, MemberHandle):
            option["value"] = str(value.id)
            resolved.setdefault("users", {})[str(value.id)] = payloads.user(value.user)
            channel = self._default_channel()
            resolved.setdefault("members", {})[str(value.id)] = self._resolved_member(
                value.member, channel
            )
        elif kind in (OptionType.ROLE, OptionType.MENTIONABLE) and isinstance(value, Role):
            option["value"] = str(value.id)
            resolved.setdefault("roles", {})[str(value.id)] = payloads.role(value)
        elif kind == OptionType.CHANNEL and isinstance(value, Channel):
            option["value"] = str(value.id)
            resolved.setdefault("channels", {})[str(value.id)] = {
                "id": str(value.id),
                "name": value.name,
                "type": value.type,
                "permissions": str(channel_permissions(self.guild.guild, value, self.member)),
            }
        elif kind == OptionType.ATTACHMENT:
            attachment = self._loose_attachment(value)
            option["value"] = str(attachment.id)
            resolved.setdefault("attachments", {})[str(attachment.id)] = self._attachment_payload(
                attachment
            )
        elif kind in (OptionType.STRING, OptionType.INTEGER, OptionType.NUMBER, OptionType.BOOLEAN):
            option["value"] = value
        else:
            raise ScenarioError(f"option {definition['name']!r} (type {kind}) can't take {value!r}")
        return option

    def _loose_attachment(self, value: Any) -> Attachment:
        if isinstance(value, Attachment):
            attachment = value
        else:
            filename, data = value
            attachment = messaging.make_attachment(self.sandbox, filename, data, ephemeral=True)
        self.sandbox.loose_attachments[attachment.id] = attachment
        return attachment

    def _attachment_payload(self, attachment: Attachment) -> dict[str, Any]:
        return payloads.attachment(self.sandbox.world, 0, attachment)

    def _resolved_member(self, member: Member, channel: Channel) -> dict[str, Any]:
        data = payloads.interaction_member(self.guild.guild, channel, member)
        data.pop("user", None)
        return data

    def _message_payload(self, message: Message) -> dict[str, Any]:
        visible = self.sandbox.content_visible_on_rest(message)
        return payloads.message(self.sandbox.world, message, content_visible=visible)

    def _component(self, message: Message, custom_id: str, kind: int | None) -> dict[str, Any]:
        if message.ephemeral and self._interaction_user(message) != self.id:
            raise ScenarioError("only the member who got an ephemeral message can use it")
        for component in _walk(message.components):
            if component.get("custom_id") == custom_id:
                if kind is not None and component.get("type") != kind:
                    raise ScenarioError(f"{custom_id!r} is type {component.get('type')}")
                if component.get("disabled"):
                    raise ScenarioError(f"{custom_id!r} is disabled")
                return component
        found = [c.get("custom_id") for c in _walk(message.components) if c.get("custom_id")]
        raise ScenarioError(f"no component {custom_id!r} on the message; it has {found}")

    def _interaction_user(self, message: Message) -> int | None:
        meta = message.interaction_metadata or {}
        return int(meta["user"]["id"]) if "user" in meta else None

    def _resolve_select(
        self, kind: int, values: Sequence[str], channel_id: int
    ) -> dict[str, dict[str, Any]]:
        resolved: dict[str, dict[str, Any]] = {}
        channel = self.sandbox.world.channels[channel_id]
        for value in values:
            member = self.guild.guild.members.get(int(value)) if value.isdigit() else None
            role = self.guild.guild.roles.get(int(value)) if value.isdigit() else None
            target = self.sandbox.world.channels.get(int(value)) if value.isdigit() else None
            if kind in (5, 7) and member is not None:
                resolved.setdefault("users", {})[value] = payloads.user(member.user)
                resolved.setdefault("members", {})[value] = self._resolved_member(member, channel)
            elif kind in (6, 7) and role is not None:
                resolved.setdefault("roles", {})[value] = payloads.role(role)
            elif kind == 8 and target is not None:
                resolved.setdefault("channels", {})[value] = {
                    "id": value,
                    "name": target.name,
                    "type": target.type,
                    "permissions": str(channel_permissions(self.guild.guild, target, self.member)),
                }
        return resolved

    def _submitted(
        self, component: dict[str, Any], values: dict[str, str | Sequence[str]]
    ) -> dict[str, Any]:
        kind = component.get("type")
        base: dict[str, Any] = {"type": kind}
        if "id" in component:
            base["id"] = component["id"]
        if kind == ComponentType.ACTION_ROW:
            return {
                **base,
                "components": [self._submitted(c, values) for c in component["components"]],
            }
        if kind == ComponentType.LABEL:
            return {**base, "component": self._submitted(component["component"], values)}
        if kind == ComponentType.TEXT_INPUT:
            value = values.get(component["custom_id"], component.get("value") or "")
            if not isinstance(value, str):
                raise ScenarioError(f"{component['custom_id']!r} takes text")
            _check_text_input(component, value)
            return {**base, "custom_id": component["custom_id"], "value": value}
        if kind in (3, 5, 6, 7, 8, ComponentType.FILE_UPLOAD):
            chosen = values.get(component["custom_id"], [])
            chosen = [chosen] if isinstance(chosen, str) else list(chosen)
            if component.get("required", True) and not chosen and kind != 3:
                raise ScenarioError(f"{component['custom_id']!r} is required")
            return {**base, "custom_id": component["custom_id"], "values": chosen}
        return base


def _check_text_input(component: dict[str, Any], value: str) -> None:
    name = component["custom_id"]
    if component.get("required", True) and not value:
        raise ScenarioError(f"{name!r} is required")
    if value and len(value) < component.get("min_length", 0):
        raise ScenarioError(f"{name!r} needs at least {component['min_length']} characters")
    if len(value) > component.get("max_length", 4000):
        raise ScenarioError(f"{name!r} takes at most {component['max_length']} characters")


def _walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component in a (Components V2) tree: rows, containers, sections, labels."""
    for component in components:
        yield component
        yield from _walk(component.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                yield from _walk([component[key]])


def _custom_ids(components: list[dict[str, Any]]) -> list[str]:
    return [c["custom_id"] for c in _walk(components) if "custom_id" in c]


def _interaction_payload(
    sandbox: Sandbox, member: MemberHandle, channel: Channel, interaction: Interaction
) -> dict[str, Any]:
    guild = member.guild.guild
    bot_perms = channel_permissions(guild, channel, sandbox.bot_member(guild))
    payload: dict[str, Any] = {
        "id": str(interaction.id),
        "application_id": str(sandbox.world.application.id),
        "type": interaction.type,
        "data": interaction.data,
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
        "channel_id": str(channel.id),
        "channel": {
            **payloads.channel(channel),
            "permissions": str(channel_permissions(guild, channel, member.member)),
        },
        "member": payloads.interaction_member(guild, channel, member.member),
        "token": interaction.token,
        "version": 1,
        "app_permissions": str(bot_perms),
        "locale": member.user.locale,
        "guild_locale": guild.preferred_locale,
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if interaction.message_id is not None:
        message = sandbox.world.messages[interaction.message_id]
        payload["message"] = payloads.message(sandbox.world, message)
    return payload


@dataclass
class InteractionHandle:
    """One interaction a member started; await what the bot answered."""

    sandbox: Sandbox
    interaction: Interaction
    mark: int  # calls recorded before the interaction; answers come after

    @property
    def callback_route(self) -> str:
        return "/interactions/{interaction_id}/{interaction_token}/callback"

    async def response(self, timeout: float = DEFAULT_TIMEOUT) -> Call:
        """The bot's first answer (the callback call), whatever its status."""
        interaction_id = str(self.interaction.id)
        return await self.sandbox.wait_for_call(
            "POST",
            self.callback_route,
            where=lambda c: c.params.get("interaction_id") == interaction_id,
            timeout=timeout,
            since=self.mark,
        )

    async def response_type(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        call = await self.response(timeout)
        if call.status >= 300:
            raise AssertionError(f"the bot's answer was refused: {call.status} {call.response}")
        return int(call.json["type"])

    async def message(self, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """The message the answer shows: sent, updated, or (after a defer) the edited original."""
        kind = await self.response_type(timeout)
        if kind in (5, 6):  # deferred: the content arrives with the @original edit
            await self.sandbox.wait_for_call(
                "PATCH",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                where=lambda c: (
                    c.params.get("webhook_token") == self.interaction.token and c.status < 300
                ),
                timeout=timeout,
                since=self.mark,
            )
        if self.interaction.original_message_id is None:
            raise AssertionError(f"answer type {kind} shows no message")
        return self.sandbox.world.messages[self.interaction.original_message_id]

    async def modal(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        kind = await self.response_type(timeout)
        if kind != 9:
            raise AssertionError(f"the bot answered with type {kind}, not a modal")
        return dict(self.interaction.response_data or {})

    async def followup(self, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """The next follow-up message the bot sent with this interaction's token."""
        call = await self.sandbox.wait_for_call(
            "POST",
            "/webhooks/{webhook_id}/{webhook_token}",
            where=lambda c: (
                c.params.get("webhook_token") == self.interaction.token and c.status < 300
            ),
            timeout=timeout,
            since=self.mark,
        )
        return self.sandbox.world.messages[int(call.response["id"])]

    @property
    def ephemeral(self) -> bool:
        original = self.interaction.original_message_id
        message = self.sandbox.world.messages.get(original) if original else None
        return bool(message and message.flags & MessageFlags.EPHEMERAL)
