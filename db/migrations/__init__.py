"""Alembic migrations, applied at start by `Database.open`.

No alembic.ini: the configuration is built here so that `python bot.py` migrates on its own.
To write a migration after changing `db/schema.py`, run `python -m db.migrations revision "what"`,
which autogenerates it against a scratch SQLite database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy.engine import Connection

SCRIPT_LOCATION = Path(__file__).resolve().parent


class MigrationError(RuntimeError):
    """The database's schema version is unknown to this code (e.g. a newer Lightstick wrote it)."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: Connection) -> None:
    try:
        command.upgrade(alembic_config(connection), "head")
    except CommandError as exc:
        raise MigrationError(
            f"{exc}. The database may have been written by a newer version of Lightstick."
        ) from exc
