"""What is read before any decoder runs: AVIF, animated WebP and video containers are vetted
from their own boxes and chunks, and display times are what a browser shows."""

from __future__ import annotations

import struct

import pytest

from media.decode import shown_for
from media.formats import DecodeLimits, MediaFormat, sniff_format
from media.hashing import hash_media
from media.outcomes import Outcome
from media.preview import blurred_preview
from tests.media import samples


def avif() -> bytes:
    return samples.encode(samples.photo(4).resize((200, 150)), "AVIF", speed=10)


def test_avif_is_recognised_and_hashed() -> None:
    data = avif()
    assert sniff_format(data) is MediaFormat.AVIF
    result = hash_media(data)
    assert result.outcome is Outcome.HASHED and result.format == "avif"


def test_avif_declaring_a_huge_size_is_refused_as_crafted_before_decoding() -> None:
    data = bytearray(avif())
    ispe = data.index(b"ispe")
    struct.pack_into(">II", data, ispe + 8, 13000, 13000)  # after version and flags
    result = hash_media(bytes(data))
    assert result.outcome is Outcome.CRAFTED
    assert "13000x13000" in str(result.reason)


def test_heic_is_not_taken_for_a_video() -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    assert sniff_format(heic) is None
    assert hash_media(heic).outcome is Outcome.UNSUPPORTED


def animated_webp(frames: int) -> bytes:
    pictures = [samples.noise((64, 48), n) for n in range(frames)]
    return samples.encode(
        pictures[0], "WEBP", save_all=True, append_images=pictures[1:], duration=50
    )


def test_animated_webp_over_the_frame_budget_could_not_finish_before_decoding() -> None:
    result = hash_media(animated_webp(12), DecodeLimits(max_frames=11))
    assert result.outcome is Outcome.UNFINISHED
    assert "12 frames" in str(result.reason)


def test_animated_webp_frame_larger_than_the_caps_is_refused_as_crafted() -> None:
    data = bytearray(animated_webp(3))
    frame = data.index(b"ANMF")
    data[frame + 14 : frame + 17] = (20000 - 1).to_bytes(3, "little")  # the frame's width
    result = hash_media(bytes(data))
    assert result.outcome is Outcome.CRAFTED


def test_webm_in_a_codec_the_bot_does_not_decode_is_refused_before_decoding() -> None:
    pictures = [samples.photo(1).resize((64, 48))] * 3
    data = samples.video(pictures, container="webm", codec="libvpx-vp9")
    assert data.count(b"V_VP9") == 1
    result = hash_media(data.replace(b"V_VP9", b"V_XYZ"))
    assert result.outcome is Outcome.UNSUPPORTED
    assert "'V_XYZ'" in str(result.reason)


@pytest.mark.parametrize(
    ("milliseconds", "seconds"), [(None, 0.1), (0, 0.1), (10, 0.1), (20, 0.02), (2500, 2.5)]
)
def test_frames_asking_for_10_ms_or_less_are_shown_for_100_ms(
    milliseconds: float | None, seconds: float
) -> None:
    assert shown_for(milliseconds) == seconds


def test_a_video_preview_is_its_first_picture_without_sampling_the_rest() -> None:
    data = samples.video([samples.photo(1).resize((160, 120))] * 20)
    assert blurred_preview(data) is not None
    assert blurred_preview(samples.gif_declaring(13000, 13000)) is None
