"""`python bot.py sandbox`: the real bot against a local Discord-compatible server, narrated.

A newcomer sees the bot connect and answer without a Discord account or a token. The demo is a
list of steps (`STEPS`); each feature adds its own step (a fan re-uploads a takedown image and it
is removed; a fan reports a message and the mod queue shows it) by appending a function that
acts through the scenario API and narrates with `Demo.say`. A step whose command is not
registered says so and is skipped, so the demo always runs with whatever exists.
"""

from __future__ import annotations

import asyncio
import io
import random
import sys
import tempfile
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from PIL import Image, ImageDraw

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


def demo_picture() -> bytes:
    """A made-up picture standing in for a known abusive edit (the demo ships no real one)."""
    rng = random.Random(7)
    picture = Image.new("RGB", (640, 480), (240, 220, 230))
    draw = ImageDraw.Draw(picture)
    for _ in range(40):
        x, y = rng.randrange(640), rng.randrange(480)
        size = rng.randrange(20, 160)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x, y, x + size, y + size), fill=colour)
    return _encode(picture, "PNG")


def _encode(picture: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def reupload_of(original: bytes) -> bytes:
    """What a re-upload looks like: smaller and recompressed."""
    picture = Image.open(io.BytesIO(original)).convert("RGB")
    return _encode(picture.resize((480, 360)), "JPEG", quality=70)


async def step_takedown(demo: Demo) -> None:
    if not demo.has_command("takedown") or not demo.has_command("config"):
        demo.say("(/takedown is not available yet: skipped)")
        return
    mod_queue = demo.guild.channel("mod-queue")
    demo.step("The owner makes #mod-queue private to the moderators and picks it for alerts")
    demo.guild.make_private(mod_queue, demo.guild.role("Moderator"))
    demo.say(f"{demo.owner.user.username}: /config channels mod_channel:#mod-queue", indent=5)
    await (await demo.owner.run_command("config channels", mod_channel=mod_queue)).message()
    demo.say("Saved. Only moderators can read alerts there.", indent=5)
    demo.step("A moderator adds a known abusive edit to the takedown list")
    original = demo_picture()
    demo.say(
        f"{demo.moderator.user.username}: /takedown add image:edit.png label:'fake of idol A' "
        "(the image is hashed in memory and dropped; only its hashes are kept)",
        indent=5,
    )
    added = await demo.moderator.run_command(
        "takedown add", image=("edit.png", original), label="fake of idol A"
    )
    await demo.show_answer(demo.moderator, added)
    demo.step("A fan re-posts it, resized and recompressed")
    mark = len(demo.sandbox.calls)
    posted = await demo.fan.send(
        demo.guild.channel("general"),
        "look what I found",
        files=[("repost.jpg", reupload_of(original))],
    )
    demo.say(f"{demo.fan.user.username} in #general: 'look what I found' + repost.jpg", indent=5)
    await demo.sandbox.wait_for_call(
        "DELETE",
        "/channels/{channel_id}/messages/{message_id}",
        where=lambda c: c.params["message_id"] == str(posted.id),
        since=mark,
    )
    demo.say("Lightstick removed the message.", indent=5)
    alert = await demo.sandbox.wait_for_call(
        "POST",
        "/channels/{channel_id}/messages",
        where=lambda c: c.params["channel_id"] == str(mod_queue.id),
        since=mark,
    )
    message = demo.sandbox.world.messages[int(alert.response["id"])]
    demo.say(f"In #mod-queue: {describe(message)}", indent=5)
    files = ", ".join(a.filename for a in message.attachments) or "none"
    demo.say(f"Attached: {files} (a tiny blurred preview, spoiler-tagged).", indent=5)


def reported_picture() -> bytes:
    """A made-up picture a fan finds suspicious (the demo ships no real one)."""
    rng = random.Random(11)
    picture = Image.new("RGB", (640, 480), (200, 230, 240))
    draw = ImageDraw.Draw(picture)
    for _ in range(30):
        x, y = rng.randrange(640), rng.randrange(480)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)), fill=colour)
    return _encode(picture, "JPEG", quality=85)


async def step_report(demo: Demo) -> None:
    if not demo.has_command("Report message") or not demo.has_command("config"):
        demo.say("(reports are not available yet: skipped)")
        return
    guild, sandbox = demo.guild, demo.sandbox
    mod_queue = guild.channel("mod-queue")
    if not demo.has_command("takedown"):  # its step made #mod-queue private; it was skipped
        demo.step("The owner makes #mod-queue private to the moderators")
        guild.make_private(mod_queue, guild.role("Moderator"))
        await (await demo.owner.run_command("config channels", mod_channel=mod_queue)).message()
    demo.say("Only moderators can read #mod-queue, so the report queue may name who reported.")

    demo.step("A fan reports a suspicious picture")
    poster = guild.add_member("yuna")
    posted = await poster.send(
        guild.channel("general"), "new pics!!", files=[("pics.jpg", reported_picture())]
    )
    demo.say(f"{poster.user.username} in #general: 'new pics!!' + pics.jpg", indent=5)
    mark = len(sandbox.calls)
    demo.say(
        f"{demo.fan.user.username}: Report message -> fills in the form: Deepfake / "
        "AI-manipulated, 'an AI edit of Jisoo'",
        indent=5,
    )
    opened = await demo.fan.run_message_command("Report message", posted)
    submitted = await demo.fan.submit_modal(
        opened, {"report-category": ["deepfake"], "report-details": "an AI edit of Jisoo"}
    )
    answer = await submitted.followup()
    demo.say(f"Lightstick (only {demo.fan.user.username} sees it): {answer.content}", indent=5)
    queued = await sandbox.wait_for_call(
        "POST",
        "/channels/{channel_id}/messages",
        where=lambda c: c.params["channel_id"] == str(mod_queue.id),
        since=mark,
    )
    queue_message = sandbox.world.messages[int(queued.response["id"])]
    demo.say(f"In #mod-queue: {describe(queue_message)}", indent=5)
    demo.say(
        "The picture's hashes were kept when it was reported (never the picture), so it can be "
        "taken down even if its author deletes it first.",
        indent=5,
    )

    demo.step("A moderator takes it down from the queue")
    demo.say(f"{demo.moderator.user.username}: clicks Take down", indent=5)
    take_down = next(
        c["custom_id"]
        for row in queue_message.components
        for c in row["components"]
        if c["label"] == "Take down"
    )
    clicked = await demo.moderator.click(queue_message, take_down)
    done = await clicked.followup()
    demo.say(f"Lightstick (only {demo.moderator.user.username} sees it): {done.content}", indent=5)
    dm_channel = await _eventually(lambda: sandbox.world.dm_channels.get(demo.fan.id))
    dm = await _eventually(
        lambda: next(
            (m for m in sandbox.world.messages.values() if m.channel_id == dm_channel), None
        )
    )
    demo.say(f"{demo.fan.user.username} gets a DM: {dm.content}", indent=5)


async def _eventually(check: Callable[[], object], timeout: float = 15.0) -> Any:
    for _ in range(int(timeout / 0.05)):
        found = check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise TimeoutError("the bot did not answer in time")


# Each feature appends its step here (takedowns, reports, ...); they run in this order.
STEPS: list[Step] = [step_connect, step_rules, step_config, step_takedown, step_report]


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
