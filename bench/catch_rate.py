"""Re-share catch rate per edit family, drawn from parameter ranges, and the false matches.

Run: .venv/bin/python bench/catch_rate.py [--pictures 300] [--unrelated 1000] [--seed S]
     [--processes 2] [--family NAME ...] [--unrelated-edits 3] [--study 3] [--wide-pdq 80]
     [--wide-phash 12] [--dump FILE]
Fast mode (a couple of minutes on one core): --pictures 40 --unrelated 100 --processes 1.
(bench/fetch_corpus.py brings the real photographs first; see bench/README.md.)

Pictures: the first `pictures` of the corpus (bench/corpus.py: real photographs first, then
procedural photo-like pictures) are the listed ones; each is added to a takedown index as the
product adds it (`entry_hashes_for_image`, `entry_hashes`) and re-shared once per family of
bench/reshares.py, the family's parameters drawn for that picture from `random.Random(seed,
picture, family)`. The next `unrelated` pictures are listed too, and each is uploaded as it is
and through `unrelated-edits` families drawn at random: they only count false matches.

An upload goes through the product's path (`hash_media`, then `match_media` with the default
`MatchPolicy`, then the local-feature confirmation of `services.confirmation`: when no match
removes, each review-tier match whose entry has a signature is confirmed by
`media.features.confirm_counts` (what the worker runs), and becomes a takedown at
`CONFIRM_INLIERS`): it is caught at the confident tier when its own entry matches at the
takedown tier, at the review tier when its own entry matches at either. "hashes" is the
confident tier before the confirmation. A false pair is a match with any
other picture's entry; the pair rate divides by uploads x (entries - 1). The "plain" column is
the confident tier against the entry's own PDQ and pHash only, without the upload's trimmed
view or the entry's variants: what the hashes alone catch. "people" is the confident tier's catch
among the pictures with people in them (idols are people).

The threshold study: besides the product's candidates, every upload is also confirmed against
its `--study` nearest other entries by PDQ (however far) and every other entry within the
wider radius `--wide-pdq` / `--wide-phash`; the inlier counts of these false pairs, the best
of them printed, say how far `CONFIRM_INLIERS` lies above chance, and the wide radius's false
candidates say whether confirming there would pay.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from multiprocessing import Pool

import numpy as np
from corpus import describe, describe_picture, has_people, partner_picture, picture_at, save
from reshares import FAMILIES, Family

from media.entries import EntryHashes, entry_hashes
from media.features import CONFIRM_INLIERS, confirm_counts, decode_signature
from media.hashing import MediaHashes, entry_hashes_for_image, hash_media
from media.matching import Match, MatchPolicy, Radii, TakedownIndex, Tier, match_media
from media.worker_protocol import MAX_CONFIRM_SIGNATURES

FMR_TARGET = 1e-6


@dataclass
class Upload:
    picture: int
    family: int  # index in FAMILIES, or -1 for an unrelated picture as it is
    media: MediaHashes
    seconds: float  # hash_media's time (the edit itself not included)


@dataclass
class Hashed:
    picture: int
    entry: EntryHashes
    signature: bytes | None = None
    uploads: list[Upload] = field(default_factory=list)


# (picture, family) -> entry id -> inliers, for every pair confirmed (product's and study's).
Confirmations = dict[tuple[int, int], dict[int, int]]


def family_rng(seed: int, picture: int, family: Family) -> random.Random:
    return random.Random(f"{seed}/{picture}/{family.name}")


def reshare(seed: int, number: int, family: Family, entries: int) -> bytes:
    """Picture `number` re-shared through `family`, with the parameters drawn for it (a
    partner picture, when the family needs one, is none of the run's `entries`)."""
    picture = picture_at(number)
    rng = family_rng(seed, number, family)
    return family.edit(
        picture, rng, lambda: partner_picture(rng.randrange(2**31), entries)
    ).encode()


def upload_bytes(seed: int, number: int, family: int, entries: int) -> bytes:
    """The upload of picture `number` through family number `family` (-1: as it is)."""
    picture = picture_at(number)
    if family < 0:
        return save(picture)
    return reshare(seed, number, FAMILIES[family], entries)


def confirm_upload(
    job: tuple[int, int, int, int, list[tuple[int, bytes]]],
) -> tuple[tuple[int, int], dict[int, int], float]:
    """The inliers of one upload against each (entry, signature) asked, as the worker counts
    them (`confirm_counts`), and the CPU seconds it took."""
    seed, number, family, entries, asked = job
    data = upload_bytes(seed, number, family, entries)
    started = time.process_time()
    found = confirm_counts(data, [decode_signature(signature) for _, signature in asked])
    counts = {entry: count for (entry, _), count in zip(asked, found, strict=True)}
    return (number, family), counts, time.process_time() - started


def hash_picture(job: tuple[int, int, list[int], bool, int]) -> Hashed:
    seed, number, families, plain, entries = job
    picture = picture_at(number)
    media = entry_hashes_for_image(save(picture, "JPEG", quality=95))
    assert media.hashed, (number, media.reason)
    hashed = Hashed(number, entry_hashes([media]), media.signature)
    chosen = [-1] if plain else []
    for index in [*chosen, *families]:
        data = upload_bytes(seed, number, index, entries)
        started = time.process_time()
        upload = hash_media(data)
        seconds = time.process_time() - started
        assert upload.hashed, (number, index, upload.reason)
        hashed.uploads.append(Upload(number, index, upload, seconds))
    return hashed


@dataclass
class Tally:
    uploads: int = 0
    confident: int = 0
    people: int = 0  # uploads of pictures with people in them
    people_confident: int = 0
    review: int = 0
    hashes: int = 0  # confident before the local-feature confirmation
    confirmed: int = 0  # uploads that went to the confirmation (a worker job each)
    confirm_seconds: float = 0.0  # its CPU time
    plain: int = 0
    trimmed: int = 0
    false_confident: int = 0
    false_review: int = 0
    pairs: int = 0
    seconds: float = 0.0
    worst_seconds: float = 0.0
    # Each false match at the confident tier: (upload's picture, family, entry, hash, distance).
    false_matches: list[tuple[int, int, int, str, int]] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            if name == "worst_seconds":
                self.worst_seconds = max(self.worst_seconds, value)
            elif name == "false_matches":
                self.false_matches += value
            else:
                setattr(self, name, getattr(self, name) + value)


def product_candidates(matches: list[Match], signed: set[int]) -> list[int]:
    """The entries the product confirms for an upload (`services.confirmation.confirmed`):
    none when a match already removes; else its review-tier matches whose entry is signed."""
    if not matches or matches[0].tier is Tier.TAKEDOWN:
        return []
    weak = [m.entry_id for m in matches if m.tier is Tier.REVIEW and m.entry_id in signed]
    return weak[:MAX_CONFIRM_SIGNATURES]


def after_confirmation(
    matches: list[Match], counts: dict[int, int], signed: set[int]
) -> list[Match]:
    """The matches as the product acts on them once the confirmation has counted."""
    chosen = set(product_candidates(matches, signed))
    return [
        replace(m, tier=Tier.TAKEDOWN)
        if m.entry_id in chosen and counts.get(m.entry_id, 0) >= CONFIRM_INLIERS
        else m
        for m in matches
    ]


def tally(
    upload: Upload, index: TakedownIndex, own_only: TakedownIndex, policy: MatchPolicy,
    entries: int, listed: bool, confirmation: tuple[dict[int, int], float] | None,
    signed: set[int],
) -> Tally:  # fmt: skip
    result = Tally(uploads=1, pairs=entries - 1, seconds=upload.seconds)
    result.people = int(has_people(upload.picture))
    result.worst_seconds = upload.seconds
    result.trimmed = int(bool(upload.media.extra))
    matches = match_media(upload.media, index, policy)
    result.hashes = int(
        any(m.entry_id == upload.picture and m.tier is Tier.TAKEDOWN for m in matches)
    )
    if product_candidates(matches, signed):
        counts, seconds = confirmation or ({}, 0.0)
        result.confirmed, result.confirm_seconds = 1, seconds
        matches = after_confirmation(matches, counts, signed)
    for match in matches:
        if match.entry_id == upload.picture:
            result.review = 1
            result.confident = int(match.tier is Tier.TAKEDOWN)
            result.people_confident = result.confident * result.people
        elif match.tier is Tier.TAKEDOWN:
            result.false_confident += 1
            result.false_review += 1
            result.false_matches.append(
                (upload.picture, upload.family, match.entry_id, match.algorithm, match.distance)
            )
        else:
            result.false_review += 1
    if listed:
        plain = replace(upload.media, extra=())
        result.plain = int(
            any(
                m.entry_id == upload.picture and m.tier is Tier.TAKEDOWN
                for m in match_media(plain, own_only, policy)
            )
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pictures", type=int, default=300)
    parser.add_argument("--unrelated", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--family", action="append", default=[], help="a family's name (repeat; default all)"
    )
    parser.add_argument("--unrelated-edits", type=int, default=3)
    parser.add_argument("--study", type=int, default=3, help="nearest other entries confirmed")
    parser.add_argument("--wide-pdq", type=int, default=80)
    parser.add_argument("--wide-phash", type=int, default=12)
    parser.add_argument("--dump", default=None, help="write every upload's matches as JSON lines")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    families = [
        number
        for number, family in enumerate(FAMILIES)
        if not args.family or family.name in args.family
    ]
    print(f"seed {seed} (repeat with --seed {seed}); load average {os.getloadavg()[0]:.1f}")
    print(describe(args.pictures, args.unrelated))
    print("\nfamilies (each picture draws its own parameters from these ranges):")
    for number in families:
        print(f"  {FAMILIES[number].name:<22} {FAMILIES[number].ranges}")
    pick = random.Random(f"{seed}/unrelated")
    entries = args.pictures + args.unrelated
    jobs = [(seed, n, families, False, entries) for n in range(args.pictures)]
    jobs += [
        (seed, n, pick.sample(families, min(args.unrelated_edits, len(families))), True, entries)
        for n in range(args.pictures, args.pictures + args.unrelated)
    ]
    started = time.perf_counter()
    wide = MatchPolicy(pdq=Radii(31, args.wide_pdq), phash=Radii(8, args.wide_phash))
    with Pool(args.processes) as pool:
        results = pool.map(hash_picture, jobs, chunksize=2)
        hashed_in = time.perf_counter() - started
        print(f"hashed in {hashed_in:.0f} s; load average {os.getloadavg()[0]:.1f}")
        index = full_index(results)
        asked = confirmation_jobs(seed, results, index, wide, args.study)
        found = pool.map(confirm_upload, asked, chunksize=2)
    confirmations = {key: (counts, seconds) for key, counts, seconds in found}
    report(results, families, args.pictures, hashed_in, confirmations)
    study(results, confirmations, index, wide, args.study)
    if args.dump:
        dump(args.dump, results, args.pictures, index, confirmations)
    print(f"load average at the end {os.getloadavg()[0]:.1f} (2 cores)")


def full_index(results: list[Hashed]) -> TakedownIndex:
    index = TakedownIndex()
    for result in results:
        index.add(result.picture, result.entry.own, result.entry.variants)
    return index


def nearest_others(upload: Upload, entries: np.ndarray, ids: list[int], count: int) -> list[int]:
    """The `count` entries other than the upload's own whose PDQ is nearest any of the upload's
    (its frames, their mirror images and its extra pictures), however far."""
    values = [
        h for frame in (*upload.media.frames, *upload.media.extra) for h in frame.pdq_and_mirror()
    ]
    asked = np.unpackbits(np.frombuffer(b"".join(bytes.fromhex(h.hex) for h in values), np.uint8))
    asked = asked.reshape(len(values), 256)
    distances = (asked[:, None, :] != entries[None, :, :]).sum(axis=2).min(axis=0)
    order = [ids[i] for i in np.argsort(distances, kind="stable") if ids[i] != upload.picture]
    return order[:count]


def pdq_rows(results: list[Hashed]) -> tuple[np.ndarray, list[int]]:
    """Each entry's own first PDQ as a row of 256 bits, and the entries' ids (an entry whose
    picture is too flat to match has none and is left out)."""
    rows = [
        (r.picture, pdq[0])
        for r in results
        if (pdq := [h for h in r.entry.own if h.algorithm == "pdq"])
    ]
    bits = np.unpackbits(np.frombuffer(b"".join(bytes.fromhex(h.hex) for _, h in rows), np.uint8))
    return bits.reshape(len(rows), 256), [picture for picture, _ in rows]


def study_pairs(
    upload: Upload, index: TakedownIndex, wide: MatchPolicy, rows: tuple[np.ndarray, list[int]],
    count: int,
) -> set[int]:  # fmt: skip
    """The false pairs the threshold study confirms besides the product's candidates."""
    near = nearest_others(upload, *rows, count) if count else []
    widened = [m.entry_id for m in match_media(upload.media, index, wide)]
    return {e for e in (*near, *widened) if e != upload.picture}


def confirmation_jobs(
    seed: int, results: list[Hashed], index: TakedownIndex, wide: MatchPolicy, count: int
) -> list[tuple[int, int, int, int, list[tuple[int, bytes]]]]:
    """One job per upload with pairs to confirm: the product's candidates and the study's."""
    signatures = {r.picture: r.signature for r in results if r.signature is not None}
    rows = pdq_rows(results)
    policy = MatchPolicy()
    jobs = []
    for result in results:
        for upload in result.uploads:
            matches = match_media(upload.media, index, policy)
            asked = set(product_candidates(matches, set(signatures)))
            asked |= study_pairs(upload, index, wide, rows, count)
            own = upload.picture
            if own in signatures and any(
                m.entry_id == own for m in match_media(upload.media, index, wide)
            ):
                asked.add(own)  # what the wide radius would catch
            chosen = sorted(e for e in asked if e in signatures)
            if chosen:
                asked_of = [(e, signatures[e]) for e in chosen]
                jobs.append((seed, own, upload.family, len(results), asked_of))
    return jobs


def report(
    results: list[Hashed], families: list[int], listed: int, hashed_in: float,
    confirmations: dict[tuple[int, int], tuple[dict[int, int], float]],
) -> None:  # fmt: skip
    policy = MatchPolicy()
    index, own_only = full_index(results), TakedownIndex()
    for result in results:
        own_only.add(result.picture, result.entry.own)
    signed = {r.picture for r in results if r.signature is not None}
    entries = len(results)
    per_family = {number: Tally() for number in families}
    unrelated = Tally()
    for result in results:
        for upload in result.uploads:
            counted = tally(
                upload, index, own_only, policy, entries, result.picture < listed,
                confirmations.get((upload.picture, upload.family)), signed,
            )  # fmt: skip
            if result.picture < listed:
                per_family[upload.family].add(counted)
            else:
                unrelated.add(counted)
    uploads = sum(len(r.uploads) for r in results)
    print(
        f"\n{entries} entries ({listed} listed pictures re-shared, {entries - listed} unrelated), "
        f"{uploads} uploads, hashed in {hashed_in:.0f} s"
    )
    print(
        f"confident tier: PDQ<={policy.pdq.confident} (every turn), "
        f"pHash<={policy.phash.confident}; review tier: PDQ<={policy.pdq.review} (the upload and "
        f"its mirror), pHash<={policy.phash.review}\n"
    )
    header = (
        f"{'family':<22}{'plain':>7}{'hashes':>7}{'caught':>7}{'people':>7}{'review':>7}"
        f"{'trimmed':>8}{'false@conf':>11}{'false@rev':>10}{'pairs':>11}{'hash ms':>8}"
        f"{'worst':>6}{'confirmed':>10}{'ms':>5}"
    )
    print(header)
    total, geometric, caught, before, geometric_before = Tally(), [], [], [], []
    for number in families:
        family, counts = FAMILIES[number], per_family[number]
        print(row(family.name, counts))
        total.add(counts)
        caught.append(counts.confident / counts.uploads)
        before.append(counts.hashes / counts.uploads)
        if family.geometric:
            geometric.append(caught[-1])
            geometric_before.append(before[-1])
    print(row("unrelated (false only)", unrelated, listed=False))
    total.add(unrelated)
    print("-" * len(header))
    print(row("all uploads", total, listed=False))
    print(
        f"\nmean catch over families {sum(caught) / len(caught):.3f} (worst "
        f"{min(caught):.2f}); over the re-share families {mean(geometric)}; with the hashes "
        f"alone {sum(before) / len(before):.3f} and {mean(geometric_before)}"
    )
    print(
        f"false pairs at the confident tier {total.false_confident} of {total.pairs:,} "
        f"({total.false_confident / total.pairs:.1e}, target <= {FMR_TARGET:.0e}); at the review "
        f"tier {total.false_review} ({total.false_review / total.pairs:.1e})"
    )
    print(
        "hash ms: hash_media's CPU time an upload in a worker (mean, worst), under the load above;"
        "\nconfirmed: share of uploads the product confirmed (no match removed, a weak one had a "
        "signature), ms: its CPU time each (decode again, keypoints, every candidate's inliers)"
    )
    print(f"confirmation: inliers >= {CONFIRM_INLIERS} make a review-tier match a takedown")
    for picture, family, entry, algorithm, distance in total.false_matches:
        name = FAMILIES[family].name if family >= 0 else "as it is"
        print(
            f"false match at the confident tier: picture {picture} ({name}) -> entry {entry}, "
            f"{algorithm} at {distance}: {describe_picture(picture)} -> {describe_picture(entry)}"
        )


def mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):.3f}" if values else "-"


def row(name: str, counts: Tally, listed: bool = True) -> str:
    n = max(1, counts.uploads)

    def share(value: int) -> str:
        return f"{value / n:.2f}" if listed else "-"

    people = f"{counts.people_confident / counts.people:.2f}" if listed and counts.people else "-"

    confirm_ms = counts.confirm_seconds / max(1, counts.confirmed) * 1000
    return (
        f"{name:<22}{share(counts.plain):>7}{share(counts.hashes):>7}{share(counts.confident):>7}"
        f"{people:>7}{share(counts.review):>7}{counts.trimmed / n:>8.2f}"
        f"{counts.false_confident:>11}{counts.false_review:>10}{counts.pairs:>11,}"
        f"{counts.seconds / n * 1000:>8.0f}{counts.worst_seconds * 1000:>6.0f}"
        f"{counts.confirmed / n:>10.2f}{confirm_ms:>5.0f}"
    )


def study(
    results: list[Hashed], confirmations: dict[tuple[int, int], tuple[dict[int, int], float]],
    index: TakedownIndex, wide: MatchPolicy, count: int,
) -> None:  # fmt: skip
    """The inliers of false pairs (every pair confirmed that is not an upload and its own
    entry), the best of them named, and what confirming at the wide radius would do."""
    sizes = [len(r.signature) for r in results if r.signature is not None]
    print(
        f"\nsignatures: {len(sizes)} of {len(results)} entries, {np.mean(sizes):.0f} bytes mean, "
        f"{max(sizes)} most"
    )
    false, own = [], []
    for (picture, family), (counts, _seconds) in confirmations.items():
        for entry, found in counts.items():
            (own if entry == picture else false).append((found, picture, family, entry))
    if false:
        values = np.array([f[0] for f in false])
        print(
            f"false pairs confirmed: {len(false):,} (the product's candidates, the {count} "
            f"nearest other entries by PDQ, the wide radius's): inliers mean {values.mean():.1f}, "
            f"99.9th percentile {np.percentile(values, 99.9):.0f}, most {values.max()}; "
            f"at or above {CONFIRM_INLIERS}: {(values >= CONFIRM_INLIERS).sum()}"
        )
        strongest = sorted(false, reverse=True)
        shown = [f for f in strongest if f[0] >= CONFIRM_INLIERS // 2][:40] or strongest[:5]
        print(f"the false pairs with {CONFIRM_INLIERS // 2} inliers or more (else the best five):")
        for found, picture, family, entry in shown:
            name = FAMILIES[family].name if family >= 0 else "as it is"
            print(
                f"  {found} inliers: picture {picture} ({name}) -> entry {entry}: "
                f"{describe_picture(picture)} -> {describe_picture(entry)}"
            )
    if own:
        values = np.array([f[0] for f in own])
        print(
            f"own pairs confirmed: {len(own):,}, inliers median {np.median(values):.0f}; at or "
            f"above {CONFIRM_INLIERS}: {(values >= CONFIRM_INLIERS).mean():.2f}"
        )
    default = MatchPolicy()
    gained: Counter[str] = Counter()
    false_wide: Counter[str] = Counter()
    for result in results:
        for upload in result.uploads:
            counts, _ = confirmations.get((upload.picture, upload.family), ({}, 0.0))
            near = {m.entry_id for m in match_media(upload.media, index, default)}
            for match in match_media(upload.media, index, wide):
                if match.entry_id in near:
                    continue
                if match.entry_id != upload.picture:
                    false_wide[match.algorithm] += 1
                elif counts.get(match.entry_id, 0) >= CONFIRM_INLIERS:
                    gained[match.algorithm] += 1
    pairs = sum(len(r.uploads) for r in results) * (len(results) - 1)
    for algorithm, radius in (("pdq", wide.pdq.review), ("phash", wide.phash.review)):
        print(
            f"wide radius {algorithm} <= {radius}, beyond the review tier: "
            f"{gained[algorithm]} more uploads confirmed with their own entry; "
            f"{false_wide[algorithm]} false candidates ({false_wide[algorithm] / pairs:.1e} of "
            f"{pairs:,} pairs; each a confirmation job)"
        )


def dump(
    path: str, results: list[Hashed], listed: int, index: TakedownIndex,
    confirmations: dict[tuple[int, int], tuple[dict[int, int], float]],
) -> None:  # fmt: skip
    """Every upload's matches (default policy, pHash never alone, and without the upload's
    quarters: what the hashes found before `media.hashing.region_hashes`) with the inliers
    counted for its pairs, one JSON line each: what a confirmation rule can be weighed on
    offline."""
    with open(path, "w") as out:
        for result in results:
            for upload in result.uploads:
                counts, _ = confirmations.get((upload.picture, upload.family), ({}, 0.0))
                line = {
                    "picture": upload.picture,
                    "family": FAMILIES[upload.family].name if upload.family >= 0 else "as it is",
                    "listed": result.picture < listed,
                    "signed": result.signature is not None,
                    "counts": {str(entry): found for entry, found in counts.items()},
                }
                asked = {
                    "default": (upload.media, MatchPolicy()),
                    "strict": (upload.media, MatchPolicy(phash_alone=-1)),
                    "whole": (replace(upload.media, regions=()), MatchPolicy()),
                }
                for name, (media, policy) in asked.items():
                    line[name] = [
                        [m.entry_id, m.algorithm, m.distance, str(m.tier), m.frame]
                        for m in match_media(media, index, policy)
                    ]
                out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
