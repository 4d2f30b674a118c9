"""Profile pictures end to end: a member wearing a takedown-list picture as their avatar, server
avatar, profile banner or server banner is flagged to the moderators, whether they join with it
or change to it; an unrelated picture yields nothing; the alert's buttons act on the member."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ImageOps

from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, MemberHandle, create_guild
from sandbox.server import Sandbox
from tests.e2e.conftest import StartBot
from tests.e2e.test_languages import answers, posts, untranslated
from tests.e2e.test_scanning import KNOWN, UNRELATED, arrange, reupload
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

ALERT_SECONDS = 15  # what the issue asks: the alert within 15 s of the change
SEND_ROUTE = "/channels/{channel_id}/messages"


def animated_with_known_in_frame_3() -> bytes:
    frames = [photo(n).resize((256, 256)) for n in (1, 2)] + [photo(KNOWN).resize((256, 256))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=500, loop=0)
    return buffer.getvalue()


def animated_webp_with_known_in_frame_2() -> bytes:
    frames = [photo(n).resize((256, 256)) for n in (1, KNOWN, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=500, loop=0)
    return buffer.getvalue()


def mirrored() -> bytes:
    return encode(ImageOps.mirror(photo(KNOWN)), "PNG")


def unrelated() -> bytes:
    return encode(photo(UNRELATED), "PNG")


@pytest.fixture
async def watching_bot(tmp_path: Path, guild: GuildHandle, start_bot: StartBot) -> BotProcess:
    await arrange(tmp_path, guild)
    return await start_bot(env={"HASH_WORKERS": "1"})


async def profile_alert(sandbox: Sandbox, guild: GuildHandle, member: MemberHandle):  # type: ignore[no-untyped-def]
    """The alert about `member`'s picture in #mod-queue, waited for (15 s at most)."""
    queue = str(guild.channel("mod-queue").id)
    call = await sandbox.wait_for_call(
        "POST",
        SEND_ROUTE,
        where=lambda c: (
            c.params["channel_id"] == queue
            and "profile picture" in str(c.json or c.files)
            and str(member.id) in str(c.json or c.files)
        ),
        timeout=ALERT_SECONDS,
    )
    return sandbox.world.messages[int(call.response["id"])]


def labels(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [c["label"] for row in message.components for c in row["components"]]


def button(message, label: str) -> str:  # type: ignore[no-untyped-def]
    found = [c for row in message.components for c in row["components"] if c["label"] == label]
    return found[0]["custom_id"]


Change = Callable[[GuildHandle, MemberHandle], object]


@pytest.mark.parametrize(
    ("picture", "change", "cdn_route"),
    [
        (
            "Avatar",
            lambda guild, fan: fan.set_avatar(reupload()),
            "/avatars/{user_id}/{file}",
        ),
        (
            "Avatar",
            lambda guild, fan: fan.set_avatar(animated_with_known_in_frame_3()),
            "/avatars/{user_id}/{file}",
        ),
        (
            "Server avatar",
            lambda guild, fan: fan.set_server_avatar(animated_webp_with_known_in_frame_2()),
            "/guilds/{guild_id}/users/{user_id}/avatars/{file}",
        ),
        (
            "Server avatar",
            lambda guild, fan: fan.set_server_avatar(reupload()),
            "/guilds/{guild_id}/users/{user_id}/avatars/{file}",
        ),
        (
            "Server profile banner",
            lambda guild, fan: fan.set_server_banner(reupload()),
            "/guilds/{guild_id}/users/{user_id}/banners/{file}",
        ),
    ],
    ids=[
        "account avatar",
        "animated avatar",
        "animated webp server avatar",
        "server avatar",
        "server banner",
    ],
)
async def test_a_member_changing_to_a_listed_picture_is_flagged_with_member_buttons(
    sandbox: Sandbox,
    guild: GuildHandle,
    watching_bot: BotProcess,
    picture: str,
    change: Change,
    cdn_route: str,
) -> None:
    fan = guild.member("fan")
    image_hash = change(guild, fan)
    alert = await profile_alert(sandbox, guild, fan)
    embed = alert.embeds[0]
    assert embed["title"] == "A member's profile picture matches the takedown list"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Member"] == f"<@{fan.id}> ({fan.id})"
    assert fields["Picture"] == picture
    assert "fake of idol A" in fields["Entry"] and "distance" in fields["Match"]
    assert labels(alert) == ["Not a match", "Timeout", "Kick", "Ban"]
    assert [a.filename for a in alert.attachments] == ["SPOILER_lightstick-preview.jpg"]
    fetched = [r for r in sandbox.cdn_requests if r.route == cdn_route]
    assert fetched and all(r.status == 200 for r in fetched)
    # An animated picture ("a_" hash) is asked for as an animation, and hashed as one.
    extension = "gif" if str(image_hash).startswith("a_") else "png"
    assert fetched[0].path.endswith(f"/{image_hash}.{extension}")


async def test_a_member_joining_with_a_listed_avatar_or_banner_is_flagged(
    sandbox: Sandbox, guild: GuildHandle, watching_bot: BotProcess
) -> None:
    with_avatar = guild.add_member("wearer", avatar=reupload())
    alert = await profile_alert(sandbox, guild, with_avatar)
    assert {f["name"]: f["value"] for f in alert.embeds[0]["fields"]}["Picture"] == "Avatar"

    # The account banner is not in member payloads: the bot asks for the profile on join.
    with_banner = guild.add_member("bannered", banner=reupload())
    alert = await profile_alert(sandbox, guild, with_banner)
    fields = {f["name"]: f["value"] for f in alert.embeds[0]["fields"]}
    assert fields["Picture"] == "Profile banner"
    assert sandbox.calls_to("GET", "/users/{user_id}")
    assert [r.route for r in sandbox.cdn_requests if "/banners/" in r.path] == [
        "/banners/{user_id}/{file}"
    ]


async def test_an_unrelated_picture_yields_nothing_and_a_worn_picture_is_fetched_once(
    sandbox: Sandbox, guild: GuildHandle, watching_bot: BotProcess
) -> None:
    fan = guild.member("fan")
    fan.set_avatar(unrelated())
    fan.timeout(5)  # more member updates with the same avatar: not fetched again
    fan.timeout(10)
    marker = guild.add_member("marker")
    marker.set_server_avatar(reupload())  # checked after the fan's, one worker in order
    await profile_alert(sandbox, guild, marker)
    queue = guild.channel("mod-queue").id
    posted = [m for m in sandbox.world.messages.values() if m.channel_id == queue]
    assert len(posted) == 1 and str(fan.id) not in str(posted[0].embeds)
    avatar_path = f"/cdn/avatars/{fan.id}/"
    assert len([r for r in sandbox.cdn_requests if r.path.startswith(avatar_path)]) == 1


async def test_kick_and_not_a_match_on_a_profile_picture_alert(
    sandbox: Sandbox, guild: GuildHandle, watching_bot: BotProcess
) -> None:
    moderator = guild.member("moderator")
    first = guild.add_member("first", avatar=reupload())
    alert = await profile_alert(sandbox, guild, first)
    fan = guild.member("fan")
    refused = await fan.click(alert, button(alert, "Kick"))
    assert "Only this server's moderators" in (await refused.message()).content

    kicked = await moderator.click(alert, button(alert, "Kick"))
    assert (await kicked.message()).content == f"<@{first.id}> is kicked."
    await sandbox.wait_for_call(
        "DELETE",
        "/guilds/{guild_id}/members/{user_id}",
        where=lambda c: c.params["user_id"] == str(first.id),
    )
    cases = await moderator.run_command("cases list", user=first)
    listed = str((await cases.message()).embeds)
    assert "Kick" in listed and "Flagged match" in listed

    second = guild.add_member("second", avatar=reupload())
    alert = await profile_alert(sandbox, guild, second)
    cleared = await moderator.click(alert, button(alert, "Not a match"))
    assert "Marked as not a match" in (await cleared.message()).content
    # The picture is allowlisted here: the next member wearing it is not flagged.
    guild.add_member("third", avatar=reupload())
    marker = guild.add_member("marker")
    marker.set_server_avatar(mirrored())  # the same entry, but not the allowlisted picture
    await profile_alert(sandbox, guild, marker)
    queue = guild.channel("mod-queue").id
    about = [m for m in sandbox.world.messages.values() if m.channel_id == queue and m.embeds]
    assert len(about) == 3


async def test_an_avatar_the_bot_cannot_check_alerts_unless_the_server_ignores_it(
    sandbox: Sandbox, guild: GuildHandle, watching_bot: BotProcess
) -> None:
    broken = encode(photo(2), "JPEG")[:700]  # truncated: unsupported or corrupt
    fan = guild.member("fan")
    fan.set_avatar(broken)
    alert = await profile_alert(sandbox, guild, fan)
    embed = alert.embeds[0]
    assert embed["title"] == "A member's profile picture could not be checked: please review"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Picture"] == "Avatar" and fields["Not checked against the takedown lists"]
    assert alert.attachments == []  # never a preview of what could not be decoded safely
    assert labels(alert) == ["Timeout", "Kick", "Ban"]
    timed_out = await guild.member("moderator").click(alert, button(alert, "Timeout"))
    assert (await timed_out.message()).content == f"{fan.mention} is timed out for 60 minutes."

    owner = guild.owner
    saved = await owner.run_command("config takedowns", unsupported="ignore", previews=False)
    assert (await saved.message()).content.startswith("Saved.")
    ignored = guild.add_member("ignored", avatar=broken)
    marker = guild.add_member("marker", avatar=reupload())  # after the ignored one, in order
    alert = await profile_alert(sandbox, guild, marker)
    assert alert.attachments == []  # previews are off
    queue = guild.channel("mod-queue").id
    posted = [m for m in sandbox.world.messages.values() if m.channel_id == queue and m.embeds]
    assert len(posted) == 2 and str(ignored.id) not in str([m.embeds for m in posted])


async def test_a_raid_of_joins_is_checked_to_the_last_member(
    sandbox: Sandbox, guild: GuildHandle, watching_bot: BotProcess
) -> None:
    others = [n for n in range(1, 11) if n != KNOWN]
    raiders = [
        guild.add_member(
            f"raider{n}", avatar=encode(photo(others[n % 9]).resize((96 + n, 96)), "PNG")
        )
        for n in range(30)
    ]
    last = guild.add_member("last", avatar=reupload())  # queued behind every other join
    await profile_alert(sandbox, guild, last)
    fetched = {r.path.split("/")[3] for r in sandbox.cdn_requests if r.route.startswith("/avatars")}
    assert fetched == {str(m.id) for m in [*raiders, last]}
    queue = guild.channel("mod-queue").id
    assert len([m for m in sandbox.world.messages.values() if m.channel_id == queue]) == 1


async def test_a_pseudo_locale_run_finds_no_text_built_outside_the_catalogs(
    tmp_path: Path, sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild)
    await start_bot(env={"HASH_WORKERS": "1", "PSEUDO_LOCALE": "1"})
    moderator = guild.member("moderator")
    first = guild.add_member("first", avatar=reupload())
    alert = await profile_alert(sandbox, guild, first)
    kick = next(name for name in labels(alert) if "Kick" in name)
    await (await guild.member("fan").click(alert, button(alert, kick))).message()  # refused
    await (await moderator.click(alert, button(alert, kick))).message()
    second = guild.add_member("second")
    second.set_server_banner(mirrored())
    alert = await profile_alert(sandbox, guild, second)
    not_a_match = next(name for name in labels(alert) if "Not a match" in name)
    await (await moderator.click(alert, button(alert, not_a_match))).message()
    await sandbox.wait_for_call(
        "PATCH", "/channels/{channel_id}/messages/{message_id}",
        where=lambda c: c.params["message_id"] == str(alert.id),
    )  # fmt: skip

    shown = answers(sandbox) + posts(sandbox)
    assert len(shown) > 20 and any("⟦" in text for text in shown)
    leftovers = {text: untranslated(text) for text in shown if untranslated(text)}
    assert leftovers == {}


async def test_an_account_avatar_change_is_flagged_in_every_server_that_lists_it(
    tmp_path: Path, sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    other = create_guild(sandbox, "Second Fandom", channels=("general", "mod-queue"))
    await arrange(tmp_path, guild)
    await arrange(tmp_path, other)
    await start_bot(env={"HASH_WORKERS": "1"})
    fan = guild.member("fan")
    there = other.join(fan.user)
    fan.set_avatar(reupload())  # one change: a GUILD_MEMBER_UPDATE in each shared server
    here_alert = await profile_alert(sandbox, guild, fan)
    there_alert = await profile_alert(sandbox, other, there)
    assert here_alert.channel_id != there_alert.channel_id
    fetched = [r for r in sandbox.cdn_requests if r.route == "/avatars/{user_id}/{file}"]
    assert len(fetched) <= 2  # hashed once; a second download only for the second preview
