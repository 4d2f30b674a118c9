"""The takedown index's rows in a file beside the database, so a large list loads in seconds.

Reading ten million hashes from the database and turning their hex into bits takes most of a
start-up (bench/RESULTS.md). A snapshot keeps what the index is built from, as arrays: for each
part of the index (an algorithm, pHash's variants apart) the entry ids, their list ids and the
hash bits (the database's own rows: hashes only, never media), and a header naming the database
it came from and the last change-log id it includes. A start that finds a snapshot it may trust
builds the index from it and brings it forward with the change log, like any index that fell
behind; `services.live_index` decides when it may be trusted. A snapshot is written whole to a
temporary file and renamed over the old one, so a crash leaves the old snapshot or the new,
never half of one.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from media.list_scope import Columns, IndexLoader
from media.matching import INDEX_BITS

# Raised whenever what a snapshot holds changes; an older one is not read (2: an entry's
# variant pHashes apart from its own, `media.matching.index_part`; 3: and its quarters' PDQ).
FORMAT = 3


class SnapshotError(ValueError):
    """The file is not a snapshot this version can read (damaged, truncated, another format)."""


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    database_id: str  # the database the rows came from (`db.bot_state.database_id`)
    last_change: int  # every change-log id up to this one is in the rows


def write_snapshot(path: Path, header: SnapshotHeader, columns: Columns) -> None:
    """Write an index's rows (`IndexLoader.arrays()`) and `header` to `path`, replacing what
    was there at once."""
    arrays: dict[str, np.ndarray] = {
        "header": np.frombuffer(
            json.dumps({"format": FORMAT, **_fields(header)}).encode(), dtype=np.uint8
        )
    }
    for part, (ids, lists, rows) in columns.items():
        arrays[f"{part}_ids"] = ids
        arrays[f"{part}_lists"] = lists
        arrays[f"{part}_rows"] = rows
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as file:
            np.savez(file, allow_pickle=False, **arrays)
            file.flush()
            os.fsync(file.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def read_snapshot(path: Path) -> tuple[SnapshotHeader, IndexLoader] | None:
    """The snapshot at `path`, or None when there is none; SnapshotError when it can't be read."""
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SnapshotError(f"{path} is not a readable snapshot: {exc}") from exc
    with archive:
        try:
            header = _header(archive["header"])
            columns = {part: _columns(archive, part, bits) for part, bits in INDEX_BITS.items()}
        except (KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
            raise SnapshotError(f"{path} is damaged or incomplete: {exc}") from exc
    return header, IndexLoader.from_arrays(columns)


def _fields(header: SnapshotHeader) -> dict[str, object]:
    return {"database_id": header.database_id, "last_change": header.last_change}


def _header(raw: np.ndarray) -> SnapshotHeader:
    fields = json.loads(raw.tobytes().decode())
    if fields.get("format") != FORMAT:
        raise ValueError(f"format {fields.get('format')!r}, this version reads {FORMAT}")
    database_id, last_change = fields["database_id"], fields["last_change"]
    if not isinstance(database_id, str) or not isinstance(last_change, int) or last_change < 0:
        raise ValueError("the header's fields are malformed")
    return SnapshotHeader(database_id, last_change)


def _columns(
    archive: np.lib.npyio.NpzFile, algorithm: str, bits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids, lists, rows = (archive[f"{algorithm}_{name}"] for name in ("ids", "lists", "rows"))
    count = len(ids)
    if ids.dtype != np.int64 or lists.dtype != np.int64 or rows.dtype != np.uint8:
        raise ValueError(f"the {algorithm} columns have the wrong types")
    if lists.shape != (count,) or rows.shape != (count, bits // 8):
        raise ValueError(f"the {algorithm} columns have different lengths or widths")
    return ids, lists, rows
