"""Entries' local-feature signatures (`media.features` makes and reads them; here they are
bytes): written with the entry, read when a weak match needs confirming; and a report's,
kept at report time for the entry **Take down** makes of it.

Why not in the index: a signature is about 3.6 KB, the index keeps 40 bytes an entry hash, and
a signature is wanted only for the few uploads that match an entry weakly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.schema import entry_signatures, report_signatures


async def save_signatures(conn: AsyncConnection, signatures: Mapping[int, bytes]) -> None:
    """Keep entry id -> signature (new entries: an entry's signature is written once)."""
    if signatures:
        await conn.execute(
            entry_signatures.insert(),
            [{"entry_id": e, "signature": s} for e, s in signatures.items()],
        )


async def signatures_of(conn: AsyncConnection, entry_ids: Iterable[int]) -> dict[int, bytes]:
    """The signatures the given entries have (those without one are left out)."""
    wanted = sorted(set(entry_ids))
    if not wanted:
        return {}
    rows = await conn.execute(
        select(entry_signatures.c.entry_id, entry_signatures.c.signature).where(
            entry_signatures.c.entry_id.in_(wanted)
        )
    )
    return {entry_id: bytes(signature) for entry_id, signature in rows}


async def keep_report_signature(conn: AsyncConnection, report_id: int, signature: bytes) -> None:
    """Keep a reported picture's signature, unless the report has one already (a later
    reporter's copy of the same message adds nothing)."""
    if await report_signature(conn, report_id) is None:
        await conn.execute(
            report_signatures.insert(), {"report_id": report_id, "signature": signature}
        )


async def report_signature(conn: AsyncConnection, report_id: int) -> bytes | None:
    found = await conn.scalar(
        select(report_signatures.c.signature).where(report_signatures.c.report_id == report_id)
    )
    return None if found is None else bytes(found)
