"""Lightstick: the bot class and the command line (`run`, `hash`, `sandbox`).

The process owns three resources, opened in `run_bot` and closed there: the database (migrated
before the bot logs in, so a broken database fails fast), the bot's HTTP session, and later the
hashing process pool. Every failure a self-hoster can cause (no token, a rejected token, missing
privileged intents, an unreachable database) ends in one readable paragraph and a non-zero exit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import logging
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from db import bot_state
from db.engine import Database, DatabaseUnavailable
from db.guild_settings import SettingsCache
from media.fetch import DISCORD_MEDIA_HOSTS, FetchPolicy
from media.pipeline import MediaPipeline
from media.workers import HashingPool, PoolSettings
from moderation.actions import ModerationActions
from moderation.alerts import MatchAlerts
from moderation.explicit_review import ExplicitReview
from moderation.flood_hold import FloodHolds
from moderation.forms import OpenForms
from moderation.i18n import COMMAND_CONTEXTS, N_, CommandTranslator, member_texts, use_pseudo_locale
from moderation.profile_pictures import ProfilePictures
from moderation.replies import send_ephemeral
from moderation.report_queue import ReportQueue
from moderation.scanning import MessageScanner
from moderation.sweeper import Sweeper
from moderation.unreadable import UnreadableFiles
from process_settings import Settings, SettingsError, load_settings
from services.live_index import LiveTakedownIndex
from services.recent_hashes import RecentHashes
from services.retention import RetentionJob

log = logging.getLogger("lightstick")

# Modules under cogs/ loaded at start; one that fails to load is logged and the rest still load.
EXTENSIONS: tuple[str, ...] = (
    "cogs.moderation",
    "cogs.scanner",
    "cogs.profile_pictures",
    "cogs.rules",
    "cogs.server_config",
    "cogs.takedowns",
    "cogs.reports",
    "cogs.cases",
    "cogs.privacy",
)

# What the invite link asks for; README.md explains each one and /config check verifies them.
REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True,  # see the channels it scans
    read_message_history=True,  # catch up after downtime, /takedown scan
    send_messages=True,  # alerts and the report queue in the mod channel
    send_messages_in_threads=True,  # answer in threads it scans
    embed_links=True,  # alerts and reports are embeds
    attach_files=True,  # the blurred preview on alerts
    manage_messages=True,  # remove matched and auto-hidden messages
    moderate_members=True,  # "Timeout author"
    kick_members=True,  # "Kick" on an alert about a member's profile picture
    ban_members=True,  # "Ban author"
    mention_everyone=True,  # ping a mod role that is not mentionable, on urgent reports only
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

NO_TOKEN_HELP = """\
Lightstick needs a bot token and none is set. Create an application at
https://discord.com/developers/applications, open its Bot page, press "Reset Token" and copy the
token. Then put DISCORD_TOKEN=<your token> in a file named .env in this folder (see
.env.example) or set it in the environment, and run the bot again. README.md walks through the
whole set-up, including the two privileged intents and the invite link."""

TOKEN_REJECTED_HELP = """\
Discord rejected the bot token in DISCORD_TOKEN. It may have been reset, copied with a missing
character, or belong to a deleted application. Open https://discord.com/developers/applications,
choose your application, go to Bot, press "Reset Token", and put the new token in .env as
DISCORD_TOKEN."""

INTENTS_REFUSED_HELP = """\
Discord refused to connect because the bot asks for privileged intents that are not enabled
(close code 4014). Lightstick needs the MESSAGE CONTENT intent to see images posted in servers
and the SERVER MEMBERS intent to know who is a moderator. Open
https://discord.com/developers/applications, choose your application, go to Bot, and under
"Privileged Gateway Intents" switch on "Server Members Intent" and "Message Content Intent",
press Save Changes, then start the bot again."""


DISCORD_UNREACHABLE_HELP = """\
Lightstick could not reach Discord ({error}). Check this machine's internet connection and
firewall (Discord is reached over HTTPS at discord.com and gateway.discord.gg), and that
DISCORD_API_BASE and DISCORD_GATEWAY_URL are empty unless you run a local sandbox."""


def lightstick_intents() -> discord.Intents:
    """Exactly the intents the bot uses: no presences, no voice, no typing."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.members = True  # privileged: mod-role checks, timeouts, account age of reporters
    intents.guild_messages = True
    intents.message_content = True  # privileged: attachments and embeds of guild messages
    return intents


def apply_discord_endpoints(settings: Settings) -> None:
    """Point discord.py at another Discord-compatible server (the sandbox) when configured."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    if settings.discord_cdn_base:
        discord.asset.Asset.BASE = settings.discord_cdn_base


def fetch_policy(settings: Settings) -> FetchPolicy:
    """Media is fetched from Discord's CDN and media proxy only (or the configured stand-ins)."""
    hosts = set(DISCORD_MEDIA_HOSTS)
    allow_http = False
    for base in (settings.discord_cdn_base, settings.discord_api_base):
        if base:
            url = yarl.URL(base)
            host = url.host or ""
            hosts.add(host if url.explicit_port is None else f"{host}:{url.explicit_port}")
            allow_http = allow_http or url.scheme == "http"
    return FetchPolicy(allowed_hosts=frozenset(hosts), allow_http=allow_http)


def command_fingerprint(payload: list[dict[str, Any]]) -> str:
    """A stable digest of a command tree's payload; equal payloads need no new sync."""
    canonical = json.dumps(
        sorted(payload, key=lambda c: (c.get("type", 1), c["name"])), sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class LightstickTree(app_commands.CommandTree["Lightstick"]):
    """The command tree, with the one error handler every command falls back to."""

    APOLOGY = N_(
        "Sorry, something went wrong on our side. The moderators' bot logged it; please try again."
    )
    NOT_HERE = N_("You can't use this command here.")

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        tr = member_texts(interaction)
        if isinstance(error, app_commands.CheckFailure | app_commands.CommandOnCooldown):
            message = str(error) or tr(self.NOT_HERE)
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "Command /%s failed in guild %s", command, interaction.guild_id, exc_info=error
            )
            message = tr(self.APOLOGY)
        await send_ephemeral(interaction, message)


class LoopLagMonitor:
    """Measures how late the event loop wakes up: a blocked loop stalls commands and heartbeats."""

    TICK = 0.05
    REPORT_EVERY = 30.0

    def __init__(self) -> None:
        self.worst = 0.0  # seconds, since the last report
        self._reported = 0.0  # loop time of the last report
        self._tick_started = 0.0  # loop time the current sleep began
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag-monitor")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def report_startup(self) -> None:
        """Log the lag so far apart (loading and connecting block more than running does).

        The tick under way counts too: a stall just before this call (a start-up step that
        blocked) has not woken the monitor yet, and must not land in the first running report.
        """
        now = asyncio.get_running_loop().time()
        self.worst = max(self.worst, now - self._tick_started - self.TICK)
        log.info("Event loop lag while starting: worst %.1f ms", self.worst * 1000)
        self.worst, self._reported = 0.0, now
        self._tick_started = max(self._tick_started, now - self.TICK)  # overdue: due now

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self._reported = loop.time()
        while True:
            self._tick_started = loop.time()
            await asyncio.sleep(self.TICK)
            self.worst = max(self.worst, loop.time() - self._tick_started - self.TICK)
            if loop.time() - self._reported >= self.REPORT_EVERY:
                level = logging.WARNING if self.worst > 0.25 else logging.INFO
                log.log(
                    level,
                    "Event loop lag: worst %.1f ms in the last %.0f s",
                    self.worst * 1000,
                    self.REPORT_EVERY,
                )
                self.worst, self._reported = 0.0, loop.time()


def freeze_startup_objects() -> None:
    """Keep what start-up built out of every later full garbage collection.

    A full collection walks every tracked object, and the modules, discord.py's state and the
    database layer loaded at start never become garbage. Under a scan burst each full
    collection walked them all, about 150,000 objects, and stalled the event loop for 65-115
    ms: the worst loop lag measured there. `gc.freeze` moves them to a generation that is never
    collected; what is created later is collected as usual.
    """
    gc.collect()
    gc.freeze()
    log.info("Start-up objects exempt from garbage collection: %d", gc.get_freeze_count())


class Lightstick(commands.AutoShardedBot):
    """The bot: owns the database, the settings and the services every cog shares (the
    actions with their cases, match alerts, the report queue, the scanner, the sweeper); cogs
    are the commands, menus and listeners, and reach each other only through these."""

    def __init__(
        self, settings: Settings, database: Database, pipeline: MediaPipeline | None = None
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=lightstick_intents(),
            tree_cls=LightstickTree,
            help_command=None,
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) if settings.shard_ids else None,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=1000,
            chunk_guilds_at_startup=False,
        )
        self.settings = settings
        use_pseudo_locale(settings.pseudo_locale)
        self.db = database
        self.guild_settings = SettingsCache(database)
        self.takedown_index = LiveTakedownIndex(database, settings.index_snapshot)
        self.actions = ModerationActions(self)
        self.alerts = MatchAlerts(self)
        self.flood_holds = FloodHolds(self)
        self.unreadable = UnreadableFiles(self)
        self.explicit_review = ExplicitReview(self)
        self.report_queue = ReportQueue(self)
        self.forms = OpenForms(self)
        self.recent_hashes = RecentHashes(database, self.takedown_index)
        self.scanner = MessageScanner(self)
        self.profile_pictures = ProfilePictures(self)
        self.sweeper = Sweeper(self)
        self.loop_lag = LoopLagMonitor()
        self.retention = RetentionJob(database, self.guild_settings)
        self._started = False  # the first READY has been seen
        self._pipeline = pipeline
        self.failed_extensions: dict[str, str] = {}

    @property
    def pipeline(self) -> MediaPipeline:
        """Download and hashing of media; only the command-line run wires it up."""
        if self._pipeline is None:
            raise RuntimeError("this bot was built without a media pipeline")
        return self._pipeline

    async def setup_hook(self) -> None:
        self.loop_lag.start()
        await self.takedown_index.load()
        self.takedown_index.start_polling()
        self.guild_settings.start_polling()
        self.alerts.start()
        self.unreadable.start()
        self.recent_hashes.start()
        self.explicit_review.start()
        self.scanner.start()
        self.profile_pictures.start()
        self.sweeper.start()
        self.retention.start()
        await self.tree.set_translator(CommandTranslator())
        await self.load_extensions(EXTENSIONS)
        try:
            await self.sync_commands_if_changed()
        except discord.HTTPException as exc:
            # The old commands stay registered; the next start tries again (no fingerprint saved).
            log.error("Could not sync slash commands: %s", exc)

    async def load_extensions(self, extensions: Sequence[str]) -> None:
        """Load each extension; one that fails is logged and recorded, and the rest still load."""
        for extension in extensions:
            try:
                await self.load_extension(extension)
            except Exception as exc:
                self.failed_extensions[extension] = repr(exc)
                log.exception("Could not load %s; the other features still run", extension)

    async def sync_commands_if_changed(self) -> bool:
        """Sync the tree only when its definition changed since the last successful sync."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        fingerprint = command_fingerprint(await self.command_payload(guild))
        scope = f"guild:{guild.id}" if guild else "global"
        key = f"command-sync:{self.application_id}:{scope}"
        async with self.db.connect() as conn:
            previous = await bot_state.get_value(conn, key)
        if previous == fingerprint:
            log.info("Commands unchanged since the last sync (%s); not syncing", scope)
            return False
        synced = await self.tree.sync(guild=guild)
        async with self.db.transaction() as conn:
            await bot_state.set_value(conn, key, fingerprint)
        log.info("Synced %d commands (%s)", len(synced), scope)
        return True

    async def command_payload(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        """The commands as sync sends them, translations included (a new catalog re-syncs)."""
        translator = self.tree.translator
        commands_ = self.tree.get_commands(guild=guild)
        if translator is None:
            return [command.to_dict(self.tree) for command in commands_]
        return [await c.get_translated_payload(self.tree, translator) for c in commands_]

    async def close(self) -> None:
        # While the connection is still open: scanning stops, queued alerts are posted.
        await self.scanner.close()
        await self.profile_pictures.close()
        await self.sweeper.close()
        await self.recent_hashes.close()
        await self.alerts.close()
        await self.flood_holds.close()
        await self.unreadable.close()
        await self.explicit_review.close()
        await self.report_queue.close()
        await self.retention.close()
        self.loop_lag.stop()
        await self.guild_settings.stop_polling()
        await self.takedown_index.close()
        await super().close()

    async def on_ready(self) -> None:
        if not self._started:
            self._started = True
            freeze_startup_objects()  # a full collection: part of starting, for the lag report
            self.loop_lag.report_startup()
        log.info(
            "Connected as %s (id %s) to %d servers",
            self.user,
            self.user and self.user.id,
            len(self.guilds),
        )


class _RecordingTranslator(app_commands.Translator):
    """Notes every string a command sync would ask to translate, with its catalog context."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], None] = {}  # ordered, without repeats

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        self.seen[(COMMAND_CONTEXTS[context.location], string.message)] = None
        return None


def command_strings() -> list[tuple[str, str]]:
    """(context, English) of every name, description, option and choice the commands show,
    read from the command tree itself, so no string a member sees is left out of the catalog."""

    async def collect() -> list[tuple[str, str]]:
        bot = Lightstick(Settings(discord_token=None, database_url="sqlite://"), None)  # type: ignore[arg-type]
        await bot.load_extensions(EXTENSIONS)
        if bot.failed_extensions:
            raise RuntimeError(f"extensions failed to load: {bot.failed_extensions}")
        recorder = _RecordingTranslator()
        for command in bot.tree.get_commands():
            await command.get_translated_payload(bot.tree, recorder)
        return list(recorder.seen)

    return asyncio.run(collect())


def extract_command_strings(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, Any, list[str]]]:
    """Babel extractor (`lightstick_commands` in locales/babel.cfg): this file's marked strings,
    then every command string, with its context ("command name", "option description", …)."""
    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    for context, message in command_strings():
        yield 0, "pgettext", (context, message), []


def fail(message: str, code: int = EXIT_FAILURE) -> int:
    print(textwrap.fill(" ".join(message.split()), width=100), file=sys.stderr)
    return code


async def run_bot(settings: Settings) -> int:
    if not settings.discord_token:
        return fail(NO_TOKEN_HELP, EXIT_USAGE)
    try:
        database = await Database.open(settings.database_url)
    except DatabaseUnavailable as exc:
        return fail(str(exc))
    apply_discord_endpoints(settings)
    pool = HashingPool(PoolSettings(workers=settings.hash_workers))
    # Workers start while the bot logs in; a job waits for the first one to be ready.
    pool_starting = asyncio.create_task(pool.start(), name="hashing-pool-start")
    try:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            pipeline = MediaPipeline(session, pool, fetch_policy(settings))
            async with Lightstick(settings, database, pipeline) as bot:
                await bot.start(settings.discord_token)
    except discord.LoginFailure:
        return fail(TOKEN_REJECTED_HELP)
    except discord.PrivilegedIntentsRequired:
        return fail(INTENTS_REFUSED_HELP)
    except (aiohttp.ClientError, OSError) as exc:
        return fail(DISCORD_UNREACHABLE_HELP.format(error=exc))
    finally:
        pool_starting.cancel()
        await asyncio.gather(pool_starting, return_exceptions=True)
        await pool.close()
        await database.close()
    return EXIT_OK


def run_hash(paths: Sequence[str]) -> int:
    from media import hash_files  # the worker pool and decoders load only for this command

    return hash_files.run(paths, sys.stdout, sys.stderr)


def run_sandbox() -> int:
    """Run the bot against a local Discord-compatible server and narrate (sandbox/demo.py)."""
    from sandbox import demo

    try:
        return asyncio.run(demo.run())
    except KeyboardInterrupt:
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lightstick",
        description="Lightstick, a Discord moderation bot for fandom servers.",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    hash_parser = sub.add_parser(
        "hash", help="print the hashes of local images and videos in the import format"
    )
    hash_parser.add_argument("files", nargs="+", metavar="FILE")
    sub.add_parser("sandbox", help="run the bot against a local Discord-compatible server")
    return parser


# Our own loggers: their DEBUG lines name ids and counts, never content.
OWN_LOGGERS = ("lightstick", "cogs", "moderation", "services", "media", "db", "core")


def setup_logging(level_name: str) -> None:
    """The log at `level_name` for our own modules; other libraries' at INFO at most, because
    their DEBUG lines carry what must never reach a log: discord.py's every gateway event
    (message content) and interaction URLs (tokens), aiosqlite's SQL parameters (reports'
    text and notes)."""
    level = getattr(logging, level_name)
    discord.utils.setup_logging(level=max(level, logging.INFO))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "hash":
        return run_hash(args.files)
    if args.command == "sandbox":
        return run_sandbox()
    try:
        settings = load_settings()
    except SettingsError as exc:
        return fail(f"Lightstick can't start: {exc}", EXIT_USAGE)
    setup_logging(settings.log_level)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(run_bot(settings))
    except KeyboardInterrupt:
        return EXIT_OK


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows), else asyncio's own.

    Why: a good share of the bot's own CPU under a burst is the event loop's bookkeeping
    (sockets to Discord, to the CDN and to the hashing workers, and a wake-up for every
    database call answered from aiosqlite's thread); uvloop's libuv loop does it in C, and the
    bot spent 8% less CPU an image on the burst benchmark (7.6 -> 7.0 ms, bench/RESULTS.md)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    sys.exit(main())
