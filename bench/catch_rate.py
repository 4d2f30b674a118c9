"""Re-share catch rate per edit family, drawn from parameter ranges, and the false matches.

Run: .venv/bin/python bench/catch_rate.py [--pictures 300] [--unrelated 1000] [--seed S]
     [--processes 2] [--family NAME ...] [--unrelated-edits 3]
Fast mode (a couple of minutes on one core): --pictures 40 --unrelated 100 --processes 1.
(bench/fetch_corpus.py brings the real photographs first; see bench/README.md.)

Pictures: the first `pictures` of the corpus (bench/corpus.py: real photographs first, then
procedural photo-like pictures) are the listed ones; each is added to a takedown index as the
product adds it (`entry_hashes_for_image`, `entry_hashes`) and re-shared once per family of
bench/reshares.py, the family's parameters drawn for that picture from `random.Random(seed,
picture, family)`. The next `unrelated` pictures are listed too, and each is uploaded as it is
and through `unrelated-edits` families drawn at random: they only count false matches.

An upload goes through the product's path (`hash_media`, then `match_media` with the default
`MatchPolicy`): it is caught at the confident tier when its own entry matches at the takedown
tier, at the review tier when its own entry matches at either. A false pair is a match with any
other picture's entry; the pair rate divides by uploads x (entries - 1). The "plain" column is
the confident tier against the entry's own PDQ and pHash only, without the upload's trimmed
view or the entry's variants: what the hashes alone catch. "people" is the confident tier's catch
among the pictures with people in them (idols are people).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from dataclasses import dataclass, field, replace
from multiprocessing import Pool

from corpus import describe, describe_picture, has_people, partner_picture, picture_at, save
from reshares import FAMILIES, Family

from media.entries import EntryHashes, entry_hashes
from media.hashing import MediaHashes, entry_hashes_for_image, hash_media
from media.matching import MatchPolicy, TakedownIndex, Tier, match_media

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
    uploads: list[Upload] = field(default_factory=list)


def family_rng(seed: int, picture: int, family: Family) -> random.Random:
    return random.Random(f"{seed}/{picture}/{family.name}")


def reshare(seed: int, number: int, family: Family) -> bytes:
    """Picture `number` re-shared through `family`, with the parameters drawn for it."""
    picture = picture_at(number)
    rng = family_rng(seed, number, family)
    return family.edit(picture, rng, lambda: partner_picture(rng.randrange(2**31))).encode()


def hash_picture(job: tuple[int, int, list[int], bool]) -> Hashed:
    seed, number, families, plain = job
    picture = picture_at(number)
    media = entry_hashes_for_image(save(picture, "JPEG", quality=95))
    assert media.hashed, (number, media.reason)
    hashed = Hashed(number, entry_hashes([media]))
    chosen = [(-1, save(picture))] if plain else []
    chosen += [(f, b"") for f in families]
    for index, data in chosen:
        if index >= 0:
            family = FAMILIES[index]
            rng = family_rng(seed, number, family)
            data = family.edit(picture, rng, lambda r=rng: partner_picture(r.randrange(2**31)))
            data = data.encode()
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


def tally(
    upload: Upload, index: TakedownIndex, own_only: TakedownIndex, policy: MatchPolicy,
    entries: int, listed: bool,
) -> Tally:  # fmt: skip
    result = Tally(uploads=1, pairs=entries - 1, seconds=upload.seconds)
    result.people = int(has_people(upload.picture))
    result.worst_seconds = upload.seconds
    result.trimmed = int(bool(upload.media.extra))
    for match in match_media(upload.media, index, policy):
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
    jobs = [(seed, n, families, False) for n in range(args.pictures)]
    jobs += [
        (seed, n, pick.sample(families, min(args.unrelated_edits, len(families))), True)
        for n in range(args.pictures, args.pictures + args.unrelated)
    ]
    started = time.perf_counter()
    with Pool(args.processes) as pool:
        results = pool.map(hash_picture, jobs, chunksize=2)
    hashed_in = time.perf_counter() - started
    report(results, families, args.pictures, hashed_in)
    print(f"load average at the end {os.getloadavg()[0]:.1f} (2 cores)")


def report(results: list[Hashed], families: list[int], listed: int, hashed_in: float) -> None:
    policy = MatchPolicy()
    index, own_only = TakedownIndex(), TakedownIndex()
    for result in results:
        index.add(result.picture, (*result.entry.own, *result.entry.variants))
        own_only.add(result.picture, result.entry.own)
    entries = len(results)
    per_family = {number: Tally() for number in families}
    unrelated = Tally()
    for result in results:
        for upload in result.uploads:
            counted = tally(upload, index, own_only, policy, entries, result.picture < listed)
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
        f"{'family':<22}{'plain':>7}{'caught':>8}{'people':>8}{'review':>8}{'trimmed':>8}"
        f"{'false@conf':>11}{'false@rev':>10}{'pairs':>11}{'hash ms':>8}{'worst':>7}"
    )
    print(header)
    total, geometric, caught = Tally(), [], []
    for number in families:
        family, counts = FAMILIES[number], per_family[number]
        print(row(family.name, counts))
        total.add(counts)
        caught.append(counts.confident / counts.uploads)
        if family.geometric:
            geometric.append(caught[-1])
    print(row("unrelated (false only)", unrelated, listed=False))
    total.add(unrelated)
    print("-" * len(header))
    print(row("all uploads", total, listed=False))
    print(
        f"\nmean catch over families {sum(caught) / len(caught):.3f} (worst "
        f"{min(caught):.2f}); over the re-share families {mean(geometric)}"
    )
    print(
        f"false pairs at the confident tier {total.false_confident} of {total.pairs:,} "
        f"({total.false_confident / total.pairs:.1e}, target <= {FMR_TARGET:.0e}); at the review "
        f"tier {total.false_review} ({total.false_review / total.pairs:.1e})"
    )
    print(
        "hash ms: hash_media's CPU time an upload in a worker (mean, worst), under the load above"
    )
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

    return (
        f"{name:<22}{share(counts.plain):>7}{share(counts.confident):>8}{people:>8}"
        f"{share(counts.review):>8}{counts.trimmed / n:>8.2f}{counts.false_confident:>11}"
        f"{counts.false_review:>10}{counts.pairs:>11,}{counts.seconds / n * 1000:>8.0f}"
        f"{counts.worst_seconds * 1000:>7.0f}"
    )


if __name__ == "__main__":
    main()
