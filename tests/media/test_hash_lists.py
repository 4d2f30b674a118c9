"""Hash list files: every kind of bad line is named by its number, repeats are reported, both
input forms load, and what export writes imports back unchanged, at 100,000 lines."""

from __future__ import annotations

import csv
import io
import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.hash_lists import (
    CSV_FORMAT,
    MAX_LINES,
    THREATEXCHANGE_FORMAT,
    ParsedList,
    parse_hash_list,
    write_hash_list,
)
from core.hashes import Hash

PDQ = "f" * 32 + "0" * 32
PDQ_2 = "0123456789abcdef" * 4
PHASH = "8f373714acfcf4d0"


def parse(text: str) -> ParsedList:
    return parse_hash_list(text.encode())


def problems(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [str(p) for p in parse_hash_list(data).problems]


def test_csv_with_header_gives_one_entry_a_line_with_labels() -> None:
    parsed = parse(f'algorithm,hash,label\npdq,{PDQ},fake of A\nphash,{PHASH},"B, edited"\n')
    assert parsed.ok and parsed.format == CSV_FORMAT
    assert [(line.line, str(line.hash), line.label) for line in parsed.lines] == [
        (2, f"pdq:{PDQ}", "fake of A"),
        (3, f"phash:{PHASH}", "B, edited"),
    ]


def test_csv_accepts_missing_labels_upper_case_crlf_bom_and_blank_lines() -> None:
    text = f"\ufeffAlgorithm, Hash ,Label\r\n\r\nPDQ,{PDQ.upper()}\r\n\nphash,{PHASH},  \r\n"
    parsed = parse(text)
    assert parsed.ok
    assert [(line.line, line.hash, line.label) for line in parsed.lines] == [
        (3, Hash("pdq", PDQ), ""),
        (5, Hash("phash", PHASH), ""),
    ]


def test_threatexchange_lines_load_without_labels() -> None:
    parsed = parse(f"pdq {PDQ}\nPDQ\t{PDQ_2}\n")
    assert parsed.ok and parsed.format == THREATEXCHANGE_FORMAT
    assert [line.hash for line in parsed.lines] == [Hash("pdq", PDQ), Hash("pdq", PDQ_2)]
    assert {line.label for line in parsed.lines} == {""}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"md5,{PDQ},x", "line 3: unknown hash algorithm 'md5'; use pdq or phash"),
        # A quarter's hash is made by the bot from a picture it hashed, never given.
        (f"pdq_region,{PDQ},x", "line 3: unknown hash algorithm 'pdq_region'; use pdq or phash"),
        (f"pdq,{PDQ[:-1]},x", "line 3: a pdq hash is 64 hex digits; this one has 63"),
        (f"phash,{PDQ},x", "line 3: a phash hash is 16 hex digits; this one has 64"),
        (f"pdq,{PDQ[:-1]}g,x", "line 3: the hash has characters that aren't hex digits (0-9, a-f)"),
        ("pdq,,x", "line 3: a pdq hash is 64 hex digits; this one has 0"),
        (f"pdq,{PDQ},x,y", "line 3: has 4 fields; expected algorithm,hash,label"),
        (f"pdq {PDQ}", "line 3: has 1 field; expected algorithm,hash,label"),
        (f'pdq,{PDQ},"unclosed', "line 3: a quote is not closed"),
        (f"pdq,{PDQ},{'x' * 201}", "line 3: the label is 201 characters long; at most 200"),
        (f"pdq,{PDQ},fake\tof A", "line 3: the label has a control character"),
        (f"pdq,{PDQ},fake\x1bof A", "line 3: the label has a control character"),
    ],
)
def test_each_bad_csv_line_is_named_by_its_line_number(line: str, reason: str) -> None:
    text = f"algorithm,hash,label\npdq,{PDQ_2},fine\n{line}\nphash,{PHASH},fine\n"
    parsed = parse(text)
    assert not parsed.ok and not parsed.lines
    (problem,) = [str(p) for p in parsed.problems]
    assert problem.startswith(reason)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"pdq {PDQ} extra", "line 2: expected a ThreatExchange line like pdq <64 hex digits>"),
        ("pdq", "line 2: expected a ThreatExchange line"),
        (f"sha256 {PDQ}", "line 2: unknown hash algorithm 'sha256'"),
        (f"pdq {PDQ[:10]}", "line 2: a pdq hash is 64 hex digits; this one has 10"),
    ],
)
def test_each_bad_threatexchange_line_is_named(line: str, reason: str) -> None:
    (problem,) = problems(f"pdq {PDQ}\n{line}\n")
    assert problem.startswith(reason)


def test_every_bad_line_is_reported_not_just_the_first() -> None:
    lines = ["algorithm,hash,label"] + [f"pdq,{PDQ},ok"] * 3 + ["pdq,zz,x"] * 3
    lines[2] = "phash,123,x"
    found = problems("\n".join(lines))
    assert [p.split(":")[0] for p in found] == ["line 3", "line 5", "line 6", "line 7"]


def test_a_csv_without_its_header_is_refused_naming_line_1() -> None:
    assert problems(f"pdq,{PDQ},x\npdq,{PDQ_2},y\n") == [
        "line 1: the first line must be the header algorithm,hash,label"
    ]
    assert problems(f"hash,algorithm,label\npdq,{PDQ_2},y\n") == [
        "line 1: the first line must be the header algorithm,hash,label"
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"\n  \r\n\n", "the file is empty"),
        (b"algorithm,hash,label\n", "the file has a header but no hashes"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the file isn't a text file"),
    ],
)
def test_files_that_are_not_lists_are_refused_whole(data: bytes, reason: str) -> None:
    (problem,) = problems(data)
    assert problem.startswith(reason)


def test_text_that_is_not_utf8_names_its_line() -> None:
    data = f"algorithm,hash,label\npdq,{PDQ},ok\n".encode() + b"pdq,x,caf\xe9\n"
    assert problems(data) == ["line 3: isn't UTF-8 text; save the file as UTF-8 CSV"]


def test_repeated_hashes_are_kept_once_and_reported() -> None:
    text = f"algorithm,hash,label\npdq,{PDQ},a\npdq,{PDQ_2},b\nPDQ,{PDQ.upper()},again\n"
    parsed = parse(text)
    assert parsed.ok
    assert [line.line for line in parsed.lines] == [2, 3]
    assert [(r.line, r.first_line) for r in parsed.repeats] == [(4, 2)]


def test_more_than_the_limit_is_refused_whole() -> None:
    lines = [f"pdq {random.Random(n).getrandbits(256):064x}" for n in range(11)]
    (problem,) = parse_hash_list("\n".join(lines).encode(), max_lines=10).problems
    assert str(problem) == "the file has 11 hash lines; one import takes at most 10"


def random_rows(count: int, seed: int) -> list[tuple[Hash, str]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        if n % 4 == 3:
            rows.append((Hash("phash", f"{rng.getrandbits(64):016x}"), f"clip {n}, frame 1"))
        else:
            rows.append((Hash("pdq", f"{rng.getrandbits(256):064x}"), f'fake "{n}"'))
    return rows


def test_export_reads_back_as_the_same_hashes_and_labels() -> None:
    rows = [*random_rows(50, seed=1), (Hash("pdq", PDQ), "")]
    parsed = parse(write_hash_list(rows))
    assert parsed.ok and not parsed.repeats
    assert [(line.hash, line.label) for line in parsed.lines] == rows


label_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"),
    max_size=200,
).map(str.strip)


@given(st.lists(label_text, min_size=1, max_size=20))
def test_any_single_line_label_survives_export_and_import(labels: list[str]) -> None:
    rng = random.Random(len(labels))
    rows = [(Hash("pdq", f"{rng.getrandbits(256):064x}"), label) for label in labels]
    parsed = parse(write_hash_list(rows))
    assert parsed.ok
    assert [(line.hash, line.label) for line in parsed.lines] == rows


def test_a_label_that_is_a_formula_opens_as_text_in_a_spreadsheet() -> None:
    label = '=HYPERLINK("x")'
    exported = write_hash_list([(Hash("pdq", PDQ), label)])
    (_header, row) = list(csv.reader(io.StringIO(exported)))
    assert row[2] == "'" + label  # a spreadsheet shows a cell after a leading ' as text
    assert [line.label for line in parse(exported).lines] == [label]


@given(
    st.lists(
        st.tuples(st.sampled_from(["=", "+", "-", "@", "'", "'=", "''+", ""]), label_text),
        min_size=1,
        max_size=10,
    )
)
def test_every_formula_start_is_neutralised_and_read_back_as_written(
    parts: list[tuple[str, str]],
) -> None:
    labels = [(start + rest)[:200].strip() for start, rest in parts]
    rng = random.Random(len(labels))
    rows = [(Hash("pdq", f"{rng.getrandbits(256):064x}"), label) for label in labels]
    exported = write_hash_list(rows)
    for row in list(csv.reader(io.StringIO(exported)))[1:]:
        assert not row[2].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert [(line.hash, line.label) for line in parse(exported).lines] == rows


def test_a_null_past_the_binary_sniff_is_named_in_its_line() -> None:
    rows = random_rows(200, seed=3)
    text = write_hash_list(rows).split("\n")
    text[150] = f"pdq,{PDQ},fake of A with a \x00 null"
    parsed = parse("\n".join(text))
    assert [str(p) for p in parsed.problems] == [
        "line 151: the label has a control character (such as a tab or a null)"
    ]


def test_a_full_size_list_with_one_bad_line_names_it_quickly() -> None:
    rows = random_rows(MAX_LINES, seed=2)
    text = write_hash_list(rows).split("\n")
    text[54_321] = "pdq,not-a-hash,x"
    started = time.perf_counter()
    parsed = parse("\n".join(text))
    elapsed = time.perf_counter() - started
    print(f"checked {MAX_LINES:,} lines in {elapsed:.2f} s")
    assert [str(p) for p in parsed.problems] == [
        "line 54322: a pdq hash is 64 hex digits; this one has 10"
    ]
    assert not parsed.lines


def test_a_full_size_list_parses_whole() -> None:
    rows = random_rows(MAX_LINES, seed=3)
    parsed = parse(write_hash_list(rows))
    assert parsed.ok and len(parsed.lines) == MAX_LINES
    assert parsed.lines[-1].line == MAX_LINES + 1
