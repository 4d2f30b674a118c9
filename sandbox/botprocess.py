"""Run the real, unmodified bot (`python bot.py`) as a child process against a sandbox.

Shared by the end-to-end fixtures and `python bot.py sandbox`. The child gets a clean
environment (no DISCORD_*, DEV_GUILD_ID or SHARD_* leaking in from the developer's shell or
`.env`: it runs in its own working directory), its own SQLite file, and the sandbox's three URLs.
Its output (stderr merged into stdout) is kept line by line, so a failing test can show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from sandbox.server import Sandbox

REPO_ROOT = Path(__file__).resolve().parent.parent
BOT_SCRIPT = REPO_ROOT / "bot.py"
# Settings of the parent's environment that must not reach the child.
SCRUBBED_PREFIXES = ("DISCORD_", "DEV_GUILD_ID", "SHARD_", "DATABASE_URL", "LOG_LEVEL")


class BotProcess:
    def __init__(
        self,
        sandbox: Sandbox,
        workdir: Path,
        *,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.database_url = f"sqlite:///{workdir / 'lightstick.db'}"
        self.extra_env = dict(env or {})
        self.args = args
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new_line = asyncio.Event()

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
        env.update(self.sandbox.bot_env())
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
                "NO_COLOR": "1",
            }
        )
        env.update(self.extra_env)
        return env

    async def start(self) -> BotProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOT_SCRIPT),
            *self.args,
            cwd=self.workdir,
            env=self.environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: `stop` can kill its workers too
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())
            self._new_line.set()
        self._new_line.set()

    @property
    def shard_ids(self) -> tuple[int, ...] | None:
        """The shards this process serves, when SHARD_IDS names them."""
        named = self.extra_env.get("SHARD_IDS", "").strip()
        return tuple(int(shard) for shard in named.split(",")) if named else None

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the sandbox has sent this bot READY and its guilds (or the bot died):
        one READY for each of its shards, when it names them (other processes get theirs)."""
        since = len(self.sandbox.frames)
        ready = asyncio.create_task(self._each_ready(timeout, since))
        exited = asyncio.create_task(self.wait_exit(timeout))
        done, _ = await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        for task in (ready, exited):
            if task not in done:
                task.cancel()
        if exited in done:
            raise AssertionError(f"the bot exited ({self.returncode}) before READY:\n{self.stderr}")
        ready.result()
        await self.sandbox.gateway.flushed()

    async def _each_ready(self, timeout: float, since: int) -> None:
        for shard in self.shard_ids or (None,):
            await self.sandbox.wait_for_event(
                "READY",
                where=None
                if shard is None
                else lambda data, shard=shard: data["shard"][0] == shard,
                timeout=timeout,
                since=since,
            )

    async def wait_for_log(self, text: str, timeout: float = 15.0, *, since: int = 0) -> str:
        """The first line of the bot's output containing `text`, from line `since` on (pass
        `len(process.lines)` taken before an action to wait for what the action logs)."""
        async with asyncio.timeout(timeout):
            seen = since
            while True:
                for line in self.lines[seen:]:
                    if text in line:
                        return line
                seen = len(self.lines)
                if self.returncode is not None and self._reader and self._reader.done():
                    raise AssertionError(f"the bot exited without logging {text!r}")
                self._new_line.clear()
                await self._new_line.wait()

    async def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    async def stop(self) -> None:
        """Interrupt like Ctrl+C; kill it and its workers if it does not exit within 10 seconds.

        The whole process group goes: a hashing worker left behind would hold the output pipe
        open, and the bot's output would never end.
        """
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)
        try:
            await self.wait_exit(10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await self.wait_exit(10)
