"""Rules keep positions 1..n with no gaps through add, move and remove; posts are remembered."""

from __future__ import annotations

import pytest

from db import rules
from db.engine import Database
from db.rules import RuleNotFound

GUILD = 5001


async def titles(database: Database) -> list[tuple[int, str]]:
    async with database.connect() as conn:
        return [(rule.position, rule.title) for rule in await rules.list_rules(conn, GUILD)]


async def test_rules_are_added_in_order_and_inserted_in_place(database: Database) -> None:
    async with database.transaction() as conn:
        await rules.add_rule(conn, GUILD, "Be kind", "No hate.")
        await rules.add_rule(conn, GUILD, "No leaks", "")
        inserted = await rules.add_rule(conn, GUILD, "No deepfakes", "Ever.", position=1)
        await rules.add_rule(conn, GUILD, "Last", "", position=99)
    assert inserted.position == 1 and inserted.body == "Ever."
    assert await titles(database) == [
        (1, "No deepfakes"),
        (2, "Be kind"),
        (3, "No leaks"),
        (4, "Last"),
    ]


async def test_edit_changes_only_what_is_given(database: Database) -> None:
    async with database.transaction() as conn:
        await rules.add_rule(conn, GUILD, "Be kind", "No hate.")
        edited = await rules.edit_rule(conn, GUILD, 1, body="No hate, no harassment.")
    assert (edited.title, edited.body) == ("Be kind", "No hate, no harassment.")


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (1, 3, ["B", "C", "A", "D"]),
        (4, 2, ["A", "D", "B", "C"]),
        (2, 2, ["A", "B", "C", "D"]),
        (1, 50, ["B", "C", "D", "A"]),
    ],
)
async def test_move_renumbers_the_rules_between(
    database: Database, source: int, target: int, expected: list[str]
) -> None:
    async with database.transaction() as conn:
        for title in "ABCD":
            await rules.add_rule(conn, GUILD, title, "")
        await rules.move_rule(conn, GUILD, source, target)
    assert await titles(database) == list(enumerate(expected, start=1))


async def test_remove_closes_the_gap(database: Database) -> None:
    async with database.transaction() as conn:
        for title in "ABC":
            await rules.add_rule(conn, GUILD, title, "")
        removed = await rules.remove_rule(conn, GUILD, 2)
    assert removed.title == "B"
    assert await titles(database) == [(1, "A"), (2, "C")]


async def test_unknown_rule_numbers_are_refused(database: Database) -> None:
    async with database.transaction() as conn:
        await rules.add_rule(conn, GUILD, "A", "")
        for action in (
            rules.get_rule(conn, GUILD, 2),
            rules.edit_rule(conn, GUILD, 0, title="x"),
            rules.remove_rule(conn, GUILD, 5),
            rules.move_rule(conn, GUILD, 3, 1),
        ):
            with pytest.raises(RuleNotFound):
                await action


async def test_posted_messages_are_remembered_per_channel(database: Database) -> None:
    async with database.transaction() as conn:
        await rules.save_post(conn, GUILD, channel_id=10, message_id=100)
        await rules.save_post(conn, GUILD, channel_id=10, message_id=101)
        await rules.save_post(conn, GUILD, channel_id=11, message_id=200)
        await rules.forget_post(conn, GUILD, 11)
    async with database.connect() as conn:
        posts = await rules.list_posts(conn, GUILD)
    assert [(p.channel_id, p.message_id) for p in posts] == [(10, 101)]
