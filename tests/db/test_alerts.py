"""Match alerts about a member's profile picture: no message, which picture; the database
refuses an alert that is about both a message and a picture, or about neither."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.exc import IntegrityError

from core.hashes import Hash
from core.vocabulary import ProfilePicture
from db import alerts, takedowns
from db.alerts import NewAlert
from db.engine import Database
from db.takedowns import NewEntry

GUILD, MEMBER, MODERATOR = 4101, 4102, 4103
PDQ = Hash("pdq", "cd" * 32)


async def picture_alert(database: Database) -> NewAlert:
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((PDQ,), "leak"), source="hash", added_by=MODERATOR
        )
        own = await takedowns.get_own_list(conn, GUILD)
    return NewAlert(
        GUILD, None, None, MEMBER, entry.id, own.id, "pdq", 5, "takedown", False, PDQ, None,
        picture=str(ProfilePicture.SERVER_AVATAR),
    )  # fmt: skip


async def test_a_profile_picture_alert_names_the_picture_and_no_message(
    database: Database,
) -> None:
    new = await picture_alert(database)
    async with database.transaction() as conn:
        created = await alerts.create_alert(conn, new)
    async with database.connect() as conn:
        alert = await alerts.get_alert(conn, created.id)
    assert alert is not None
    assert alert.picture == "server_avatar" and alert.author_id == MEMBER
    assert alert.channel_id is None and alert.message_id is None


@pytest.mark.parametrize(
    "change",
    [
        {"channel_id": 9, "message_id": 100},  # a picture and a message
        {"picture": None},  # neither
        {"picture": "profile"},  # not a picture the bot knows
    ],
    ids=["both", "neither", "unknown picture"],
)
async def test_the_database_refuses_an_alert_about_both_or_neither(
    database: Database, change: dict[str, object]
) -> None:
    new = dataclasses.replace(await picture_alert(database), **change)
    with pytest.raises(IntegrityError):
        async with database.transaction() as conn:
            await alerts.create_alert(conn, new)
