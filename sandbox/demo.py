"""`python bot.py sandbox`: the real bot against a local Discord-compatible server, narrated.

A newcomer sees the bot connect and answer without a Discord account or a token. The demo is a
list of steps (`STEPS`); each feature adds its own step (a fan re-uploads a takedown image and it
is removed; a fan reports a message and the mod queue shows it) by appending a function that
acts through the scenario API and narrates with `Demo.say`. A step whose command is not
registered says so and is skipped, so the demo always runs with whatever exists.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sandbox.botprocess import BotProcess
from sandbox.gateway import Intent, Op
from sandbox.permissions import Permission
from sandbox.scenario import GuildHandle, InteractionHandle, MemberHandle, create_guild
from sandbox.server import Sandbox
from sandbox.state import Message

INTENT_NAMES = {
    Intent.GUILDS: "servers",
    Intent.GUILD_MEMBERS: "members",
    Intent.GUILD_MESSAGES: "messages",
    Intent.MESSAGE_CONTENT: "message content",
}


@dataclass
class Demo:
    sandbox: Sandbox
    guild: GuildHandle
    owner: MemberHandle
    moderator: MemberHandle
    fan: MemberHandle
    out: TextIO = sys.stdout
    step_number: int = field(default=0)

    def step(self, title: str) -> None:
        self.step_number += 1
        self.out.write(f"\n{self.step_number}. {title}\n")

    def say(self, text: str, indent: int = 3) -> None:
        prefix = " " * indent
        self.out.write(textwrap.fill(text, 98, initial_indent=prefix, subsequent_indent=prefix))
        self.out.write("\n")
        self.out.flush()

    def has_command(self, name: str) -> bool:
        return any(c.name == name for c in self.sandbox.world.application.commands.values())

    async def show_answer(self, who: MemberHandle, handle: InteractionHandle) -> Message:
        message = await handle.message()
        audience = f"only {who.user.username} sees it" if handle.ephemeral else "everyone sees it"
        self.say(f"Lightstick ({audience}): {describe(message)}", indent=5)
        return message


Step = Callable[[Demo], Awaitable[None]]


def describe(message: Message) -> str:
    """A message as one readable line: its text, then each embed's title and fields."""
    parts = [message.content] if message.content else []
    for embed in message.embeds:
        fields = "; ".join(f"{f['name']}: {f['value']}" for f in embed.get("fields", []))
        parts.append(
            " - ".join(p for p in (embed.get("title"), embed.get("description"), fields) if p)
        )
    return " | ".join(parts) or "(no text)"


async def step_connect(demo: Demo) -> None:
    sandbox = demo.sandbox
    demo.step("The bot connects")
    identify = await sandbox.wait_for_event(op=Op.IDENTIFY, sent_by_bot=True)
    asked = [name for bit, name in INTENT_NAMES.items() if identify.data["intents"] & bit]
    demo.say(
        f"Logged in with the sandbox's token and identified on the gateway asking for: "
        f"{', '.join(asked)}."
    )
    commands = sorted(
        f"/{c.name}" if c.type == 1 else f'"{c.name}"'
        for c in sandbox.world.application.commands.values()
    )
    demo.say(f"Synced {len(commands)} commands: {', '.join(commands) or 'none yet'}.")
    demo.say(f"Got READY and the server {demo.guild.guild.name!r}; it is now online.")


async def step_rules(demo: Demo) -> None:
    if not (demo.has_command("manage-rules") and demo.has_command("rules")):
        demo.say("(/rules is not available yet: skipped)")
        return
    demo.step("The owner writes the server's rules")
    owner = demo.owner
    for title, body in (
        ("Be kind", "No hate, no harassment, no fan wars."),
        ("No deepfakes", "AI-manipulated or sexualized images of idols are removed on sight."),
    ):
        demo.say(
            f"{owner.user.username}: /manage-rules add  -> fills in the form: {title!r}", indent=5
        )
        opened = await owner.run_command("manage-rules add")
        submitted = await owner.submit_modal(opened, {"rule-title": title, "rule-body": body})
        await demo.show_answer(owner, submitted)
    demo.step("A fan reads them")
    demo.say(f"{demo.fan.user.username}: /rules", indent=5)
    await demo.show_answer(demo.fan, await demo.fan.run_command("rules"))
    demo.say(f"{demo.fan.user.username}: /rules number:2", indent=5)
    await demo.show_answer(demo.fan, await demo.fan.run_command("rules", number=2))


async def step_config(demo: Demo) -> None:
    if not demo.has_command("config"):
        return
    demo.step("The owner checks the bot's setup")
    demo.say(f"{demo.owner.user.username}: /config check", indent=5)
    await demo.show_answer(demo.owner, await demo.owner.run_command("config check"))


# Each feature appends its step here (takedowns, reports, ...); they run in this order.
STEPS: list[Step] = [step_connect, step_rules, step_config]


def build_demo_guild(sandbox: Sandbox) -> tuple[GuildHandle, MemberHandle, MemberHandle]:
    guild = create_guild(sandbox, "K-pop Fan Hub", owner="hana", channels=("general", "mod-queue"))
    moderators = guild.add_role(
        "Moderator", Permission.MANAGE_MESSAGES | Permission.MODERATE_MEMBERS, position=1
    )
    moderator = guild.add_member("jin", roles=[moderators])
    fan = guild.add_member("minji")
    return guild, moderator, fan


async def run(out: TextIO = sys.stdout, steps: list[Step] | None = None) -> int:
    async with Sandbox() as sandbox:
        guild, moderator, fan = build_demo_guild(sandbox)
        demo = Demo(sandbox, guild, guild.owner, moderator, fan, out)
        out.write(
            "Lightstick sandbox demo: the real bot against a local Discord-compatible server\n"
        )
        demo.say(
            f"Server running at {sandbox.base_url} (REST, gateway and CDN; no Discord account "
            f"needed). In {guild.guild.name!r}: {guild.owner.user.username} (owner), "
            f"{moderator.user.username} (moderator), {fan.user.username} (fan).",
            indent=0,
        )
        with tempfile.TemporaryDirectory(prefix="lightstick-demo-") as workdir:
            bot = await BotProcess(sandbox, Path(workdir)).start()
            try:
                await bot.wait_ready()
                for step in steps if steps is not None else STEPS:
                    await step(demo)
            except (AssertionError, TimeoutError) as exc:
                out.write(f"\nThe demo stopped: {exc}\nWhat the bot printed:\n{bot.stderr}\n")
                return 1
            finally:
                await bot.stop()
        problems = sandbox.unhandled + sandbox.errors
        if problems:
            out.write(f"\nThe sandbox saw problems: {problems}\n")
            return 1
        out.write(
            "\nDone. Every step above was the real bot answering over HTTP and the gateway.\n"
        )
    return 0
