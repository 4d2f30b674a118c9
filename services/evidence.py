"""Evidence files for an agency or the police: CSV, JSON, and the choice of cases.

No media, ever: the rows hold ids, links, names, hashes and distances (`db.evidence`), which
is what a complaint is built from. The CSV opens safely in a spreadsheet (every cell through
`core.hash_lists.neutralised`) with headings in the server's language; the JSON keeps stable
English keys for tools. Times are UTC, ISO 8601.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.hash_lists import neutralised
from db.evidence import EvidenceRow

MAX_RANGES = 50  # "12-15, 20, ..." parts in one request
MAX_NUMBER = 10_000_000

# The columns, in order; the CSV's headings are these keys in the server's language.
COLUMNS = (
    "case",
    "kind",
    "time_utc",
    "server_id",
    "server",
    "channel_id",
    "message_id",
    "message_link",
    "author_id",
    "author_name",
    "entry_id",
    "entry_label",
    "entry_list",
    "entry_source",
    "algorithm",
    "distance",
    "tier",
    "pdq",
    "phash",
    "removed",
    "report",
    "report_categories",
    "reporter_count",
    "reporters",
    "moderator_id",
    "outcome",
    "reason",
)


@dataclass(frozen=True, slots=True)
class Server:
    """Whose evidence it is, and who exported it."""

    id: int
    name: str
    exported_by: int
    exported_at: datetime


def parse_case_numbers(text: str) -> tuple[tuple[int, int], ...]:
    """ "12-15, 20" as ((12, 15), (20, 20)); raises ValueError with what is wrong (English,
    the caller words it for the moderator)."""
    ranges = []
    joined = re.sub(r"\s*([-–~])\s*", r"\1", text.strip())  # "12 - 15" is one range
    parts = [part for part in re.split(r"[,\s]+", joined) if part]
    if not parts:
        raise ValueError("no case numbers")
    if len(parts) > MAX_RANGES:
        raise ValueError(f"more than {MAX_RANGES} parts")
    for part in parts:
        found = re.fullmatch(r"#?(\d{1,8})(?:[-–~]#?(\d{1,8}))?", part)
        if found is None:
            raise ValueError(f"{part!r} is not a case number or a range like 12-15")
        low = int(found[1])
        high = int(found[2]) if found[2] else low
        if low < 1 or high > MAX_NUMBER or high < low:
            raise ValueError(f"{part!r} is not a range from a lower to a higher case number")
        ranges.append((low, high))
    return tuple(ranges)


def parse_day(text: str) -> date:
    """A day as YYYY-MM-DD (UTC); raises ValueError."""
    return date.fromisoformat(text.strip())


def day_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """[since 00:00 UTC, the day after `until` 00:00 UTC): both days included."""
    start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    end = (
        datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
        if until
        else None
    )
    return start, end


def iso(moment: datetime) -> str:
    """UTC, ISO 8601, to the second: 2026-12-06T16:05:16Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def message_link(guild_id: int, row: EvidenceRow) -> str:
    if row.channel_id is None or row.message_id is None:
        return ""
    return f"https://discord.com/channels/{guild_id}/{row.channel_id}/{row.message_id}"


def record(
    row: EvidenceRow, server: Server, *, with_reporters: bool
) -> dict[str, str | int | bool | dict[str, int] | list[dict[str, object]] | None]:
    """One row as the JSON has it (English keys, raw values)."""
    entry = row.entry
    return {
        "case": row.case_number,
        "kind": row.kind,
        "time_utc": iso(row.time),
        "server_id": str(server.id),
        "server": server.name,
        "channel_id": _id(row.channel_id),
        "message_id": _id(row.message_id),
        "message_link": message_link(server.id, row) or None,
        "author_id": _id(row.author_id),
        "author_name": row.author_name,
        "entry_id": row.entry_id,
        "entry_label": entry.label if entry else None,
        "entry_list": ("own" if entry.own_list else "shared") if entry else None,
        "entry_source": entry.source if entry else None,
        "algorithm": row.algorithm,
        "distance": row.distance,
        "tier": row.tier,
        "pdq": row.pdq,
        "phash": row.phash,
        "removed": row.removed,
        "report": row.report_number,
        "report_categories": row.report_categories or None,
        "reporter_count": row.reporter_count if row.report_number is not None else None,
        "reporters": (
            [{"id": str(rid), "category": category} for rid, category in row.reporters]
            if with_reporters and row.report_number is not None
            else None
        ),
        "moderator_id": _id(row.moderator_id),
        "outcome": row.outcome,
        "reason": row.reason or None,
    }


def _id(value: int | None) -> str | None:
    """Discord ids as strings: a spreadsheet or JavaScript would round a 64-bit number."""
    return str(value) if value is not None else None


def write_json(
    rows: Sequence[EvidenceRow], server: Server, *, with_reporters: bool, filters: Mapping
) -> str:
    document = {
        "server_id": str(server.id),
        "server": server.name,
        "exported_at_utc": iso(server.exported_at),
        "exported_by": str(server.exported_by),
        "filters": dict(filters),
        "contains_media": False,
        "cases": [record(row, server, with_reporters=with_reporters) for row in rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def write_csv(
    rows: Sequence[EvidenceRow],
    server: Server,
    headings: Mapping[str, str],
    cell: Callable[[str, object], str],
    *,
    with_reporters: bool,
) -> str:
    """The CSV: headings in the server's language (`headings`: column key to heading), each
    value shown by `cell(column, value)` (kinds and outcomes in that language), and every cell
    made safe for spreadsheets. Without `with_reporters` the reporters column is left out."""
    columns = [c for c in COLUMNS if with_reporters or c != "reporters"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralised(headings[column]) for column in columns])
    for row in rows:
        values = record(row, server, with_reporters=with_reporters)
        writer.writerow([neutralised(cell(column, values[column])) for column in columns])
    # A byte-order mark: spreadsheets then read the Korean and the names as UTF-8.
    return "\ufeff" + out.getvalue()
