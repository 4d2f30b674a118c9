"""Hostile and awkward inputs: each gets a decided outcome, and hashes are of what a viewer sees."""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest
from PIL import Image

from media.decode import _frame_signature, viewable
from media.formats import DecodeLimits, MediaFormat, check_structure, sniff_format
from media.frames import signature
from media.hashing import MIN_PDQ_QUALITY, Outcome, hash_frame, hash_media
from tests.media import samples

BOMB = 13000


def pdq_of(image: Image.Image) -> object:
    picture = image.convert("RGB")
    picture.thumbnail((512, 512), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return hash_frame(picture, variants=False).pdq


@pytest.mark.parametrize(
    "data",
    [
        samples.gif_declaring(BOMB, BOMB),
        samples.gif_declaring(BOMB, BOMB, frame=(BOMB, BOMB)),
        samples.jpeg_declaring(BOMB, BOMB),
        samples.png_declaring(BOMB, BOMB),
        samples.webp_declaring(BOMB, BOMB),
    ],
    ids=["gif-screen", "gif-frame", "jpeg", "png", "webp-canvas"],
)
def test_declared_size_bomb_is_refused_as_crafted_before_decoding(data: bytes) -> None:
    result = hash_media(data)
    assert result.outcome is Outcome.CRAFTED
    assert "13000x13000" in str(result.reason)


def test_long_thin_image_over_the_side_cap_is_refused_as_crafted() -> None:
    assert hash_media(samples.png_declaring(30000, 10)).outcome is Outcome.CRAFTED


def test_jpeg_with_thousands_of_progressive_scans_is_refused_as_crafted() -> None:
    data = samples.jpeg_with_scans(3000)
    assert data.count(b"\xff\xda") >= 3000
    result = hash_media(data)
    assert result.outcome is Outcome.CRAFTED
    assert "scans" in str(result.reason)


def test_normal_progressive_jpeg_is_hashed() -> None:
    data = samples.encode(samples.photo(), "JPEG", progressive=True)
    assert hash_media(data).outcome is Outcome.HASHED


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_image_is_unsupported_not_clean(fmt: str) -> None:
    data = samples.encode(samples.photo(), fmt)
    result = hash_media(data[: len(data) // 2])
    assert result.outcome is Outcome.UNSUPPORTED
    assert result.frames == ()


def test_truncated_video_gets_a_decided_outcome() -> None:
    data = samples.video([samples.noise((64, 48), i) for i in range(20)])
    result = hash_media(data[: len(data) // 2])
    assert result.outcome in (Outcome.UNSUPPORTED, Outcome.HASHED)
    assert result.outcome is Outcome.HASHED or result.reason


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is not an image", b"%PDF-1.7\n" + b"0" * 100, b"BM" + b"\x00" * 60],
    ids=["empty", "text", "pdf", "bmp"],
)
def test_non_image_is_unsupported(data: bytes) -> None:
    result = hash_media(data)
    assert result.outcome is Outcome.UNSUPPORTED
    assert "not a JPEG" in str(result.reason)


def test_magic_bytes_decide_the_format() -> None:
    assert sniff_format(samples.encode(samples.photo(), "PNG")) is MediaFormat.PNG
    assert sniff_format(samples.encode(samples.photo(), "WEBP")) is MediaFormat.WEBP
    assert sniff_format(b"\x00\x00\x00\x18ftypqt  ") is MediaFormat.MOV
    assert sniff_format(b"\x00\x00\x00\x18ftypisom") is MediaFormat.MP4
    assert sniff_format(b"\x1a\x45\xdf\xa3\x01") is MediaFormat.WEBM


def test_huge_exif_and_icc_do_not_stop_hashing() -> None:
    exif = Image.Exif()
    exif[0x010E] = "x" * 60000  # ImageDescription
    data = samples.encode(samples.photo(), "JPEG", exif=exif, icc_profile=b"\x00" * 500_000)
    result = hash_media(data)
    assert result.outcome is Outcome.HASHED
    assert result.frames[0].pdq.distance(pdq_of(samples.photo())) <= 16


@pytest.mark.parametrize(
    ("orientation", "stored"), [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)]
)
def test_exif_orientation_is_applied(orientation: int, stored: Image.Transpose) -> None:
    seen = samples.photo()
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = samples.encode(seen.transpose(stored), "JPEG", exif=exif, quality=95)
    result = hash_media(data)
    assert result.frames[0].pdq.distance(pdq_of(seen)) <= 16
    assert result.frames[0].pdq.distance(pdq_of(seen.transpose(stored))) > 64


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    grey = np.asarray(samples.photo().convert("L"), dtype=np.uint16) * 257
    data = samples.encode(Image.fromarray(grey), "PNG")
    result = hash_media(data)
    assert result.frames[0].quality >= MIN_PDQ_QUALITY
    assert result.frames[0].pdq.distance(pdq_of(samples.photo().convert("L"))) <= 8


def test_hidden_colour_under_transparent_pixels_does_not_change_the_hash() -> None:
    base = samples.photo().convert("RGBA")
    alpha = Image.new("L", base.size, 255)
    alpha.paste(0, (0, 0, base.width // 2, base.height))
    base.putalpha(alpha)
    hidden = np.asarray(base).copy()
    hidden[:, : base.width // 2, :3] = np.asarray(samples.noise(base.size, 1))[:, : base.width // 2]
    plain = hash_media(samples.encode(base, "PNG")).frames[0].pdq
    tricked = hash_media(samples.encode(Image.fromarray(hidden, "RGBA"), "PNG")).frames[0].pdq
    assert plain == tricked
    shown = Image.alpha_composite(Image.new("RGBA", base.size, "white"), base)
    assert plain.distance(pdq_of(shown)) <= 8


def test_palette_with_transparency_is_composited_on_white() -> None:
    image = samples.photo().convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    image.info["transparency"] = 0
    result = hash_media(samples.encode(image, "PNG", transparency=0))
    expected = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    assert result.frames[0].pdq.distance(pdq_of(expected)) <= 8


def test_animation_with_a_decoy_first_frame_hashes_the_real_picture() -> None:
    decoy = samples.photo(2).resize((150, 100))
    real = samples.photo(4).resize(decoy.size)
    frames = [decoy] + [real] * 8
    data = samples.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40)
    result = hash_media(data)
    assert result.kind == "animation"
    target = pdq_of(real)
    assert min(f.pdq.distance(target) for f in result.frames) <= 31
    assert result.frames[0].pdq.distance(pdq_of(decoy)) <= 31


def test_scene_change_frame_is_sampled() -> None:
    frames = [samples.photo(1)] * 40
    frames[17] = samples.photo(9).resize(frames[0].size)  # a short shot between others
    data = samples.encode(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=False
    )
    result = hash_media(data)
    target = pdq_of(frames[17])
    assert min(f.pdq.distance(target) for f in result.frames) <= 31
    assert len(result.frames) == 2  # the held picture once, the shot once


def test_thousands_of_frames_are_all_looked_at_and_each_picture_hashed_once() -> None:
    data = samples.gif_with_frames(3000)  # four flat colours in turn, 20 ms each
    result = hash_media(data)
    assert result.outcome is Outcome.HASHED
    assert len(result.frames) == 4


def test_animation_over_the_frame_budget_could_not_finish_before_decoding() -> None:
    data = samples.gif_with_frames(3000)
    result = hash_media(data, DecodeLimits(max_frames=2999))
    assert result.outcome is Outcome.UNFINISHED
    assert "3,000 frames" in str(result.reason)


@pytest.mark.parametrize(
    ("container", "codec"),
    [
        ("mp4", "libx264"),
        ("mov", "libx264"),
        ("mp4", "libx265"),
        ("webm", "libvpx"),
        ("webm", "libvpx-vp9"),
        ("mp4", "libsvtav1"),
    ],
)
def test_video_is_sampled_at_least_once_a_second(container: str, codec: str) -> None:
    pictures = [
        samples.photo(1 + second).resize((160, 120)) for second in range(5) for _ in range(10)
    ]
    result = hash_media(samples.video(pictures, fps=10, container=container, codec=codec))
    assert result.outcome is Outcome.HASHED
    assert result.kind == "video"
    assert [round(f.time or 0) for f in result.frames] == [0, 1, 2, 3, 4]
    expected = pdq_of(samples.photo(3).resize((160, 120)))
    assert result.frames[2].pdq.distance(expected) <= 31


def test_a_mov_in_a_codec_the_bot_does_not_decode_is_refused_before_decoding() -> None:
    data = samples.video([samples.photo(1).resize((160, 120))] * 5, container="mov", codec="mpeg4")
    result = hash_media(data)
    assert result.outcome is Outcome.UNSUPPORTED
    assert "'mp4v'" in str(result.reason)


def test_moving_video_is_hashed_once_a_second_and_still_scenes_once() -> None:
    pan = samples.photo(4).resize((640, 120))
    moving = [pan.crop((4 * i, 0, 4 * i + 160, 120)) for i in range(100)]  # 10 s, always moving
    result = hash_media(samples.video(moving + [moving[-1]] * 50, fps=10))
    times = [f.time or 0 for f in result.frames]
    assert all(b - a <= 1.0 + 1e-6 for a, b in itertools.pairwise(times))
    assert times[-1] <= 10.5  # the five still seconds at the end are one picture


def test_video_over_the_hashed_picture_budget_could_not_finish() -> None:
    pictures = [samples.noise((32, 32), i // 2) for i in range(40)]  # 20 pictures, 1 s each
    result = hash_media(samples.video(pictures, fps=2), DecodeLimits(max_hashed_frames=6))
    assert result.outcome is Outcome.UNFINISHED
    assert "more than 6 different pictures" in str(result.reason)


def test_video_that_lies_about_its_duration_is_bounded_by_what_it_holds() -> None:
    data = bytearray(samples.video([samples.noise((32, 32), i) for i in range(30)], fps=10))
    mvhd = data.index(b"mvhd")
    struct.pack_into(">I", data, mvhd + 20, 0xFFFFFFFF)  # version 0: duration after timescale
    result = hash_media(bytes(data))
    assert result.outcome is Outcome.HASHED
    assert max(f.time or 0 for f in result.frames) < 3


def test_video_longer_than_it_declares_stops_at_the_length_cap() -> None:
    pictures = [samples.noise((32, 32), i % 3) for i in range(40)]
    result = hash_media(samples.video(pictures, fps=4), DecodeLimits(max_video_seconds=5.0))
    assert result.outcome is Outcome.UNFINISHED


def test_decoding_past_its_time_budget_could_not_finish_never_in_part() -> None:
    pictures = [samples.noise((64, 48), i) for i in range(40)]
    data = samples.video(pictures, fps=2)
    result = hash_media(data, DecodeLimits(work_seconds=0.0))
    assert result.outcome is Outcome.UNFINISHED
    assert result.frames == ()


def test_shared_palette_gif_frames_stay_palette_and_hide_no_picture() -> None:
    """A GIF with one palette (as ffmpeg and GIF sites make them) is read in palette mode
    after its first frame; a picture shown 150 ms among noise is still hashed."""
    listed = samples.photo(4).resize((160, 120))
    frames = [samples.noise(listed.size, seed) for seed in range(30)]
    frames.insert(20, listed)
    mosaic = Image.new("RGB", (160 * len(frames), 120))
    for n, frame in enumerate(frames):
        mosaic.paste(frame, (160 * n, 0))
    palette = mosaic.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    shared = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    durations = [30] * len(frames)
    durations[20] = 150
    data = samples.encode(
        shared[0],
        "GIF",
        save_all=True,
        append_images=shared[1:],
        duration=durations,
        palette=bytes(palette.getpalette() or []),
    )
    assert check_structure(data, DecodeLimits()).one_transparency  # the cheaper path is taken
    result = hash_media(data)
    target = pdq_of(listed)
    assert min(f.pdq.distance(target) for f in result.frames) <= 31


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")  # Pillow's, on bytes
@pytest.mark.parametrize("transparency", [0, bytes([255] * 7 + [0] + [128] * 8)])
def test_a_palette_frames_signature_is_that_of_what_a_viewer_sees(
    transparency: int | bytes,
) -> None:
    frame = samples.photo(2).resize((200, 150)).quantize(colors=16)
    frame.info["transparency"] = transparency
    cheap = _frame_signature(frame)
    shown = signature(viewable(frame, 512))
    assert np.abs(cheap.astype(np.int32) - shown).mean() <= 1.0
    assert np.abs(cheap.astype(np.int32) - signature(frame.convert("RGB"))).mean() > 1.0


def test_an_opaque_rgba_frame_and_a_transparent_one_are_seen_as_shown() -> None:
    picture = samples.photo(3).resize((200, 150)).convert("RGBA")
    assert np.array_equal(_frame_signature(picture), signature(picture.convert("RGB")))
    alpha = Image.new("L", picture.size, 255)
    alpha.paste(0, (0, 0, 100, 150))  # the left half clear: the white background shows
    half = picture.copy()
    half.putalpha(alpha)
    shown = Image.alpha_composite(Image.new("RGBA", half.size, "white"), half)
    difference = _frame_signature(half).astype(np.int32) - signature(shown.convert("RGB"))
    assert np.abs(difference).mean() <= 1.0


def test_a_gif_cannot_hide_a_picture_behind_a_transparent_index_named_before_it() -> None:
    """In palette mode Pillow keeps the first frame's transparent index for the whole canvas:
    a decoy naming index T, then the listed picture drawn with T opaque and shown for 10 s,
    would be hashed with holes where a browser shows colour. Such a file is read in RGB."""
    listed = samples.photo(4).resize((96, 72)).quantize(colors=4)
    hidden = int(np.bincount(np.asarray(listed).ravel()).argmax())
    assert (np.asarray(listed) == hidden).mean() > 0.3  # holes enough to move the hash far
    decoy = samples.noise(listed.size, 1).quantize(palette=listed, dither=Image.Dither.NONE)
    data = samples.gif_drawn([(decoy, 2, hidden), (listed, 1000, None)])
    result = hash_media(data)
    target = pdq_of(listed)
    assert min(f.pdq.distance(target) for f in result.frames) <= 8


@pytest.mark.parametrize(
    ("transparent", "one"),
    [
        ((None, None, None), True),
        ((3, 3, 3), True),
        ((None, 3, 5), True),  # the first frame's canvas has no transparent index to keep
        ((3, None, 3), False),
        ((3, 5, 3), False),
    ],
)
def test_a_gif_is_read_in_palette_mode_only_where_the_first_frames_transparency_holds(
    transparent: tuple[int | None, ...], one: bool
) -> None:
    picture = samples.photo(2).resize((16, 12)).quantize(colors=16)
    data = samples.gif_drawn([(picture, 10, index) for index in transparent])
    assert check_structure(data, DecodeLimits()).one_transparency is one
