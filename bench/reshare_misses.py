"""Why the weak re-share families miss: for each miss, is it no view around the picture, a view
found but its hash too far, or a review-tier match the local features did not confirm?

Run: .venv/bin/python bench/reshare_misses.py [--pictures 40] [--seed S] [--family NAME ...]

Each of the first `pictures` corpus pictures is listed alone (its entry as catch_rate.py makes
it) and re-shared once per family with the parameters catch_rate.py draws for it (same seed,
same `family_rng`), then matched against its own entry only (`match_media`, default policy)
and, at the review tier, confirmed against its signature (`confirm_counts`). A miss is sorted:
- (a) no view: no candidate quadrilateral of `media.views` lies around the picture (each
  corner within `NEAR` of the frame's longer side of where the family pasted it; for a turned
  canvas, no tilt within 1 degree of the turn),
- (b) too far: such a view exists (or none is needed: stickers), but no hash of the upload
  comes within the review radius,
- (c) unconfirmed: a review-tier match whose confirmation found fewer than CONFIRM_INLIERS.
"ideal" is the share of the misses whose exact picture region (cut out with the family's own
geometry, warped upright) would match at the confident tier: what perfect detection would give.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from catch_rate import family_rng  # noqa: E402
from corpus import partner_picture, picture_at, save  # noqa: E402
from reshares import FAMILIES, Reshare  # noqa: E402

from media import views  # noqa: E402
from media.decode import decode_media  # noqa: E402
from media.entries import entry_hashes  # noqa: E402
from media.features import CONFIRM_INLIERS, confirm_counts, decode_signature  # noqa: E402
from media.hashing import MediaHashes, entry_hashes_for_image, hash_frame, hash_media  # noqa: E402
from media.matching import MatchPolicy, TakedownIndex, Tier, match_media  # noqa: E402

NEAR = 0.03
WEAK = ("rotate, canvas kept", "rotate, canvas grown", "phone post", "story 9:16",
        "stickers, captions", "photo of a screen", "collage")  # fmt: skip


def candidate_quads(rgb: np.ndarray) -> tuple[list[np.ndarray], float | None]:
    """The quads `views.picture_views` warps (in the picture's pixels), and the tilt it undoes."""
    found = views.candidates(rgb)
    return list(found.quads), found.tilt


def true_quad(reshare: Reshare) -> np.ndarray | None:
    if reshare.params.get("corners") is not None:
        return np.array(reshare.params["corners"], dtype=np.float32)
    if reshare.box is None:
        return None
    x0, y0, x1, y1 = reshare.box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def upright(rgb: np.ndarray, quad: np.ndarray) -> Image.Image:
    return Image.fromarray(views._warp(rgb, quad))


def matched(media: MediaHashes, index: TakedownIndex) -> Tier | None:
    found = [m for m in match_media(media, index, MatchPolicy()) if m.entry_id == 0]
    return found[0].tier if found else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pictures", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--family", action="append", default=[])
    parser.add_argument("--unrelated", type=int, default=100, help="as catch_rate's: partners")
    args = parser.parse_args()
    chosen = [f for f in FAMILIES if f.name in (args.family or WEAK)]
    print(f"seed {args.seed}; {args.pictures} pictures; families {[f.name for f in chosen]}")
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    entries = args.pictures + args.unrelated
    for number in range(args.pictures):
        picture = picture_at(number)
        entry_media = entry_hashes_for_image(save(picture, "JPEG", quality=95))
        stored = entry_hashes([entry_media])
        index = TakedownIndex()
        index.add(0, stored.own, stored.variants)
        for family in chosen:
            rng = family_rng(args.seed, number, family)
            reshare = family.edit(
                picture,
                rng,
                lambda rng=rng: partner_picture(rng.randrange(2**31), entries),
            )
            data = reshare.encode()
            upload = hash_media(data)
            tier = matched(upload, index)
            counts = kinds[family.name]
            counts["uploads"] += 1
            if tier is Tier.TAKEDOWN:
                counts["hashes"] += 1
                continue
            rgb = np.asarray(reshare.image.convert("RGB"))
            if tier is Tier.REVIEW and entry_media.signature is not None:
                inliers = confirm_counts(data, [decode_signature(entry_media.signature)])[0]
                if inliers >= CONFIRM_INLIERS:
                    counts["confirmed"] += 1
                    continue
                counts["(c) unconfirmed"] += 1
                kind = "c"
            else:
                kind = "b"
                quad = true_quad(reshare)
                small = np.asarray(decode_media(data).frames[0].image.convert("RGB"))
                scale = small.shape[1] / rgb.shape[1]
                quads, tilt = candidate_quads(small)
                if "degrees" in reshare.params:
                    near = tilt is not None and abs(tilt - reshare.params["degrees"]) <= 1
                    kind = "b" if near else "a"
                elif quad is not None and reshare.params.get("covered") is None:
                    side = max(rgb.shape[:2])
                    near = any(np.abs(q / scale - quad).max() <= NEAR * side for q in quads)
                    kind = "b" if near else "a"
                counts["(a) no view" if kind == "a" else "(b) too far"] += 1
            quad = true_quad(reshare)
            if quad is not None and reshare.params.get("covered") is None:
                ideal = hash_frame(upright(rgb, quad), variants=False)
                ideal_media = MediaHashes(upload.outcome, (ideal,), kind="image")
                if matched(ideal_media, index) is Tier.TAKEDOWN:
                    counts[f"ideal {kind}"] += 1
            if kind == "c":
                counts["inliers c"] += inliers
        print(number, end=" ", flush=True)
    print()
    head = f"{'family':<22}{'n':>4}{'hashes':>7}{'confirm':>8}{'(a)':>5}{'(b)':>5}{'(c)':>5}"
    print(head + f"{'ideal a/b/c':>13}{'mean inl c':>11}")
    for name, c in kinds.items():
        n = c["uploads"]
        ideal = f"{c['ideal a']}/{c['ideal b']}/{c['ideal c']}"
        mean_c = c["inliers c"] / c["(c) unconfirmed"] if c["(c) unconfirmed"] else 0
        print(
            f"{name:<22}{n:>4}{c['hashes'] / n:>7.2f}{c['confirmed'] / n:>8.2f}"
            f"{c['(a) no view']:>5}{c['(b) too far']:>5}{c['(c) unconfirmed']:>5}"
            f"{ideal:>13}{mean_c:>11.1f}"
        )


if __name__ == "__main__":
    main()
