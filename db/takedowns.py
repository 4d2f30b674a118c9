"""Takedown lists: a guild's own list, the lists it subscribes to, and their entries.

A list holds hashes only, never media. An entry is one known abusive image or video: one or more
hashes (a video's frames; the extra crops and rotations computed when it was added from an
image), a label, and who added it. Removing an entry deletes its hashes, so a withdrawal reaches
every subscriber at once: they match against the publisher's rows, not copies.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from core.hash_lists import ListLine, ParsedList
from core.hashes import Hash, IndexRows
from db import bulk, entry_signatures, takedown_changes
from db.schema import entry_hashes, hash_lists, subscriptions, takedown_entries
from db.upsert import upsert

SHARE_CODE_BYTES = 9  # 12 url-safe characters: unguessable, short enough to paste on a phone


@dataclass(frozen=True, slots=True)
class HashList:
    id: int
    owner_guild_id: int
    share_code: str | None
    shared: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TakedownEntry:
    id: int
    list_id: int
    label: str
    label_shareable: bool
    source: str
    added_by: int | None
    added_at: datetime
    enabled: bool
    match_count: int
    hashes: tuple[Hash, ...]  # the entry's own hashes (frames included), variants excluded


@dataclass(frozen=True, slots=True)
class EntryCredit:
    """What a post about a match may say of its entry: the label, whether other servers may see
    it, who added it, and which server's list it is on."""

    id: int
    label: str
    label_shareable: bool
    added_by: int | None
    owner_guild_id: int


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to add: its hashes, the extra variant hashes, and a label."""

    hashes: tuple[Hash, ...]
    label: str = ""
    variants: tuple[Hash, ...] = ()
    label_shareable: bool = False
    signature: bytes | None = None  # a still image's local features (`db.entry_signatures`)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    guild_id: int
    list_id: int
    action: str
    created_by: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A line of an imported file that was not added: its hash is on the list or in the file."""

    line: int
    entry_id: int | None = None  # already on the list as this entry
    first_line: int | None = None  # or: an earlier line of the same file has it


@dataclass(frozen=True, slots=True)
class ImportResult:
    entry_ids: tuple[int, ...]
    duplicates: tuple[Duplicate, ...]  # in file order


def _list(row: RowMapping) -> HashList:
    return HashList(**row)


async def get_own_list(conn: AsyncConnection, guild_id: int) -> HashList:
    """The guild's own list, created on first use."""
    await conn.execute(
        upsert(conn, hash_lists, {"owner_guild_id": guild_id}, keys=("owner_guild_id",), update={})
    )
    row = (
        (await conn.execute(select(hash_lists).where(hash_lists.c.owner_guild_id == guild_id)))
        .mappings()
        .one()
    )
    return _list(row)


async def list_owner(conn: AsyncConnection, list_id: int) -> int | None:
    """The guild that owns the list, or None when there is no such list."""
    return await conn.scalar(select(hash_lists.c.owner_guild_id).where(hash_lists.c.id == list_id))


async def get_list_by_code(
    conn: AsyncConnection, share_code: str, *, shared_only: bool = True
) -> HashList | None:
    """The list with this share code; one no longer shared only when `shared_only` is False."""
    query = select(hash_lists).where(hash_lists.c.share_code == share_code.strip())
    if shared_only:
        query = query.where(hash_lists.c.shared.is_(True))
    row = (await conn.execute(query)).mappings().first()
    return _list(row) if row else None


async def count_list_entries(conn: AsyncConnection, list_id: int) -> int:
    query = select(func.count()).where(takedown_entries.c.list_id == list_id)
    return (await conn.scalar(query)) or 0


async def enabled_entry_ids(conn: AsyncConnection, list_id: int) -> list[int]:
    """The ids of a list's entries that match (enabled), oldest first: what a new subscriber
    sweeps its recent posts for."""
    query = (
        select(takedown_entries.c.id)
        .where(takedown_entries.c.list_id == list_id, takedown_entries.c.enabled.is_(True))
        .order_by(takedown_entries.c.id)
    )
    return list(await conn.scalars(query))


async def subscribed_lists(
    conn: AsyncConnection, guild_id: int
) -> list[tuple[Subscription, HashList]]:
    """The guild's subscriptions with the lists they are to, oldest first."""
    rows = await conn.execute(
        select(subscriptions, hash_lists.c.owner_guild_id, hash_lists.c.share_code)
        .add_columns(hash_lists.c.shared, hash_lists.c.created_at.label("list_created_at"))
        .join(hash_lists, hash_lists.c.id == subscriptions.c.list_id)
        .where(subscriptions.c.guild_id == guild_id)
        .order_by(subscriptions.c.id)
    )
    found = []
    for row in rows.mappings():
        subscription = Subscription(**{c.name: row[c.name] for c in subscriptions.c})
        hash_list = HashList(
            id=row["list_id"],
            owner_guild_id=row["owner_guild_id"],
            share_code=row["share_code"],
            shared=row["shared"],
            created_at=row["list_created_at"],
        )
        found.append((subscription, hash_list))
    return found


async def set_shared(conn: AsyncConnection, guild_id: int, shared: bool) -> HashList:
    """Make the guild's list subscribable (keeping its code across off/on) or private."""
    own = await get_own_list(conn, guild_id)
    code = own.share_code or secrets.token_urlsafe(SHARE_CODE_BYTES)
    await conn.execute(
        update(hash_lists).where(hash_lists.c.id == own.id).values(shared=shared, share_code=code)
    )
    if own.shared != shared:
        await takedown_changes.record_scope_change(conn, None)  # subscribers' scopes change
    return await get_own_list(conn, guild_id)


async def rotate_share_code(conn: AsyncConnection, guild_id: int) -> tuple[HashList, int]:
    """Give the guild's list a new share code and end every subscription to it: a code that
    leaked lets nobody in any more, and the owner hands the new one to the servers they trust.
    The list (with its new code) and how many subscriptions ended."""
    own = await get_own_list(conn, guild_id)
    code = secrets.token_urlsafe(SHARE_CODE_BYTES)
    await conn.execute(update(hash_lists).where(hash_lists.c.id == own.id).values(share_code=code))
    ended = await conn.execute(delete(subscriptions).where(subscriptions.c.list_id == own.id))
    if ended.rowcount:
        await takedown_changes.record_scope_change(conn, None)  # subscribers' scopes change
    return await get_own_list(conn, guild_id), ended.rowcount


async def add_entries(
    conn: AsyncConnection,
    guild_id: int,
    new_entries: Sequence[NewEntry],
    *,
    source: str,
    added_by: int | None,
) -> list[int]:
    """Add entries to the guild's own list in bulk; returns their ids in order."""
    entry_ids = await _add(
        conn,
        guild_id,
        [(entry.label, entry.label_shareable) for entry in new_entries],
        [
            (position, h, variant)
            for position, entry in enumerate(new_entries)
            for variant, group in ((False, entry.hashes), (True, entry.variants))
            for h in group
        ],
        source=source,
        added_by=added_by,
    )
    await entry_signatures.save_signatures(
        conn,
        {
            entry_id: entry.signature
            for entry_id, entry in zip(entry_ids, new_entries, strict=True)
            if entry.signature is not None
        },
    )
    return entry_ids


async def _add(
    conn: AsyncConnection,
    guild_id: int,
    entries: Sequence[tuple[str, bool]],
    hashes: Sequence[tuple[int, Hash, bool]],
    *,
    source: str,
    added_by: int | None,
) -> list[int]:
    """Insert entries (label, label shareable) and their hashes (the entry's position in
    `entries`, the hash, whether it is a variant), and log them; the new ids in order.

    Plain tuples, not a NewEntry a line: an import adds 100,000 entries.
    """
    if not entries:
        return []
    own = await get_own_list(conn, guild_id)
    entry_ids = await bulk.reserve_ids(conn, takedown_entries, len(entries))
    await bulk.insert_rows(
        conn,
        takedown_entries,
        ("id", "label", "label_shareable"),
        [(entry_id, *entry) for entry_id, entry in zip(entry_ids, entries, strict=True)],
        same={
            "list_id": own.id,
            "source": source,
            "added_by": added_by,
            "added_at": datetime.now(UTC),
        },
    )
    await bulk.insert_rows(
        conn,
        entry_hashes,
        ("entry_id", "algorithm", "hash", "is_variant"),
        [(entry_ids[position], h.algorithm, h.hex, variant) for position, h, variant in hashes],
    )
    await takedown_changes.record_new_entries(conn, entry_ids)
    return entry_ids


async def import_list(
    conn: AsyncConnection, guild_id: int, parsed: ParsedList, *, added_by: int | None
) -> ImportResult:
    """Add a checked hash list file to the guild's own list: one entry a line, none doubled."""
    if not parsed.ok:
        raise ValueError("a hash list with problems must not be imported")
    existing = await find_existing_hashes(conn, guild_id, [line.hash for line in parsed.lines])
    fresh: list[ListLine] = []
    duplicates = [Duplicate(r.line, first_line=r.first_line) for r in parsed.repeats]
    for line in parsed.lines:
        entry_id = existing.get(line.hash)
        if entry_id is None:
            fresh.append(line)
        else:
            duplicates.append(Duplicate(line.line, entry_id=entry_id))
    entry_ids = await _add(
        conn,
        guild_id,
        [(line.label, False) for line in fresh],
        [(position, line.hash, False) for position, line in enumerate(fresh)],
        source="import",
        added_by=added_by,
    )
    return ImportResult(tuple(entry_ids), tuple(sorted(duplicates, key=lambda d: d.line)))


async def add_variants(conn: AsyncConnection, entry_id: int, hashes: Sequence[Hash]) -> None:
    """More hashes for an existing entry (a re-upload moderators confirmed, say)."""
    if not hashes:
        return
    await conn.execute(
        entry_hashes.insert(),
        [
            {"entry_id": entry_id, "algorithm": h.algorithm, "hash": h.hex, "is_variant": True}
            for h in hashes
        ],
    )
    await takedown_changes.record_entries(conn, "entry_added", [entry_id])


async def add_entry(
    conn: AsyncConnection,
    guild_id: int,
    entry: NewEntry,
    *,
    source: str,
    added_by: int | None,
) -> TakedownEntry:
    (entry_id,) = await add_entries(conn, guild_id, [entry], source=source, added_by=added_by)
    found = await get_entry(conn, guild_id, entry_id)
    assert found is not None
    return found


async def _hashes_of(conn: AsyncConnection, entry_ids: Sequence[int]) -> dict[int, list[Hash]]:
    by_entry: dict[int, list[Hash]] = {entry_id: [] for entry_id in entry_ids}
    rows = await conn.execute(
        select(entry_hashes.c.entry_id, entry_hashes.c.algorithm, entry_hashes.c.hash)
        .where(entry_hashes.c.entry_id.in_(entry_ids), entry_hashes.c.is_variant.is_(False))
        .order_by(entry_hashes.c.id)
    )
    for entry_id, algorithm, hex_digits in rows:
        by_entry[entry_id].append(Hash(algorithm, hex_digits))
    return by_entry


async def _entries(conn: AsyncConnection, query: object) -> list[TakedownEntry]:
    rows = list((await conn.execute(query)).mappings())  # type: ignore[call-overload]
    hashes = await _hashes_of(conn, [row["id"] for row in rows])
    return [TakedownEntry(**row, hashes=tuple(hashes[row["id"]])) for row in rows]


def _own_entries(guild_id: int):  # type: ignore[no-untyped-def]
    return (
        select(takedown_entries)
        .join(hash_lists, hash_lists.c.id == takedown_entries.c.list_id)
        .where(hash_lists.c.owner_guild_id == guild_id)
    )


async def get_entry(conn: AsyncConnection, guild_id: int, entry_id: int) -> TakedownEntry | None:
    """An entry of the guild's own list (another guild's entry is not found)."""
    found = await _entries(conn, _own_entries(guild_id).where(takedown_entries.c.id == entry_id))
    return found[0] if found else None


async def entry_credit(conn: AsyncConnection, entry_id: int) -> EntryCredit | None:
    """An entry of any list as an alert names it, in one query (an alert is posted for every
    match, so this skips the hashes and the separate look-up of the list's owner)."""
    row = (
        await conn.execute(
            select(
                takedown_entries.c.id,
                takedown_entries.c.label,
                takedown_entries.c.label_shareable,
                takedown_entries.c.added_by,
                hash_lists.c.owner_guild_id,
            )
            .join(hash_lists, hash_lists.c.id == takedown_entries.c.list_id)
            .where(takedown_entries.c.id == entry_id)
        )
    ).first()
    return EntryCredit(*row) if row is not None else None


async def list_entries(
    conn: AsyncConnection,
    guild_id: int,
    *,
    label_contains: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[TakedownEntry]:
    """The guild's own entries, newest first, optionally filtered by label."""
    query = _own_entries(guild_id)
    if label_contains:
        query = query.where(
            func.lower(takedown_entries.c.label).contains(label_contains.lower(), autoescape=True)
        )
    query = query.order_by(takedown_entries.c.id.desc()).limit(limit).offset(offset)
    return await _entries(conn, query)


async def count_entries(
    conn: AsyncConnection, guild_id: int, *, label_contains: str | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(takedown_entries.join(hash_lists))
        .where(hash_lists.c.owner_guild_id == guild_id)
    )
    if label_contains:
        query = query.where(
            func.lower(takedown_entries.c.label).contains(label_contains.lower(), autoescape=True)
        )
    return (await conn.scalar(query)) or 0


async def iter_all_entries(conn: AsyncConnection, guild_id: int) -> AsyncIterator[TakedownEntry]:
    """Every entry of the guild's own list, oldest first, in pages (for export)."""
    last_id = 0
    while True:
        page = await _entries(
            conn,
            _own_entries(guild_id)
            .where(takedown_entries.c.id > last_id)
            .order_by(takedown_entries.c.id)
            .limit(1000),
        )
        if not page:
            return
        for entry in page:
            yield entry
        last_id = page[-1].id


async def list_picture(
    conn: AsyncConnection,
    guild_id: int,
    own: Sequence[Hash],
    variants: Sequence[Hash] = (),
    *,
    label: str,
    source: str,
    added_by: int | None,
    signature: bytes | None = None,
) -> int | None:
    """Put kept hashes (a reported or flagged picture's) on the guild's own list, unless every
    one of them is there already: the id of the new entry, or of one that holds them; None when
    there is nothing to list. A new entry keeps `signature`, when the picture's was kept."""
    if not own:
        return None
    existing = await find_existing_hashes(conn, guild_id, own)
    fresh = tuple(h for h in own if h not in existing)
    if not fresh:
        return next(iter(existing.values()))
    entry = await add_entry(
        conn,
        guild_id,
        NewEntry(fresh, label=label, variants=tuple(variants), signature=signature),
        source=source,
        added_by=added_by,
    )
    return entry.id


async def find_existing_hashes(
    conn: AsyncConnection, guild_id: int, hashes: Sequence[Hash]
) -> dict[Hash, int]:
    """Which of `hashes` the guild's own list already holds (as an entry's own hash): entry ids.

    One indexed lookup per algorithm, whether one hash is asked about or a whole import's.
    """
    own = await get_own_list(conn, guild_id)
    found: dict[Hash, int] = {}
    for algorithm in {h.algorithm for h in hashes}:
        asked = [h for h in hashes if h.algorithm == algorithm]
        rows = await conn.execute(
            select(entry_hashes.c.hash, entry_hashes.c.entry_id)
            .join(takedown_entries, takedown_entries.c.id == entry_hashes.c.entry_id)
            .where(
                entry_hashes.c.algorithm == algorithm,
                bulk.one_of(conn, entry_hashes.c.hash, sorted({h.hex for h in asked})),
                entry_hashes.c.is_variant.is_(False),
                takedown_entries.c.list_id == own.id,
            )
        )
        entry_of: dict[str, int] = dict(rows.all())  # type: ignore[arg-type]
        found.update((h, entry_of[h.hex]) for h in asked if h.hex in entry_of)
    return found


async def remove_entry(conn: AsyncConnection, guild_id: int, entry_id: int) -> bool:
    """Delete an entry of the guild's own list with its hashes; False if it isn't there."""
    own = await get_own_list(conn, guild_id)
    result = await conn.execute(
        delete(takedown_entries).where(
            takedown_entries.c.id == entry_id, takedown_entries.c.list_id == own.id
        )
    )
    if result.rowcount == 0:
        return False
    await takedown_changes.record_entries(conn, "entry_removed", [entry_id])
    return True


async def record_match(conn: AsyncConnection, entry_id: int) -> None:
    await conn.execute(
        update(takedown_entries)
        .where(takedown_entries.c.id == entry_id)
        .values(match_count=takedown_entries.c.match_count + 1)
    )


async def subscribe(
    conn: AsyncConnection, guild_id: int, list_id: int, action: str, created_by: int | None
) -> Subscription:
    """Subscribe (or change the action of an existing subscription)."""
    await conn.execute(
        upsert(
            conn,
            subscriptions,
            {"guild_id": guild_id, "list_id": list_id, "action": action, "created_by": created_by},
            keys=("guild_id", "list_id"),
            update={"action": action},
        )
    )
    await takedown_changes.record_scope_change(conn, guild_id)
    row = (
        (
            await conn.execute(
                select(subscriptions).where(
                    subscriptions.c.guild_id == guild_id, subscriptions.c.list_id == list_id
                )
            )
        )
        .mappings()
        .one()
    )
    return Subscription(**row)


async def unsubscribe(conn: AsyncConnection, guild_id: int, list_id: int) -> bool:
    result = await conn.execute(
        delete(subscriptions).where(
            subscriptions.c.guild_id == guild_id, subscriptions.c.list_id == list_id
        )
    )
    await takedown_changes.record_scope_change(conn, guild_id)
    return result.rowcount > 0


def _indexed_hashes_query():  # type: ignore[no-untyped-def]
    return (
        select(
            entry_hashes.c.entry_id,
            takedown_entries.c.list_id,
            entry_hashes.c.algorithm,
            entry_hashes.c.hash,
            entry_hashes.c.is_variant,
        )
        .join(takedown_entries, takedown_entries.c.id == entry_hashes.c.entry_id)
        .where(takedown_entries.c.enabled.is_(True))
    )


async def indexed_hash_columns(conn: AsyncConnection) -> IndexRows:
    """Every hash of every enabled entry (variants included), as columns, to build the index.

    Columns, not an object a hash: at a million entries the objects kept the garbage collector
    walking millions of them while they loaded (a 64 s start, stalls of seconds).
    """
    columns: tuple[list, ...] = ([], [], [], [], [])
    async for rows in indexed_hash_batches(conn):
        for column, values in zip(columns, zip(*rows, strict=True), strict=True):
            column.extend(values)
    return IndexRows(*columns)


async def indexed_hash_batches(
    conn: AsyncConnection, algorithm: str | None = None, size: int = 20_000
) -> AsyncIterator[Sequence[Sequence]]:
    """What `indexed_hash_columns` reads (of one algorithm, if given), as batches of
    (entry_id, list_id, algorithm, hex, is_variant) rows straight from the driver
    (`bulk.driver_batches`), for a caller that turns each batch into arrays at once."""
    query = _indexed_hashes_query()
    if algorithm is not None:
        query = query.where(entry_hashes.c.algorithm == algorithm)
    async for batch in bulk.driver_batches(conn, query, size):
        yield batch


async def indexed_hashes_of(conn: AsyncConnection, entry_ids: Iterable[int]) -> IndexRows:
    """The index rows of some entries (variants included), for applying changes.

    Ids come in runs (a bulk import adds consecutive ids), so each run is one range query.
    """
    rows: list[Row[tuple[int, int, str, str, bool]]] = []
    for low, high in bulk.id_runs(sorted(set(entry_ids))):
        result = await conn.execute(
            _indexed_hashes_query().where(entry_hashes.c.entry_id.between(low, high))
        )
        rows += result.all()
    return IndexRows.of(rows)


async def guild_scope_lists(conn: AsyncConnection, guild_id: int) -> dict[int, str]:
    """The lists a guild matches against: its own ("remove") and its live subscriptions."""
    own = await get_own_list(conn, guild_id)
    rows = await conn.execute(
        select(subscriptions.c.list_id, subscriptions.c.action)
        .join(hash_lists, hash_lists.c.id == subscriptions.c.list_id)
        .where(subscriptions.c.guild_id == guild_id, hash_lists.c.shared.is_(True))
    )
    lists = {list_id: action for list_id, action in rows}
    lists[own.id] = "remove"
    return lists


async def guilds_using_lists(conn: AsyncConnection, list_ids: Iterable[int]) -> dict[int, set[int]]:
    """Guild id -> which of `list_ids` it matches against: its own list, and the shared lists
    it subscribes to."""
    wanted = sorted(set(list_ids))
    using: dict[int, set[int]] = {}
    if not wanted:
        return using
    owners = await conn.execute(
        select(hash_lists.c.owner_guild_id, hash_lists.c.id).where(hash_lists.c.id.in_(wanted))
    )
    subscribers = await conn.execute(
        select(subscriptions.c.guild_id, subscriptions.c.list_id)
        .join(hash_lists, hash_lists.c.id == subscriptions.c.list_id)
        .where(subscriptions.c.list_id.in_(wanted), hash_lists.c.shared.is_(True))
    )
    for guild_id, list_id in [*owners, *subscribers]:
        using.setdefault(guild_id, set()).add(list_id)
    return using
