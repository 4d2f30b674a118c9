"""Members' profile pictures checked against the takedown lists, like posts.

A member can wear a listed deepfake as their avatar, their server avatar, their profile banner
or their server banner; nothing is posted, so the message scanner never sees it. On join and on
every member update (discord.py's `on_member_join`, `on_member_update`, `on_user_update`) the
pictures the member wears are queued here, downloaded from Discord's CDN through the same
`media.fetch` policy, hashed by the same worker pool (animated avatars are animations, with the
same frame budget) and matched against the server's scope with its radii, as a post is. A match
is flagged to the moderators (`MatchAlerts.act_on_profile_match`: a case, a blurred preview,
**Not a match**, **Timeout**, **Kick**, **Ban**); the bot can't remove a profile picture. A
picture the bot could not check goes to `moderation.unreadable_pictures`, which follows the
server's unreadable-file policy (any action but "ignore" alerts: there is nothing to remove).

Members update often (roles, nicknames, timeouts): a picture already checked for a member in a
server, by its image hash, is remembered (bounded) and not fetched again. The queue is bounded:
a raid of joins makes the gateway handlers wait for room (back-pressure), it never drops one.

The account's banner is not in the member objects Discord sends bots; it takes one REST call
per member (`GET /users/{id}`). It is asked for when a member joins, within a budget of
`PROFILE_FETCHES` a minute so a raid can't spend the bot's rate limit; past the budget it is
skipped and logged. discord.py reports no banner change after that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from core.vocabulary import ProfilePicture
from media.pipeline import MediaRef
from moderation.scanning import match_policy
from moderation.unreadable_pictures import PictureNotice, UnreadablePictures

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Worn:
    """One picture a member wears, by its image hash (which changes with the picture)."""

    picture: ProfilePicture
    asset: discord.Asset

    @property
    def ref(self) -> MediaRef:
        # The image hash names the file: the same avatar in many servers is hashed once.
        return MediaRef(key=f"{self.picture}:{self.asset.key}", url=self.asset.url, kind="avatar")


@dataclass(frozen=True, slots=True)
class Check:
    member: discord.Member
    joined: bool  # a join: the account's banner is asked for too


def worn_pictures(member: discord.Member, banner: discord.Asset | None = None) -> list[Worn]:
    """The pictures `member` wears: account avatar, server avatar, server banner, and the
    account banner when known (`banner`, or discord.py's when a payload carried it)."""
    candidates = (
        (ProfilePicture.AVATAR, member.avatar),
        (ProfilePicture.SERVER_AVATAR, member.guild_avatar),
        (ProfilePicture.BANNER, banner or member.banner),
        (ProfilePicture.SERVER_BANNER, member.guild_banner),
    )
    return [Worn(picture, asset) for picture, asset in candidates if asset is not None]


UNCACHED_MEMBER_UPDATE = "uncached_member_update"  # the event `on_uncached_member_update`


def report_uncached_member_updates(client: discord.Client) -> None:
    """Dispatch `on_uncached_member_update(member)` when Discord updates a member discord.py
    had not cached.

    Why a wrapper around a private parser: the bot doesn't chunk members at start, so a member
    who was in the server before it started is not cached, and for them discord.py's
    GUILD_MEMBER_UPDATE parser only caches the member and dispatches nothing: no
    `on_member_update`, and no `on_user_update` when discord.py never saw the user. The first
    avatar change after a restart would go unchecked, which is exactly when an abuser would
    change it. discord.py has no raw member-update event and the gateway's raw hooks are not
    for this, so the parser (`ConnectionState.parsers["GUILD_MEMBER_UPDATE"]`, the dict the
    websocket reads) is wrapped: it runs unchanged, then the event is dispatched for a member
    that was not cached before it. `tests/e2e/test_profile_pictures.py` (a member present
    before the bot started changes their avatar) fails if discord.py changes this.
    """
    state = client._connection
    parse = state.parsers["GUILD_MEMBER_UPDATE"]
    if getattr(parse, "reports_uncached", False):
        return  # wrapped already (the cog was loaded again)

    def parse_and_report(data: dict[str, object]) -> None:
        guild = state._get_guild(int(str(data["guild_id"])))
        user = data["user"]
        user_id = int(str(user["id"])) if isinstance(user, dict) else 0
        cached = guild is not None and guild.get_member(user_id) is not None
        parse(data)
        member = guild.get_member(user_id) if guild is not None and not cached else None
        if member is not None:
            state.dispatch(UNCACHED_MEMBER_UPDATE, member)

    parse_and_report.reports_uncached = True  # type: ignore[attr-defined]
    state.parsers["GUILD_MEMBER_UPDATE"] = parse_and_report


class ProfilePictures:
    """Checks the pictures members wear (`bot.profile_pictures`)."""

    QUEUE_SIZE = 500  # members waiting; past this, gateway handlers wait for room
    REMEMBERED = 100_000  # (guild, member, picture, image hash) checked, least recent dropped
    PROFILE_FETCHES = 30  # account banners asked of Discord per minute, at most
    BUSY_ATTEMPTS = 3

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self.queue: asyncio.Queue[Check] = asyncio.Queue(self.QUEUE_SIZE)
        self._checked: OrderedDict[tuple[int, int, str, str], None] = OrderedDict()
        self._fetches: deque[float] = deque()
        self._tasks: list[asyncio.Task[None]] = []
        self.unreadable = UnreadablePictures(bot)

    def start(self) -> None:
        self.unreadable.start()
        consumers = max(1, self.bot.pipeline.pool.settings.workers)
        self._tasks = [
            asyncio.create_task(self._consume(), name=f"profile-pictures-{n}")
            for n in range(consumers)
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.unreadable.close()

    async def enqueue(self, member: discord.Member, *, joined: bool = False) -> None:
        """Queue a member whose pictures may be new (a full queue makes the caller wait)."""
        if member.id == getattr(self.bot.user, "id", None):
            return  # the bot's own pictures
        if not joined and all(self._seen(member, worn) for worn in worn_pictures(member)):
            return  # an update that changed no picture: roles, nickname, timeout
        if self.queue.full():
            log.warning("Profile picture queue full (%d members): new ones wait", self.QUEUE_SIZE)
        await self.queue.put(Check(member, joined))

    def _key(self, member: discord.Member, worn: Worn) -> tuple[int, int, str, str]:
        return (member.guild.id, member.id, str(worn.picture), worn.asset.key)

    def _seen(self, member: discord.Member, worn: Worn) -> bool:
        key = self._key(member, worn)
        if key in self._checked:
            self._checked.move_to_end(key)
            return True
        return False

    def _remember(self, member: discord.Member, worn: Worn) -> None:
        self._checked[self._key(member, worn)] = None
        while len(self._checked) > self.REMEMBERED:
            self._checked.popitem(last=False)

    async def _consume(self) -> None:
        while True:
            check = await self.queue.get()
            try:
                await self.check(check.member, joined=check.joined)
            except Exception:
                log.exception(
                    "Checking the profile pictures of %s in guild %s failed",
                    check.member.id,
                    check.member.guild.id,
                )
            finally:
                self.queue.task_done()

    async def check(self, member: discord.Member, *, joined: bool = False) -> None:
        """Hash and match each picture the member wears that was not checked yet here."""
        settings = await self.bot.guild_settings.get(member.guild.id)
        scope = await self.bot.takedown_index.scope(member.guild.id)
        if not self.bot.takedown_index.has_any(scope):
            return
        banner = await self._account_banner(member) if joined else None
        for worn in worn_pictures(member, banner):
            if self._seen(member, worn):
                continue
            self._remember(member, worn)  # now: a second event for it while hashing is a repeat
            media = await self.bot.pipeline.hash_ref_patiently(worn.ref, self.BUSY_ATTEMPTS)
            if media.busy:
                self._checked.pop(self._key(member, worn), None)  # worth trying next time
                log.error(
                    "Gave up hashing the %s of %s in guild %s (the pool stayed full)",
                    worn.picture,
                    member.id,
                    member.guild.id,
                )
            if not media.hashes.hashed:
                log.info(
                    "The %s of %s in guild %s %s: %s",
                    worn.picture,
                    member.id,
                    member.guild.id,
                    media.hashes.outcome,
                    media.hashes.reason,
                )
                self.unreadable.handle(PictureNotice(member, worn.picture, media, settings))
                continue
            matches = await self.bot.takedown_index.match(
                media.hashes, match_policy(settings), scope
            )
            if matches:
                await self.bot.alerts.act_on_profile_match(
                    member, worn.picture, media, matches[0], settings
                )

    async def _account_banner(self, member: discord.Member) -> discord.Asset | None:
        """The account's banner, asked of Discord within the per-minute budget."""
        if member.banner is not None:
            return None  # discord.py has it already
        now = time.monotonic()
        while self._fetches and now - self._fetches[0] > 60:
            self._fetches.popleft()
        if len(self._fetches) >= self.PROFILE_FETCHES:
            log.info("Profile fetch budget spent: the banner of %s is not checked", member.id)
            return None
        self._fetches.append(now)
        try:
            return (await self.bot.fetch_user(member.id)).banner
        except discord.HTTPException as exc:
            log.info("Could not fetch the profile of %s: %s", member.id, exc)
            return None
