"""GIF frames decoded by `media.gif._CodesDecoder` (`media/_gif.c`) against Pillow's decoder.

Pillow reads the blocks and composes the frames either way; only the LZW codes of each frame
are decoded by ours, so every frame must be Pillow's to the byte: files Pillow wrote (one
palette, a palette a frame, interlaced, transparency drawing over the last frame), streams made
here code by code (every code size, clear codes mid-frame, a full table kept without a clear
code, the string that repeats its own first byte, a last string running past the frame), with
both of the product's ways of loading frames. A frame that is not clean, and any damaged file,
must end as in Pillow: the same frames, or the same failure.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import GifImagePlugin, Image

from media import _gif, gif
from media.decode import decode_media
from tests.media.test_png import picture

PALETTE = bytes(np.random.default_rng(2).integers(0, 256, 768, dtype=np.uint8))
STRATEGIES = {
    "palette frames": GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY,
    "RGB frames": GifImagePlugin.LoadingStrategy.RGB_ALWAYS,
}


def lzw(
    indices: bytes, bits: int, *, clear_every: int = 0, clear_when_full: bool = True
) -> list[tuple[int, int]]:
    """GIF's LZW codes for `indices`, each with the size the decoder reads it at: a clear code
    first, another every `clear_every` codes (0: never), and when the table is full unless
    `clear_when_full` is False (the table is then kept as it is); the end code last."""
    clear, end = 1 << bits, (1 << bits) + 1
    out: list[tuple[int, int]] = []
    state = {}

    def reset() -> None:
        state.update(table={bytes([c]): c for c in range(clear)}, next=clear + 2)
        state.update(size=bits + 1, read=clear + 2, first=True, since=0)

    def emit(code: int) -> None:
        out.append((code, state["size"]))
        if state["first"]:  # the decoder adds no entry for the first code after a clear
            state["first"] = False
        elif state["read"] < 4096:
            if state["read"] == (1 << state["size"]) - 1 and state["size"] < 12:
                state["size"] += 1
            state["read"] += 1
        state["since"] += 1

    reset()
    out.append((clear, bits + 1))
    string = b""
    for value in indices:
        grown = string + bytes([value])
        if grown in state["table"]:
            string = grown
            continue
        emit(state["table"][string])
        if state["next"] < 4096:
            state["table"][grown] = state["next"]
            state["next"] += 1
        full = state["next"] >= 4096 and clear_when_full
        if full or (clear_every and state["since"] >= clear_every):
            out.append((clear, state["size"]))
            reset()
        string = bytes([value])
    if string:
        emit(state["table"][string])
    out.append((end, state["size"]))
    return out


def packed(codes: list[tuple[int, int]]) -> bytes:
    """Codes packed least significant bit first, in sub-blocks of up to 255 bytes, then the
    empty block."""
    value = bit = 0
    for code, size in codes:
        value |= code << bit
        bit += size
    data = value.to_bytes((bit + 7) // 8, "little")
    blocks = [
        bytes([len(part)]) + part for part in (data[i : i + 255] for i in range(0, len(data), 255))
    ]
    return b"".join(blocks) + b"\0"


def interlaced_rows(height: int) -> list[int]:
    return [*range(0, height, 8), *range(4, height, 8), *range(2, height, 4), *range(1, height, 2)]


def gif_file(size: tuple[int, int], frames: list[dict]) -> bytes:
    """A GIF of `frames`: each a dict with `pixels` (height x width indices), optional `box`
    (x, y), `bits` (8), `interlace`, `transparency`, `disposal`, `data` (the image data as
    written, replacing the codes of `pixels`) and `options` for `lzw`."""
    out = [b"GIF89a", struct.pack("<HHBBB", *size, 0xF7, 0, 0), PALETTE]
    out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")
    for frame in frames:
        pixels = frame["pixels"]
        height, width = pixels.shape
        transparency = frame.get("transparency")
        flags = (frame.get("disposal", 1) << 2) | (transparency is not None)
        out.append(struct.pack("<BBBBHBB", 0x21, 0xF9, 4, flags, 5, transparency or 0, 0))
        x, y = frame.get("box", (0, 0))
        interlace = frame.get("interlace", False)
        out.append(struct.pack("<BHHHHB", 0x2C, x, y, width, height, 0x40 * interlace))
        bits = frame.get("bits", 8)
        rows = interlaced_rows(height) if interlace else range(height)
        order = b"".join(pixels[row].tobytes() for row in rows)
        data = frame.get("data") or packed(lzw(order, bits, **frame.get("options", {})))
        out += [bytes([bits]), data]
    out.append(b";")
    return b"".join(out)


def frames_of(data: bytes, ours: bool, strategy: str = "palette frames") -> list | str:
    """Every frame's mode and pixels as Pillow composes them, its codes decoded by ours or by
    Pillow's (and with ours, the file left past each frame's data for the next seek); the
    exception's type when the file fails to load."""
    before = GifImagePlugin.LOADING_STRATEGY
    GifImagePlugin.LOADING_STRATEGY = STRATEGIES[strategy]
    try:
        image = Image.open(io.BytesIO(data))
        found = []
        for index in range(image.n_frames):
            image.seek(index)
            if ours:
                gif.decode_codes_ourselves(image)
            image.load()
            if ours:
                gif.past_frame_data(image)
            found.append((image.mode, image.tobytes()))
        return found
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as exc:
        return type(exc).__name__
    finally:
        GifImagePlugin.LOADING_STRATEGY = before


def indices(width: int, height: int, seed: int, colours: int = 256) -> np.ndarray:
    """A photo's grey levels folded into `colours` indices: runs and edges, as in real GIFs."""
    grey = picture(width, height, "L", seed)[:, :, 0].astype(np.int32)
    return (grey * colours // 256).astype(np.uint8)


def assert_same(data: bytes) -> None:
    for strategy in STRATEGIES:
        ours = frames_of(data, True, strategy)
        assert ours == frames_of(data, False, strategy), strategy


@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("interlace", [False, True])
def test_every_code_size_is_pillows_frame(bits: int, interlace: bool) -> None:
    pixels = indices(70, 45, bits, 1 << bits)
    data = gif_file((70, 45), [{"pixels": pixels, "bits": bits, "interlace": interlace}])
    assert isinstance(frames_of(data, True), list)
    assert_same(data)
    rows = interlaced_rows(45) if interlace else range(45)
    codes = packed(lzw(b"".join(pixels[row].tobytes() for row in rows), bits))
    assert decoded_alone(codes, bits, pixels, interlace)


def decoded_alone(data: bytes, bits: int, pixels: np.ndarray, interlace: bool = False) -> bool:
    """Whether the compiled part alone decodes the frame to `pixels` (no help from Pillow)."""
    height, width = pixels.shape
    status, found, mask = _gif.lzw(data, bits, width, height, interlace, -1)
    return status == 0 and found == pixels.tobytes() and mask is None


@pytest.mark.parametrize(
    "options",
    [
        {"clear_every": 37},  # clear codes mid-frame
        {"clear_when_full": False},  # the table full, kept as it is (no clear code)
        {"clear_when_full": True},
    ],
)
def test_clear_codes_and_a_full_table(options: dict) -> None:
    noise = np.random.default_rng(4).integers(0, 256, (120, 200), dtype=np.uint8)
    data = gif_file((200, 120), [{"pixels": noise, "options": options}])
    assert_same(data)
    assert decoded_alone(packed(lzw(noise.tobytes(), 8, **options)), 8, noise)


def test_a_string_of_its_own_first_byte_and_long_runs() -> None:
    """Runs of one index make each code the last one and its own first byte (the code the
    table does not hold yet), and strings longer than the 16-byte copy."""
    runs = np.zeros((60, 300), np.uint8)
    runs[:, 150:] = 7
    runs[30:, :] = np.arange(300) // 40
    assert_same(gif_file((300, 60), [{"pixels": runs}]))
    assert decoded_alone(packed(lzw(runs.tobytes(), 8)), 8, runs)


def test_a_last_string_running_past_the_frame_is_cut_as_pillow_cuts_it() -> None:
    """Codes for more pixels than the frame holds: the frame is full partway through a string."""
    pixels = np.full((10, 10), 3, np.uint8)
    longer = np.full(150, 3, np.uint8).tobytes()
    data = gif_file((10, 10), [{"pixels": pixels, "data": packed(lzw(longer, 8))}])
    assert_same(data)
    assert decoded_alone(packed(lzw(longer, 8)), 8, pixels)


def test_frames_over_parts_of_the_canvas_with_transparency_and_disposal() -> None:
    """Later frames over parts of the canvas, their transparent index leaving the canvas as it
    was (drawn by ours with a mask), each disposal method."""
    frames = [{"pixels": indices(90, 70, 1)}]
    for number, (box, disposal) in enumerate([((10, 5), 1), ((0, 30), 2), ((33, 17), 3)]):
        pixels = indices(50, 35, 2 + number)
        pixels[::3, ::2] = 9  # the transparent index
        frames.append({"pixels": pixels, "box": box, "transparency": 9, "disposal": disposal})
    data = gif_file((90, 70), frames)
    assert len(frames_of(data, True)) == 4
    assert_same(data)


@pytest.mark.parametrize("kind", ["one palette", "a palette a frame", "grey"])
def test_pillows_own_files(kind: str) -> None:
    """Files Pillow's encoder wrote (interlaced, and frames cropped to what changed)."""
    base = Image.fromarray(picture(160, 120, "RGB", 5))
    frames = [base.rotate(angle) for angle in (0, 2, 4, 6, 8)]
    if kind == "one palette":
        palette = frames[0].quantize(colors=200)
        frames = [frame.quantize(palette=palette) for frame in frames]
    elif kind == "grey":
        frames = [frame.convert("L") for frame in frames]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=80)
    data = buffer.getvalue()
    assert_same(data)
    assert decode_media(data).kind == "animation"


def test_frames_that_are_not_clean_end_as_in_pillow() -> None:
    """An end code before the frame is full (Pillow reads on past the frame's data), an empty
    block first, a code the table does not hold, a file cut short, a frame of more clear codes
    than a clean frame's data could hold (read on in steps): the same frames or failure."""
    pixels = indices(60, 40, 7)
    order = pixels.tobytes()
    whole = lzw(order, 8)
    early_end = packed([*whole[: len(whole) // 2], whole[-1]])
    bad_code = packed([*whole[:50], (4000, whole[50][1]), *whole[51:]])
    cleared = packed([(256, 9)] * 5000 + whole)
    cases = {
        "early end": gif_file((60, 40), [{"pixels": pixels, "data": early_end}] * 2),
        "empty block": gif_file((60, 40), [{"pixels": pixels, "data": b"\0" + packed(whole)}]),
        "bad code": gif_file((60, 40), [{"pixels": pixels, "data": bad_code}]),
        "cut short": gif_file((60, 40), [{"pixels": pixels}])[:-300],
        "many clear codes": gif_file((60, 40), [{"pixels": pixels, "data": cleared}]),
    }
    for name, data in cases.items():
        for strategy in STRATEGIES:
            ours = frames_of(data, True, strategy)
            assert ours == frames_of(data, False, strategy), (name, strategy)
    assert isinstance(frames_of(cases["many clear codes"], True), list)


def test_the_next_seek_starts_past_the_frames_data() -> None:
    """Pillow's next seek would read the frame's data again to find its end: it is found in
    one call instead, where Pillow's loop would stop (the same frames follow, above)."""
    frames = [{"pixels": indices(60, 40, 3)}, {"pixels": indices(60, 40, 4)}]
    data = gif_file((60, 40), frames)
    image = Image.open(io.BytesIO(data))
    image.load()
    start = image._GifImageFile__offset  # where Pillow would read the frame's data again
    assert start > 0
    gif.past_frame_data(image)
    assert image._GifImageFile__offset == 0
    assert data[image._fp.tell() - 1] == 0  # just past the frame's empty block
    assert data[image._fp.tell() : image._fp.tell() + 2] == b"\x21\xf9"  # the next frame's
    assert _gif.blocks_end(data[:start] + b"\x05abc", start) == start + 4  # cut short: the end


def test_damaged_files_end_as_they_do_in_pillow() -> None:
    """Bytes flipped anywhere in a GIF, or in its codes' data: frame for frame the same
    pictures, or the same failure."""
    rng = np.random.default_rng(31)
    frames = [{"pixels": indices(60, 40, 3)}, {"pixels": indices(30, 20, 4), "box": (5, 5)}]
    frames[1]["transparency"] = 2
    clean = gif_file((60, 40), frames)
    loaded = 0
    for case in range(300):
        data = bytearray(clean)
        start = 800 if case % 2 else 13  # the image data only, or anywhere after the header
        for where in rng.integers(start, len(data), int(rng.integers(1, 4))):
            data[where] = int(rng.integers(0, 256))
        ours = frames_of(bytes(data), True)
        assert ours == frames_of(bytes(data), False), case
        loaded += isinstance(ours, list)
    assert loaded > 100


@pytest.mark.parametrize(
    "args",
    [
        (b"\x01\x00\x00", 9, 10, 10, False, -1),  # no GIF code size past 8
        (b"\x01\x00\x00", 1, 10, 10, False, -1),
        (b"\x01\x00\x00", 8, 0, 10, False, -1),
    ],
)
def test_the_compiled_part_refuses_what_doesnt_fit(args: tuple) -> None:
    with pytest.raises(ValueError):
        _gif.lzw(*args)
