"""`python bot.py sandbox` runs the real bot against a local sandbox and narrates it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from sandbox.botprocess import BOT_SCRIPT, SCRUBBED_PREFIXES

pytestmark = pytest.mark.e2e


async def test_sandbox_demo_walks_through_connecting_and_answering(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BOT_SCRIPT),
        "sandbox",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    text = output.decode()
    assert process.returncode == 0, text
    assert "1. The bot connects" in text
    assert "Synced" in text and "/rules" in text
    assert "Lightstick (only minji sees it):" in text
    assert "Traceback" not in text
    assert text.rstrip().endswith("answering over HTTP and the gateway.")
