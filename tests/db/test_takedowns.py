"""Takedown lists: entries with their hashes, sharing, subscriptions, the index feed."""

from __future__ import annotations

import random

import pytest
from sqlalchemy.exc import IntegrityError

from core.hash_lists import parse_hash_list
from core.hashes import Hash
from db import takedowns
from db.engine import Database
from db.takedowns import NewEntry

GUILD = 3001
SUBSCRIBER = 3002


def random_pdq(rng: random.Random) -> Hash:
    return Hash("pdq", f"{rng.getrandbits(256):064x}")


def random_phash(rng: random.Random) -> Hash:
    return Hash("phash", f"{rng.getrandbits(64):016x}")


async def test_entry_is_added_with_hashes_and_variants(database: Database) -> None:
    rng = random.Random(1)
    own, variant = random_pdq(rng), random_pdq(rng)
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn,
            GUILD,
            NewEntry(hashes=(own, random_phash(rng)), label="fake of A", variants=(variant,)),
            source="upload",
            added_by=42,
        )
    async with database.connect() as conn:
        found = await takedowns.get_entry(conn, GUILD, entry.id)
        indexed = list((await takedowns.indexed_hash_columns(conn)).hashes())
    assert found == entry
    assert (entry.label, entry.source, entry.added_by, entry.enabled) == (
        "fake of A",
        "upload",
        42,
        True,
    )
    assert entry.hashes[0] == own and len(entry.hashes) == 2
    assert {value for _, _, value in indexed} == {*entry.hashes, variant}
    assert {entry_id for entry_id, _, _ in indexed} == {entry.id}


async def test_an_entry_keeps_its_quarters_as_variants_for_the_index(database: Database) -> None:
    rng = random.Random(2)
    quarters = tuple(Hash("pdq_region", random_pdq(rng).hex) for _ in range(4))
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn,
            GUILD,
            NewEntry((random_pdq(rng),), variants=quarters),
            source="upload",
            added_by=1,
        )
    async with database.connect() as conn:
        indexed = list((await takedowns.indexed_hash_columns(conn)).hashes())
    assert {value for _, _, value in indexed if value.algorithm == "pdq_region"} == set(quarters)
    assert all(h.algorithm == "pdq" for h in entry.hashes)  # never the entry's own hashes


async def test_another_guild_cannot_read_or_remove_an_entry(database: Database) -> None:
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry(hashes=(random_pdq(random.Random(2)),)), source="hash", added_by=1
        )
    async with database.transaction() as conn:
        assert await takedowns.get_entry(conn, SUBSCRIBER, entry.id) is None
        assert await takedowns.remove_entry(conn, SUBSCRIBER, entry.id) is False
        credit = await takedowns.entry_credit(conn, entry.id)  # an alert may still name it
        assert credit is not None and credit.owner_guild_id == GUILD


async def test_list_filters_by_label_and_pages(database: Database) -> None:
    rng = random.Random(3)
    async with database.transaction() as conn:
        await takedowns.add_entries(
            conn,
            GUILD,
            [
                NewEntry(hashes=(random_pdq(rng),), label=f"{'Idol' if i % 2 else 'other'} {i}")
                for i in range(9)
            ],
            source="import",
            added_by=1,
        )
    async with database.connect() as conn:
        first = await takedowns.list_entries(conn, GUILD, label_contains="idol", limit=3)
        rest = await takedowns.list_entries(conn, GUILD, label_contains="idol", limit=3, offset=3)
        idol_count = await takedowns.count_entries(conn, GUILD, label_contains="IDOL")
        everything = [entry async for entry in takedowns.iter_all_entries(conn, GUILD)]
    assert [e.label for e in first] == ["Idol 7", "Idol 5", "Idol 3"]
    assert [e.label for e in rest] == ["Idol 1"]
    assert idol_count == 4
    assert len(everything) == 9 and everything[0].label == "other 0"


async def test_label_filter_treats_wildcards_literally(database: Database) -> None:
    rng = random.Random(4)
    async with database.transaction() as conn:
        await takedowns.add_entries(
            conn,
            GUILD,
            [NewEntry((random_pdq(rng),), "100% fake"), NewEntry((random_pdq(rng),), "1000 fake")],
            source="import",
            added_by=1,
        )
    async with database.connect() as conn:
        assert await takedowns.count_entries(conn, GUILD, label_contains="0%") == 1


async def test_existing_hashes_are_found_for_duplicate_checks(database: Database) -> None:
    rng = random.Random(5)
    known, variant, new = random_pdq(rng), random_pdq(rng), random_pdq(rng)
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((known,), variants=(variant,)), source="hash", added_by=1
        )
    async with database.connect() as conn:
        found = await takedowns.find_existing_hashes(conn, GUILD, [known, variant, new])
        elsewhere = await takedowns.find_existing_hashes(conn, SUBSCRIBER, [known])
    assert found == {known: entry.id}
    assert elsewhere == {}


async def test_an_entry_credit_names_its_label_adder_and_the_server_whose_list_it_is_on(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn,
            GUILD,
            NewEntry((random_pdq(random.Random(5)),), "fake of B", label_shareable=True),
            source="hash",
            added_by=77,
        )
        removed = await takedowns.add_entry(
            conn, GUILD, NewEntry((random_pdq(random.Random(55)),)), source="hash", added_by=1
        )
        await takedowns.remove_entry(conn, GUILD, removed.id)
    async with database.connect() as conn:
        credit = await takedowns.entry_credit(conn, entry.id)
        assert await takedowns.entry_credit(conn, removed.id) is None
    assert credit == takedowns.EntryCredit(entry.id, "fake of B", True, 77, GUILD)


async def test_removed_entry_and_its_hashes_are_gone(database: Database) -> None:
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((random_pdq(random.Random(6)),)), source="hash", added_by=1
        )
        assert await takedowns.remove_entry(conn, GUILD, entry.id) is True
        assert await takedowns.remove_entry(conn, GUILD, entry.id) is False
    async with database.connect() as conn:
        assert await takedowns.get_entry(conn, GUILD, entry.id) is None
        assert len(await takedowns.indexed_hash_columns(conn)) == 0


async def test_match_count_grows(database: Database) -> None:
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((random_pdq(random.Random(7)),)), source="hash", added_by=1
        )
        await takedowns.record_match(conn, entry.id)
        await takedowns.record_match(conn, entry.id)
        found = await takedowns.get_entry(conn, GUILD, entry.id)
    assert found is not None and found.match_count == 2


async def test_sharing_gives_a_stable_code_and_private_lists_are_not_found(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        private = await takedowns.get_own_list(conn, GUILD)
        shared = await takedowns.set_shared(conn, GUILD, True)
        again = await takedowns.set_shared(conn, GUILD, True)
    assert private.share_code is None and shared.shared
    assert shared.share_code and again.share_code == shared.share_code
    async with database.connect() as conn:
        assert await takedowns.list_owner(conn, private.id) == GUILD
        assert await takedowns.list_owner(conn, private.id + 1000) is None
    async with database.transaction() as conn:
        assert await takedowns.get_list_by_code(conn, shared.share_code) == shared
        await takedowns.set_shared(conn, GUILD, False)
        assert await takedowns.get_list_by_code(conn, shared.share_code) is None


async def test_subscription_is_created_changed_and_removed(database: Database) -> None:
    async with database.transaction() as conn:
        publisher = await takedowns.set_shared(conn, GUILD, True)
        first = await takedowns.subscribe(conn, SUBSCRIBER, publisher.id, "flag", created_by=9)
        changed = await takedowns.subscribe(conn, SUBSCRIBER, publisher.id, "remove", 9)
        listed = await takedowns.subscribed_lists(conn, SUBSCRIBER)
        assert await takedowns.unsubscribe(conn, SUBSCRIBER, publisher.id) is True
        assert await takedowns.subscribed_lists(conn, SUBSCRIBER) == []
    assert first.action == "flag" and changed.action == "remove" and changed.id == first.id
    assert [subscription for subscription, _ in listed] == [changed]


async def test_bad_subscription_action_is_refused_by_the_database(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.transaction() as conn:
            publisher = await takedowns.get_own_list(conn, GUILD)
            await takedowns.subscribe(conn, SUBSCRIBER, publisher.id, "burn", created_by=9)


async def test_bulk_add_of_thousands_keeps_order_and_hashes(database: Database) -> None:
    rng = random.Random(8)
    entries = [NewEntry((random_pdq(rng),), f"item {i}") for i in range(3000)]
    async with database.transaction() as conn:
        ids = await takedowns.add_entries(conn, GUILD, entries, source="import", added_by=1)
    async with database.connect() as conn:
        columns = await takedowns.indexed_hash_columns(conn)
        indexed = {entry_id: value for entry_id, _, value in columns.hashes()}
        sample = await takedowns.get_entry(conn, GUILD, ids[1234])
    assert len(ids) == 3000 and ids == sorted(ids)
    assert indexed[ids[0]] == entries[0].hashes[0]
    assert sample is not None and sample.label == "item 1234"


async def test_subscriptions_are_listed_with_their_lists_even_when_no_longer_shared(
    database: Database,
) -> None:
    rng = random.Random(9)
    async with database.transaction() as conn:
        publisher = await takedowns.set_shared(conn, GUILD, True)
        await takedowns.add_entries(
            conn, GUILD, [NewEntry((random_pdq(rng),)) for _ in range(3)], source="hash", added_by=1
        )
        subscription = await takedowns.subscribe(conn, SUBSCRIBER, publisher.id, "flag", 9)
        await takedowns.set_shared(conn, GUILD, False)
    assert publisher.share_code is not None
    async with database.connect() as conn:
        (listed,) = await takedowns.subscribed_lists(conn, SUBSCRIBER)
        size = await takedowns.count_list_entries(conn, publisher.id)
        hidden = await takedowns.get_list_by_code(conn, publisher.share_code)
        found = await takedowns.get_list_by_code(conn, publisher.share_code, shared_only=False)
    assert listed[0] == subscription
    assert listed[1].id == publisher.id and listed[1].share_code == publisher.share_code
    assert listed[1].shared is False
    assert size == 3 and hidden is None and found is not None and found.id == publisher.id


async def test_an_import_adds_one_entry_a_line_and_reports_duplicates(database: Database) -> None:
    rng = random.Random(10)
    known, first, second = random_pdq(rng), random_pdq(rng), random_phash(rng)
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((known,)), source="hash", added_by=1
        )
    text = (
        "algorithm,hash,label\n"
        f"pdq,{first.hex},fake A\n"
        f"pdq,{known.hex},already there\n"
        f"phash,{second.hex},\n"
        f"pdq,{first.hex},again\n"
    )
    parsed = parse_hash_list(text.encode())
    async with database.transaction() as conn:
        result = await takedowns.import_list(conn, GUILD, parsed, added_by=7)
    assert [(d.line, d.entry_id, d.first_line) for d in result.duplicates] == [
        (3, entry.id, None),
        (5, None, 2),
    ]
    async with database.connect() as conn:
        added = [await takedowns.get_entry(conn, GUILD, i) for i in result.entry_ids]
    assert [(e.hashes, e.label, e.source, e.added_by) for e in added if e] == [
        ((first,), "fake A", "import", 7),
        ((second,), "", "import", 7),
    ]


async def test_a_list_with_problems_is_never_imported(database: Database) -> None:
    parsed = parse_hash_list(b"algorithm,hash,label\npdq,123,x\n")
    with pytest.raises(ValueError, match="must not be imported"):
        async with database.transaction() as conn:
            await takedowns.import_list(conn, GUILD, parsed, added_by=7)


async def test_duplicates_are_found_among_more_hashes_than_a_statement_takes_parameters(
    database: Database,
) -> None:
    rng = random.Random(11)
    listed = [random_pdq(rng) for _ in range(35_000)] + [random_phash(rng) for _ in range(5)]
    async with database.transaction() as conn:
        ids = await takedowns.add_entries(
            conn, GUILD, [NewEntry((h,)) for h in listed], source="import", added_by=1
        )
    asked = [*listed[::1000], random_pdq(rng), random_phash(rng), *listed[-5:]]
    asked += [random_pdq(rng) for _ in range(35_000)]  # past SQLite's 32,766 bound parameters
    async with database.connect() as conn:
        found = await takedowns.find_existing_hashes(conn, GUILD, asked)
        elsewhere = await takedowns.find_existing_hashes(conn, SUBSCRIBER, asked)
    position = {h: n for n, h in enumerate(listed)}
    assert found == {h: ids[position[h]] for h in asked if h in position}
    assert len(found) == 40 and elsewhere == {}


async def test_entries_added_after_a_bulk_add_and_a_removal_get_fresh_ids_and_keep_labels(
    database: Database,
) -> None:
    rng = random.Random(12)
    async with database.transaction() as conn:
        first = await takedowns.add_entries(
            conn, GUILD, [NewEntry((random_pdq(rng),)) for _ in range(3)], source="hash", added_by=1
        )
        other = await takedowns.add_entry(
            conn, SUBSCRIBER, NewEntry((random_pdq(rng),)), source="hash", added_by=2
        )
        assert await takedowns.remove_entry(conn, SUBSCRIBER, other.id)
    labels = ["아이돌 딥페이크 😢", 'quote " backslash \\ tab \t']
    async with database.transaction() as conn:
        later = await takedowns.add_entries(
            conn,
            GUILD,
            [NewEntry((random_pdq(rng),), label) for label in labels],
            source="hash",
            added_by=1,
        )
    async with database.connect() as conn:
        entries = [await takedowns.get_entry(conn, GUILD, i) for i in [*first, *later]]
    assert first == sorted(first) and later == sorted(later) and later[0] > first[-1]
    assert len(set(first + later)) == 5 and all(e is not None for e in entries)
    assert [e.label for e in entries[3:] if e] == labels
