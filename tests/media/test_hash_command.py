"""`python bot.py hash FILE...` prints the import format and fails clearly per bad file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import bot
from core.hashes import parse_hash
from tests.media import samples


def test_hash_command_prints_import_csv_with_one_line_per_video_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "known fake.jpg"
    image.write_bytes(samples.encode(samples.photo(2), "JPEG"))
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(
        samples.video([samples.photo(1 + i // 10).resize((160, 120)) for i in range(30)])
    )

    assert bot.main(["hash", str(image), str(clip)]) == 0

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["algorithm", "hash", "label"]
    assert [r["label"] for r in rows if r["algorithm"] == "pdq"] == [
        "known fake.jpg",
        "clip.mp4 at 0.0s",
        "clip.mp4 at 1.0s",
        "clip.mp4 at 2.0s",
    ]
    for row in rows:
        parsed = parse_hash(f"{row['algorithm']}:{row['hash']}")
        assert len(parsed.hex) == (64 if row["algorithm"] == "pdq" else 16)


def test_hash_command_reports_each_bad_file_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(samples.encode(samples.photo(3), "PNG"))
    bomb = tmp_path / "bomb.gif"
    bomb.write_bytes(samples.gif_declaring(13000, 13000))
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")

    code = bot.main(["hash", str(bomb), str(good), str(text), str(tmp_path / "missing.png")])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.count("good.png") == 2
    assert (
        "bomb.gif: crafted (refused as crafted or hostile): it declares 13000x13000" in captured.err
    )
    assert "notes.jpg: unsupported (unsupported or corrupt)" in captured.err
    assert "missing.png: can't read it" in captured.err
