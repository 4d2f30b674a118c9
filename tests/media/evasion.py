"""The hostile-evasion corpus, built by code: files an abuser would try to get a listed picture
past the scanner with, and a few innocent files that must stay innocent.

Every case is made in memory from the listed picture (`listed()`, one of the pdqhash example
photos) and says what it tries and what the bot must make of it: hash it (and then a hash lies
within the confident radius of the listed picture's, when the file shows it), or refuse it as
one of the three outcomes of `media.outcomes`, with a reason. The tests (`test_evasion.py`) and
the burst benchmark (`bench/scan_burst.py`) both draw on it. Nothing is written to disk here.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import cache

from PIL import Image

from media.outcomes import Outcome
from tests.media import samples

FRAME_SIZE = (320, 240)  # animations: small, as shared GIFs are
VIDEO_SIZE = (320, 180)


@dataclass(frozen=True, slots=True)
class EvasionCase:
    name: str  # a file name, its extension the format's
    data: bytes
    shows_listed: bool  # a viewer sees the listed picture in it
    expected: Outcome  # HASHED, or the kind of refusal the bot must name
    tries: str  # what the abuser is counting on


@cache
def listed() -> Image.Image:
    """The picture on the takedown list in every case."""
    return samples.photo(4)


def listed_jpeg() -> bytes:
    """The listed picture as a moderator would add it."""
    return samples.encode(listed(), "JPEG", quality=90)


def listed_frame(size: tuple[int, int] = FRAME_SIZE) -> Image.Image:
    return listed().resize(size, Image.Resampling.LANCZOS)


def flicker(count: int, size: tuple[int, int] = FRAME_SIZE, seed: int = 0) -> list[Image.Image]:
    """Frames of noise, each unlike the last: what a viewer sees as flicker."""
    return [samples.noise(size, seed + n) for n in range(count)]


def animation(
    fmt: str, frames: list[Image.Image], durations: list[int], **options: object
) -> bytes:
    """Encode an animation; GIF frames get their palettes and AVIF its fastest speed first, or
    building the corpus would take a minute."""
    options = {"loop": 0, **options}
    if fmt == "GIF":
        frames = [f.quantize(colors=128, method=Image.Quantize.FASTOCTREE) for f in frames]
    elif fmt == "AVIF":
        options.setdefault("speed", 10)
    elif fmt == "PNG":
        options.setdefault("compress_level", 1)
    return samples.encode(
        frames[0], fmt, save_all=True, append_images=frames[1:], duration=durations, **options
    )


def hidden_in_flicker(
    fmt: str,
    *,
    position: int = 12,
    noise_frames: int = 60,
    flicker_ms: int = 30,
    shown_ms: int = 10_000,
    seed: int = 0,
) -> bytes:
    """The listed picture shown for `shown_ms` at frame `position` among `noise_frames` noise
    frames of `flicker_ms` each (by default 10 s at frame 12 among 60 frames of 30 ms:
    sampling 12 frames evenly by index never lands on it)."""
    frames = flicker(noise_frames, seed=seed)
    frames.insert(position, listed_frame())
    durations = [flicker_ms] * len(frames)
    durations[position] = shown_ms
    return animation(fmt, frames, durations)


def flashed_between_noise() -> bytes:
    """The listed picture for 20 ms at a time, every other frame, never first or last: no
    single showing is long, but together it is on screen half the time."""
    noise = flicker(31, seed=100)
    frames = [noise[0]]
    for frame in noise[1:]:
        frames += [listed_frame(), frame]
    return animation("GIF", frames, [20] * len(frames))


def zero_delay_frames() -> bytes:
    """Frames that ask for 0 ms, which browsers (and Discord's client) show for 100 ms each."""
    frames = flicker(20, seed=200)
    frames[7] = listed_frame()
    return animation("GIF", frames, [0] * len(frames))


def ends_on_the_picture() -> bytes:
    """A GIF that plays once through noise and stops on the listed picture for good."""
    frames = [*flicker(40, seed=300), listed_frame()]
    once = animation("GIF", frames, [30] * len(frames))
    loop = once.index(b"\x21\xff\x0bNETSCAPE2.0")
    return once[:loop] + once[loop + 19 :]  # without the loop extension it plays once


def decoy_first_frame() -> bytes:
    frames = [samples.photo(2).resize(FRAME_SIZE)] + [listed_frame()] * 8
    return animation("GIF", frames, [40] * len(frames))


def video_ending_on_the_picture(seconds: int = 60, fps: int = 5) -> bytes:
    """A long video of moving noise with the listed picture for its last second."""
    moving = [samples.noise(VIDEO_SIZE, n // fps) for n in range(seconds * fps)]
    return samples.video([*moving, *[listed_frame(VIDEO_SIZE)] * fps], fps=fps)


def video_flash(container: str, codec: str) -> bytes:
    """Half a second of the listed picture in the middle of ten seconds of noise."""
    fps = 10
    pictures = [samples.noise(VIDEO_SIZE, 1000 + n // 3) for n in range(10 * fps)]
    pictures[48:53] = [listed_frame(VIDEO_SIZE)] * 5
    return samples.video(pictures, fps=fps, container=container, codec=codec)


def jpeg_with_comments(count: int) -> bytes:
    """The listed JPEG with `count` comment segments after its start: Pillow shows it normally."""
    jpeg = listed_jpeg()
    comment = b"\xff\xfe" + struct.pack(">H", 6) + b"hide"
    return jpeg[:2] + comment * count + jpeg[2:]


def png_in_chunks(count: int) -> bytes:
    """The listed PNG with its image data split into `count` IDAT chunks."""
    picture = listed().resize((160, 120))
    raw = b"".join(b"\x00" + picture.tobytes()[y * 480 : (y + 1) * 480] for y in range(120))
    stream = zlib.compress(raw, 9)
    pieces = [
        stream[i * len(stream) // count : (i + 1) * len(stream) // count] for i in range(count)
    ]
    header = struct.pack(">IIBBBBB", 160, 120, 8, 2, 0, 0, 0)
    chunks = [samples.png_chunk(b"IHDR", header)]
    chunks += [samples.png_chunk(b"IDAT", piece) for piece in pieces]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + samples.png_chunk(b"IEND", b"")


def gif_in_sub_blocks(minimum: int) -> bytes:
    """The listed GIF with its image data cut into sub-blocks of as few bytes as it takes to
    have at least `minimum` of them."""
    gif = samples.encode(listed().resize((480, 360)), "GIF")
    flags = gif[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while gif[pos] == 0x21:  # extensions before the image: skip their sub-blocks
        pos += 2
        while gif[pos]:
            pos += 1 + gif[pos]
        pos += 1
    local = gif[pos + 9]
    data_at = pos + 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1  # after LZW size
    payload, end = bytearray(), data_at
    while gif[end]:
        payload += gif[end + 1 : end + 1 + gif[end]]
        end += 1 + gif[end]
    size = max(1, min(255, len(payload) // minimum))
    blocks = b"".join(
        bytes([len(payload[i : i + size])]) + payload[i : i + size]
        for i in range(0, len(payload), size)
    )
    return gif[:data_at] + blocks + b"\x00" + gif[end + 1 :]


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned, shown upright
    return samples.encode(listed().transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif)


@cache
def corpus() -> tuple[EvasionCase, ...]:
    """Every case: some 30 files, built in a few seconds (and once a process)."""
    listed_still = listed_frame((480, 360))
    other = samples.photo(7)
    cases = [
        EvasionCase("plain.jpg", listed_jpeg(), True, Outcome.HASHED, "nothing: the baseline"),
        EvasionCase(
            "still.avif", samples.encode(listed_still, "AVIF"), True, Outcome.HASHED, "AVIF"
        ),
        EvasionCase(
            "still.webp", samples.encode(listed_still, "WEBP"), True, Outcome.HASHED, "WebP"
        ),
        EvasionCase("rotated.jpg", exif_rotated(), True, Outcome.HASHED, "EXIF orientation"),
        EvasionCase(
            "hidden.gif", hidden_in_flicker("GIF"), True, Outcome.HASHED, "a frame between samples"
        ),
        EvasionCase(
            "hidden.png", hidden_in_flicker("PNG"), True, Outcome.HASHED, "the same as APNG"
        ),
        EvasionCase(
            "hidden.webp",
            hidden_in_flicker("WEBP"),
            True,
            Outcome.HASHED,
            "the same as animated WebP",
        ),
        EvasionCase(
            "hidden.avif",
            hidden_in_flicker("AVIF"),
            True,
            Outcome.HASHED,
            "the same as animated AVIF",
        ),
        EvasionCase(
            "flashes.gif", flashed_between_noise(), True, Outcome.HASHED, "no showing is long"
        ),
        EvasionCase(
            "zero-delay.gif", zero_delay_frames(), True, Outcome.HASHED, "frames that ask for 0 ms"
        ),
        EvasionCase(
            "ends-on-it.gif", ends_on_the_picture(), True, Outcome.HASHED, "a last frame that stays"
        ),
        EvasionCase("decoy.gif", decoy_first_frame(), True, Outcome.HASHED, "a decoy first frame"),
        EvasionCase(
            "long-clip.mp4",
            video_ending_on_the_picture(),
            True,
            Outcome.HASHED,
            "one second at the end of a minute",
        ),
        EvasionCase(
            "flash.webm",
            video_flash("webm", "libvpx-vp9"),
            True,
            Outcome.HASHED,
            "half a second mid-video, VP9",
        ),
        EvasionCase(
            "flash-hevc.mp4",
            video_flash("mp4", "libx265"),
            True,
            Outcome.HASHED,
            "half a second mid-video, HEVC",
        ),
        EvasionCase(
            "flash-av1.mp4",
            video_flash("mp4", "libsvtav1"),
            True,
            Outcome.HASHED,
            "half a second mid-video, AV1",
        ),
        EvasionCase(
            "comments.jpg",
            jpeg_with_comments(2001),
            True,
            Outcome.CRAFTED,
            "2,001 comment segments, shown normally",
        ),
        EvasionCase(
            "chunks.png", png_in_chunks(20001), True, Outcome.CRAFTED, "20,001 IDAT chunks"
        ),
        EvasionCase(
            "blocks.gif", gif_in_sub_blocks(50001), True, Outcome.CRAFTED, "50,001 data sub-blocks"
        ),
        EvasionCase(
            "bomb.png",
            samples.png_declaring(13000, 13000),
            False,
            Outcome.CRAFTED,
            "a decompression bomb",
        ),
        EvasionCase(
            "bomb.gif",
            samples.gif_declaring(13000, 13000),
            False,
            Outcome.CRAFTED,
            "a decompression bomb",
        ),
        EvasionCase(
            "mpeg4.mov",
            samples.video([listed_frame(VIDEO_SIZE)] * 10, container="mov", codec="mpeg4"),
            True,
            Outcome.UNSUPPORTED,
            "a codec the bot doesn't decode",
        ),
        EvasionCase(
            "truncated.jpg",
            listed_jpeg()[:4000],
            True,
            Outcome.UNSUPPORTED,
            "a file cut short (browsers show the top)",
        ),
        EvasionCase(
            "endless.gif",
            samples.gif_with_frames(6000),
            False,
            Outcome.UNFINISHED,
            "more frames than the budget",
        ),
        EvasionCase("other.jpg", samples.encode(other, "JPEG"), False, Outcome.HASHED, "innocent"),
        EvasionCase(
            "other.gif",
            animation("GIF", [other.resize(FRAME_SIZE), *flicker(10, seed=900)], [500] + [40] * 10),
            False,
            Outcome.HASHED,
            "innocent",
        ),
        EvasionCase(
            "other.mp4",
            samples.video([samples.noise(VIDEO_SIZE, n // 10) for n in range(50)]),
            False,
            Outcome.HASHED,
            "innocent",
        ),
    ]
    return tuple(cases)
