"""Write a new migration: `python -m db.migrations revision "add report notes"`.

Autogenerates against a scratch SQLite database brought to head first, so the new revision holds
only what changed in db/schema.py. Read it before committing: autogenerate misses renames.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from db.migrations import alembic_config


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m db.migrations")
    parser.add_argument("action", choices=["revision"])
    parser.add_argument("message")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        with engine.begin() as connection:
            config = alembic_config(connection)
            command.upgrade(config, "head")
            command.revision(config, message=args.message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    main()
