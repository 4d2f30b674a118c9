"""The command line, run as a newcomer would: a real `python bot.py` process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = (
    "DISCORD_TOKEN",
    "DATABASE_URL",
    "LOG_LEVEL",
    "DEV_GUILD_ID",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY_URL",
    "DISCORD_CDN_BASE",
    "SHARD_COUNT",
    "SHARD_IDS",
    "HASH_WORKERS",
)


def run_bot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_token_explains_how_to_get_one_and_exits_non_zero(tmp_path: Path) -> None:
    result = run_bot(tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and "Reset Token" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing created before the token check


def test_token_in_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc\nDATABASE_URL=mysql://nope/x\n")
    result = run_bot(tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL 'mysql://nope/x' is not supported" in result.stderr


def test_unreachable_database_is_one_paragraph_not_a_traceback(tmp_path: Path) -> None:
    pytest.importorskip("asyncpg")
    result = run_bot(
        tmp_path, DISCORD_TOKEN="abc", DATABASE_URL="postgresql://postgres@127.0.0.1:1/x"
    )
    assert result.returncode == 1
    assert "can't reach or update the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_does_what_bot_py_does(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "lightstick"
    if not script.exists():
        pytest.skip("the project is not installed in this environment (pip install -e .)")
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    result = subprocess.run(
        [str(script)], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "DISCORD_TOKEN" in result.stderr


def test_readme_invite_link_asks_for_exactly_the_permissions_the_bot_needs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"permissions={bot.REQUIRED_PERMISSIONS.value}" in readme


def test_command_fingerprint_ignores_order_but_not_content() -> None:
    a = {"name": "rules", "type": 1, "description": "Show the rules"}
    b = {"name": "report", "type": 1, "description": "Report"}
    assert bot.command_fingerprint([a, b]) == bot.command_fingerprint([b, a])
    changed = {**a, "description": "Show the server rules"}
    assert bot.command_fingerprint([a, b]) != bot.command_fingerprint([changed, b])
