#!/usr/bin/python3
"""Writes the malformed / hostile ONNX files the CLI tests feed to ssdc.

Run with Debian's interpreter: /usr/bin/python3 tests/data/make_bad_models.py
Output: tests/data/bad/*.onnx (+ inputs), deterministic.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad")
GOOD = os.path.join(HERE, "..", "..", "models", "cnn1d.onnx")


def save(model, name, check=True):
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name))


def relu_model(nodes, inputs=None, outputs=None, inits=(), opset=13):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])]
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="ssdc-tests")


def main():
    os.makedirs(OUT, exist_ok=True)
    good = open(GOOD, "rb").read()
    # truncated: the first 60% of a real model
    open(os.path.join(OUT, "truncated.onnx"), "wb").write(good[: len(good) * 6 // 10])
    # random bytes
    rng = np.random.default_rng(1234)
    open(os.path.join(OUT, "random.onnx"), "wb").write(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    # a cycle: a = Relu(b), b = Relu(a), y = Add(a, x)
    nodes = [helper.make_node("Relu", ["b"], ["a"], name="loop_a"),
             helper.make_node("Relu", ["a"], ["b"], name="loop_b"),
             helper.make_node("Add", ["a", "x"], ["y"], name="out")]
    save(relu_model(nodes), "cycle.onnx", check=False)
    # missing initializer: Gemm refers to weight 'W' that is nowhere
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="fc", transB=1)]
    b = numpy_helper.from_array(np.zeros(4, np.float32), "B")
    save(relu_model(nodes, inits=[b]), "missing_initializer.onnx", check=False)
    # shape mismatch: Gemm weight with the wrong inner dimension
    w = numpy_helper.from_array(np.ones((4, 5), np.float32), "W")
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="fc", transB=1)]
    save(relu_model(nodes, inits=[w, b]), "shape_mismatch.onnx", check=False)
    # unsupported ops (two of them: both must be named)
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Hardmax", ["r"], ["h"], name="hardmax_node"),
             helper.make_node("LpNormalization", ["h"], ["y"], name="lpnorm_node")]
    save(relu_model(nodes), "unsupported_op.onnx")
    # negative dimension in an initializer
    t = helper.make_tensor("W", TensorProto.FLOAT, [4, 1], np.ones(4, np.float32))
    t.dims[1] = -3
    nodes = [helper.make_node("Add", ["x", "W"], ["y"], name="add")]
    save(relu_model(nodes, inits=[t]), "negative_dim.onnx", check=False)
    # huge dimension: ConstantOfShape asking for 2^40 x 2^20 floats
    shape = numpy_helper.from_array(np.array([1 << 40, 1 << 20], np.int64), "big_shape")
    nodes = [helper.make_node("ConstantOfShape", ["big_shape"], ["c"], name="bomb"),
             helper.make_node("Add", ["x", "c"], ["y"], name="add")]
    save(relu_model(nodes, inits=[shape]), "huge_dim.onnx", check=False)
    # huge but representable: 2^14 x 2^14 floats (1 GiB), refused by --memory-limit
    shape = numpy_helper.from_array(np.array([1 << 14, 1 << 14], np.int64), "big_shape")
    nodes = [helper.make_node("ConstantOfShape", ["big_shape"], ["c"], name="big"),
             helper.make_node("ReduceSum", ["c"], ["s"], name="sum", keepdims=0),
             helper.make_node("Add", ["x", "s"], ["y"], name="add")]
    save(relu_model(nodes, inits=[shape]), "big_alloc.onnx", check=False)
    # a valid tiny model, for wrong-input tests
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    save(relu_model(nodes), "relu.onnx")
    np.save(os.path.join(OUT, "x_2x4.npy"), np.arange(-4, 4, dtype=np.float32).reshape(2, 4))
    np.save(os.path.join(OUT, "x_2x5.npy"), np.zeros((2, 5), np.float32))
    np.save(os.path.join(OUT, "x_int64.npy"), np.zeros((2, 4), np.int64))
    open(os.path.join(OUT, "broken.npy"), "wb").write(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'")


if __name__ == "__main__":
    main()
