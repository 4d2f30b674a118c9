"""Hash list files: what `/takedown import` reads and `/takedown export` writes.

Two forms come in. Our own is a CSV with the header `algorithm,hash,label` (`pdq` with 64 hex
digits, `phash` with 16); it is also what `python bot.py hash` prints, so a moderator can add a
known deepfake without posting it anywhere. The other is ThreatExchange's one signal a line,
`pdq <hex>`, so lists from StopNCII-style sources load as they are.

Why the whole file is checked before anything is applied: a half-imported list is worse than
none (nobody knows which half), so a file with one bad line changes nothing, and every bad line
is named by its number in the file (the header is line 1) so it can be fixed in one go. A hash
that appears twice is not an error, just not added twice.

Each line becomes its own entry: that is how ThreatExchange and HMA treat a signal, and it keeps
`/takedown remove` precise. Labels are limited to what the database holds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.hashes import GIVEN_ALGORITHMS, HEX_DIGITS, Hash, unknown_algorithm
from core.phrases import Phrase, phrase, plural_phrase

MAX_LINES = 100_000  # hash lines one import takes (header and blank lines not counted)
LABEL_LIMIT = 200  # takedown_entries.label is String(200)
HEADER = ("algorithm", "hash", "label")
CSV_FORMAT = "csv"
THREATEXCHANGE_FORMAT = "threatexchange"
WHOLE_FILE = 0  # the line number of a problem with the file itself, not one line
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # PostgreSQL can't store a null in text


@dataclass(frozen=True, slots=True)
class ListLine:
    """One good line: a hash and its label, and where it was in the file."""

    line: int
    hash: Hash
    label: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one line (or, at line 0, the whole file) can't be imported."""

    line: int
    reason: Phrase

    @property
    def said(self) -> Phrase:
        """The problem as a moderator reads it: which line, and why."""
        if self.line == WHOLE_FILE:
            return self.reason
        return phrase("line {line}: {reason}", line=self.line, reason=self.reason)

    def __str__(self) -> str:
        return str(self.said)


@dataclass(frozen=True, slots=True)
class Repeat:
    """A line whose hash an earlier line of the same file already has."""

    line: int
    first_line: int


@dataclass(frozen=True, slots=True)
class ParsedList:
    """A checked file: its good lines (first of each hash), repeats, and every problem."""

    format: str
    lines: tuple[ListLine, ...] = ()
    repeats: tuple[Repeat, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_hash_list(data: bytes, *, max_lines: int = MAX_LINES) -> ParsedList:
    """Check a whole hash list file; nothing in it should be applied unless `.ok`."""
    text = _decode(data)
    if isinstance(text, Problem):
        return ParsedList(format="", problems=(text,))
    numbered = [
        (number, line.rstrip("\r"))
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip()
    ]
    if not numbered:
        return ParsedList(format="", problems=(Problem(WHOLE_FILE, phrase("the file is empty")),))
    first_number, first_line = numbered[0]
    problems: list[Problem] = []
    if _is_header(first_line):
        fmt, body = CSV_FORMAT, numbered[1:]
    elif "," in first_line:
        fmt, body = CSV_FORMAT, numbered[1:]  # a CSV without its header: say so, check the rest
        problems.append(
            Problem(
                first_number,
                phrase("the first line must be the header {header}", header=",".join(HEADER)),
            )
        )
    else:
        fmt, body = THREATEXCHANGE_FORMAT, numbered
    if len(body) > max_lines:
        reason = phrase(
            "the file has {lines:,} hash lines; one import takes at most {most:,}",
            lines=len(body),
            most=max_lines,
        )
        return ParsedList(format=fmt, problems=(Problem(WHOLE_FILE, reason),))
    if not body and not problems:
        reason = phrase("the file has a header but no hashes")
        return ParsedList(format=fmt, problems=(Problem(WHOLE_FILE, reason),))
    parse_line = _csv_line if fmt == CSV_FORMAT else _threatexchange_line
    lines: list[ListLine] = []
    repeats: list[Repeat] = []
    first_seen: dict[Hash, int] = {}
    for number, line in body:
        parsed = parse_line(number, line)
        if isinstance(parsed, Problem):
            problems.append(parsed)
        elif (first := first_seen.setdefault(parsed.hash, number)) != number:
            repeats.append(Repeat(number, first))
        else:
            lines.append(parsed)
    if problems:
        return ParsedList(format=fmt, problems=tuple(problems))
    return ParsedList(format=fmt, lines=tuple(lines), repeats=tuple(repeats))


def _decode(data: bytes) -> str | Problem:
    if b"\x00" in data[:4096]:
        return Problem(
            WHOLE_FILE, phrase("the file isn't a text file (is it a picture or a document?)")
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Problem(line, phrase("isn't UTF-8 text; save the file as UTF-8 CSV"))


def _is_header(line: str) -> bool:
    fields = [f.strip().lower() for f in _split_csv(line) or []]
    return tuple(fields) == HEADER


def _split_csv(line: str) -> list[str] | None:
    try:
        return next(csv.reader([line], strict=True))
    except (csv.Error, StopIteration):
        return None


def _csv_line(number: int, line: str) -> ListLine | Problem:
    # Most lines have no quotes, and then the csv module would split them just as str.split does.
    fields = _split_csv(line) if '"' in line else line.split(",")
    if fields is None:
        return Problem(
            number, phrase("a quote is not closed; put labels with commas in double quotes")
        )
    if len(fields) not in (2, 3):
        return Problem(
            number,
            plural_phrase(
                "has {count} field; expected algorithm,hash,label (put a label with commas in "
                "double quotes)",
                "has {count} fields; expected algorithm,hash,label (put a label with commas in "
                "double quotes)",
                len(fields),
            ),
        )
    algorithm, digits = fields[0].strip().lower(), fields[1].strip().lower()
    label = _restored(fields[2].strip()) if len(fields) == 3 else ""
    return _line(number, algorithm, digits, label)


def _threatexchange_line(number: int, line: str) -> ListLine | Problem:
    parts = line.split()
    if len(parts) != 2:
        return Problem(number, phrase("expected a ThreatExchange line like pdq <64 hex digits>"))
    return _line(number, parts[0].lower(), parts[1].lower(), "")


def _line(number: int, algorithm: str, digits: str, label: str) -> ListLine | Problem:
    if len(label) > LABEL_LIMIT:
        return Problem(
            number,
            phrase(
                "the label is {length:,} characters long; at most {most:,}",
                length=len(label),
                most=LABEL_LIMIT,
            ),
        )
    if _CONTROL.search(label):
        return Problem(
            number, phrase("the label has a control character (such as a tab or a null)")
        )
    if algorithm not in GIVEN_ALGORITHMS:
        return Problem(number, unknown_algorithm(algorithm))
    try:
        return ListLine(number, Hash(algorithm, digits), label)  # type: ignore[arg-type]
    except ValueError:
        return Problem(number, _why_not_a_hash(algorithm, digits))


def _why_not_a_hash(algorithm: str, digits: str) -> Phrase:
    expected = HEX_DIGITS[algorithm]
    if len(digits) != expected:
        return phrase(
            "a {algorithm} hash is {expected} hex digits; this one has {length}",
            algorithm=algorithm,
            expected=expected,
            length=len(digits),
        )
    return phrase("the hash has characters that aren't hex digits (0-9, a-f)")


# A spreadsheet reads a cell starting with one of these as a formula (CSV injection): a label
# `=HYPERLINK("…")` from a shared list would run when a moderator opens the export.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(cell: str) -> bool:
    """Starts like a formula, after any quotes already there (so a label that really begins
    with `'=` survives the round trip too)."""
    return cell.lstrip("'").startswith(FORMULA_STARTS)


def neutralised(cell: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading `'`
    (OWASP's advice), which `parse_hash_list` removes again on import."""
    return f"'{cell}" if _formula_like(cell) else cell


def _restored(label: str) -> str:
    return label[1:] if label.startswith("'") and _formula_like(label) else label


def write_hash_list(rows: Iterable[tuple[Hash, str]]) -> str:
    """The CSV `parse_hash_list` reads back: the header, then one hash and its label a line,
    every label neutralised for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for value, label in rows:
        writer.writerow((value.algorithm, value.hex, neutralised(label)))
    return out.getvalue()
