"""Geometric re-shares through the product's own matching: caught per family, and false matches.

Run: .venv/bin/python bench/reshare_views.py [pictures] [edits per family] [--seed S]
       [--unrelated N] [--processes P]

A quick check of media/views.py while bench/catch_rate.py grows its randomized families: each
real photo (bench/corpus.py's, then its photo-like pictures) is added as a takedown entry
(`entry_hashes_for_image`, the stored hashes through `media.entries`), every family of
tests/media/reshares.py is drawn `edits` times per picture from its ranges with the printed seed,
and each re-share is hashed as an upload (`hash_media`) and matched with `match_media` and the
default `MatchPolicy`, with and without the extra views. A re-share is caught at the confident
tier when its own entry is a takedown match; "review" counts it at either tier. Unrelated
pictures (further corpus pictures, and the same families of them) are matched against every
entry: any match of theirs is a false one, counted as pairs (upload, entry).
"""

from __future__ import annotations

import argparse
import random
import sys
from multiprocessing import Pool
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from corpus import picture_at, real_count, save  # noqa: E402

from media.entries import entry_hashes  # noqa: E402
from media.hashing import MediaHashes, entry_hashes_for_image, hash_media  # noqa: E402
from media.matching import MatchPolicy, TakedownIndex, Tier, match_media  # noqa: E402
from tests.media.reshares import RESHARES  # noqa: E402

POLICY = MatchPolicy()


def _uploads(job: tuple[int, int, int]) -> list[tuple[str, MediaHashes, MediaHashes]]:
    number, edits, seed = job
    picture = picture_at(number)
    rng = random.Random(seed * 1_000_003 + number)
    found = []
    for family, edit in RESHARES.items():
        for _ in range(edits):
            data = save(edit(picture, rng).convert("RGB"), "JPEG", quality=85)
            found.append((family, hash_media(data, views=False), hash_media(data)))
    return found


def _plain(number: int) -> tuple[str, MediaHashes, MediaHashes]:
    data = save(picture_at(number), "JPEG")
    return "plain", hash_media(data, views=False), hash_media(data)


def _entry(number: int) -> MediaHashes:
    return entry_hashes_for_image(save(picture_at(number), "JPEG", quality=95))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pictures", type=int, nargs="?", default=30)
    parser.add_argument("edits", type=int, nargs="?", default=3)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 20))
    parser.add_argument("--unrelated", type=int, default=60)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(
        f"seed {args.seed}; {args.pictures} listed pictures ({real_count()} real photos in "
        f"the corpus, the rest photo-like), {args.edits} edits per family and picture, "
        f"{args.unrelated} unrelated pictures with the same edits"
    )
    listed = range(args.pictures)
    unrelated = range(args.pictures, args.pictures + args.unrelated)
    with Pool(args.processes) as pool:
        entries = pool.map(_entry, listed)
        uploads = pool.map(_uploads, [(n, args.edits, args.seed) for n in listed])
        strangers = pool.map(_uploads, [(n, 1, args.seed) for n in unrelated])
        plain = pool.map(_plain, unrelated)
    index = TakedownIndex()
    for number, media in zip(listed, entries, strict=True):
        stored = entry_hashes([media])
        index.add(number, stored.own, stored.variants)
    for label, which in (("before (main)", 1), ("with views", 2)):
        print(f"\n{label}: caught at the confident tier / at either tier")
        totals: dict[str, list[int]] = {}
        for number, found in zip(listed, uploads, strict=True):
            for family, *hashed in found:
                matches = {m.entry_id: m for m in match_media(hashed[which - 1], index, POLICY)}
                own = matches.get(number)
                counts = totals.setdefault(family, [0, 0, 0])
                counts[0] += own is not None and own.tier is Tier.TAKEDOWN
                counts[1] += own is not None
                counts[2] += 1
        for family, (confident, either, count) in totals.items():
            print(f"  {family:34} {confident / count:5.2f}  {either / count:5.2f}  ({count})")
        means = [c / n for c, _, n in totals.values()]
        print(f"  {'mean over families':34} {sum(means) / len(means):5.2f}")
        false_confident = false_review = queries = 0
        for family, *hashed in [h for found in strangers for h in found] + plain:
            for match in match_media(hashed[which - 1], index, POLICY):
                if match.tier is Tier.TAKEDOWN:
                    print(
                        f"    false: a {family} upload, entry {match.entry_id}, "
                        f"{match.algorithm} {match.distance}, picture {match.frame}"
                    )
                false_confident += match.tier is Tier.TAKEDOWN
                false_review += match.tier is Tier.REVIEW
            queries += 1
        pairs = queries * args.pictures
        print(
            f"  false matches: {false_confident} confident, {false_review} review, of "
            f"{pairs:,} (upload, entry) pairs"
        )


if __name__ == "__main__":
    main()
