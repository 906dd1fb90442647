#!/usr/bin/python3
"""Writes the ONNX files of the code generation tests (tests/test_codegen.c).

Run with Debian's interpreter: /usr/bin/python3 tests/data/codegen/make_codegen_models.py
Output: tests/data/codegen/*.onnx, deterministic (fixed seeds).

  mixed.onnx        one input [batch,3,12,12], one output: most ops codegen emits, in
                    shapes that exercise padding, strides, dilations, groups, ceil_mode,
                    count_include_pad, broadcasting and an unfolded BatchNormalization
  multi_io.onnx     two inputs, three outputs (NAME_run_multi)
  classify.onnx     a classifier head with int64, int32 and bool outputs (ArgMax, Cast, Greater, Not)
  unsupported.onnx  runs in the runtime but has nodes codegen refuses (TopK, training-mode
                    BatchNormalization, MaxPool's Indices): every one must be named at once
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261129)


def init(name, *shape, scale=0.3):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def save(graph, name, opset=13):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="ssdc-tests")
    model.ir_version = 7
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(HERE, name))


def mixed():
    N = helper.make_node
    nodes = [
        # 2-D conv, stride 2, pads, dilation 1 -> [b,8,6,6]
        N("Conv", ["x", "w1", "b1"], ["c1"], name="conv_s2", kernel_shape=[3, 3], strides=[2, 2],
          pads=[1, 1, 1, 1]),
        N("LeakyRelu", ["c1"], ["a1"], name="leaky", alpha=0.1),
        # grouped conv with dilation 2 and asymmetric pads -> [b,8,6,6]
        N("Conv", ["a1", "w2"], ["c2"], name="conv_group_dil", kernel_shape=[3, 3], group=2,
          dilations=[2, 2], pads=[2, 1, 2, 3]),
        # unfolded BatchNormalization (after a Sigmoid)
        N("Sigmoid", ["c2"], ["s2"], name="sigmoid"),
        N("BatchNormalization", ["s2", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], name="bn",
          epsilon=1e-3),
        # depthwise conv, SAME_UPPER -> [b,8,6,6]
        N("Conv", ["bn", "w3", "b3"], ["c3"], name="conv_dw", kernel_shape=[3, 3], group=8,
          auto_pad="SAME_UPPER"),
        N("Tanh", ["c3"], ["t3"], name="tanh"),
        # pools: MaxPool ceil_mode -> [b,8,3,3]; AveragePool include pad -> [b,8,3,3]
        N("MaxPool", ["t3"], ["mp"], name="maxpool_ceil", kernel_shape=[3, 3], strides=[2, 2],
          ceil_mode=1),
        N("AveragePool", ["t3"], ["ap"], name="avgpool_pad", kernel_shape=[3, 3], strides=[2, 2],
          pads=[1, 1, 1, 1], count_include_pad=1),
        N("Sub", ["mp", "ap"], ["d1"], name="sub"),
        N("Clip", ["d1", "lo", "hi"], ["cl"], name="clip"),
        N("Pad", ["cl", "pads"], ["pd"], name="pad_reflect", mode="reflect"),  # [b,8,5,5]
        N("Transpose", ["pd"], ["tr"], name="transpose", perm=[0, 2, 3, 1]),   # [b,5,5,8]
        N("Slice", ["tr", "sl_start", "sl_end", "sl_axes", "sl_steps"], ["sl"], name="slice"),
        N("Abs", ["sl"], ["ab"], name="abs"),
        N("Sqrt", ["ab"], ["sq"], name="sqrt"),
        N("Concat", ["sl", "sq"], ["cc"], name="concat", axis=3),              # [b,3,5,16]
        N("ReduceMean", ["cc"], ["rm"], name="reducemean", axes=[1], keepdims=0),  # [b,5,16]
        N("MatMul", ["rm", "mm_w"], ["mm"], name="matmul"),                    # [b,5,6]
        N("Add", ["mm", "bias_row"], ["mb"], name="add_bcast"),
        N("Softmax", ["mb"], ["sm"], name="softmax", axis=1),
        N("Exp", ["sm"], ["ex"], name="exp"),
        N("Log", ["ex"], ["lg"], name="log"),
        N("Neg", ["lg"], ["ng"], name="neg"),
        N("Div", ["ng", "two"], ["dv"], name="div"),
        N("Flatten", ["dv"], ["fl"], name="flatten", axis=1),                  # [b,30]
        N("Gemm", ["fl", "g_w", "g_b"], ["gm"], name="gemm_transb", transB=1, alpha=0.5,
          beta=2.0),                                                           # [b,7]
        N("Relu", ["gm"], ["rl"], name="relu"),
        N("Unsqueeze", ["rl", "uaxes"], ["us"], name="unsqueeze"),             # [b,1,7]
        N("GlobalMaxPool", ["us"], ["gp"], name="globalmax"),                  # [b,1,1]
        N("Squeeze", ["gp", "saxes"], ["sg"], name="squeeze"),                 # [b,1]
        N("Mul", ["rl", "sg"], ["ml"], name="mul_bcast"),                      # [b,7]
        N("LogSoftmax", ["ml"], ["y"], name="logsoftmax", axis=-1),
    ]
    inits = [
        init("w1", 8, 3, 3, 3), init("b1", 8), init("w2", 8, 4, 3, 3),
        numpy_helper.from_array((rng.random(8) + 0.5).astype(np.float32), "bn_s"),
        init("bn_b", 8), init("bn_m", 8),
        numpy_helper.from_array((rng.random(8) + 0.5).astype(np.float32), "bn_v"),
        init("w3", 8, 1, 3, 3), init("b3", 8),
        numpy_helper.from_array(np.array(-0.6, np.float32), "lo"),
        numpy_helper.from_array(np.array(0.7, np.float32), "hi"),
        ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]),
        ints("sl_start", [0, 4]), ints("sl_end", [5, -100]), ints("sl_axes", [1, 2]),
        ints("sl_steps", [2, -1]),
        init("mm_w", 16, 6), init("bias_row", 6),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        init("g_w", 7, 30), init("g_b", 7),
        ints("uaxes", [1]), ints("saxes", [2]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 12, 12])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 7])
    save(helper.make_graph(nodes, "mixed", [x], [y], inits), "mixed.onnx")


def multi_io():
    N = helper.make_node
    nodes = [
        N("Add", ["a", "b"], ["s"], name="add"),          # [batch,4,6] + [6]
        N("Mul", ["s", "a"], ["p"], name="mul"),
        N("ReduceSum", ["p", "axes"], ["r"], name="reducesum", keepdims=1),  # [batch,4,1]
        N("Sub", ["p", "r"], ["out_centered"], name="center"),
        N("Max", ["a", "s", "p"], ["out_max"], name="max3"),
        N("Tile", ["b", "reps"], ["out_tiled"], name="tile"),
    ]
    inits = [ints("axes", [2]), ints("reps", [2])]
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4, 6])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [6])
    outs = [helper.make_tensor_value_info("out_centered", TensorProto.FLOAT, ["batch", 4, 6]),
            helper.make_tensor_value_info("out_max", TensorProto.FLOAT, ["batch", 4, 6]),
            helper.make_tensor_value_info("out_tiled", TensorProto.FLOAT, [12])]
    save(helper.make_graph(nodes, "multi_io", [a, b], outs, inits), "multi_io.onnx")


def unsupported():
    N = helper.make_node
    nodes = [
        N("Relu", ["x"], ["r"], name="relu_ok"),
        N("TopK", ["r", "k"], ["vals", "ind"], name="topk_node", axis=1),
        N("Reshape", ["r", "shape4"], ["r4"], name="reshape_ok"),
        N("BatchNormalization", ["r4", "s", "b", "m", "v"], ["bn", "rm", "rv"], name="bn_train_node",
          training_mode=1),
        N("MaxPool", ["bn"], ["mp", "mp_idx"], name="maxpool_indices_node", kernel_shape=[2]),
        N("Flatten", ["mp"], ["mpf"], name="flatten_ok"),
        N("Concat", ["vals", "mpf"], ["y"], name="concat_ok", axis=1),
    ]
    inits = [ints("k", [2]), ints("shape4", [-1, 2, 2]),
             numpy_helper.from_array(np.ones(2, np.float32), "s"),
             numpy_helper.from_array(np.zeros(2, np.float32), "b"),
             numpy_helper.from_array(np.zeros(2, np.float32), "m"),
             numpy_helper.from_array(np.ones(2, np.float32), "v")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("ind", TensorProto.INT64, ["batch", 2]),
            helper.make_tensor_value_info("mp_idx", TensorProto.INT64, ["batch", 2, 1])]
    save(helper.make_graph(nodes, "unsupported", [x], outs, inits), "unsupported.onnx", opset=15)


def classify():
    N = helper.make_node
    nodes = [
        N("Gemm", ["x", "w", "b"], ["logits"], name="fc", transB=1),
        N("ArgMax", ["logits"], ["cls"], name="argmax", axis=1, keepdims=0),
        N("Cast", ["cls"], ["cls_i32"], name="cast", to=TensorProto.INT32),
        N("Greater", ["logits", "zero"], ["positive"], name="greater"),
        N("Not", ["positive"], ["non_positive"], name="not"),
    ]
    inits = [init("w", 5, 8), init("b", 5),
             numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    outs = [helper.make_tensor_value_info("cls", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("cls_i32", TensorProto.INT32, ["batch"]),
            helper.make_tensor_value_info("non_positive", TensorProto.BOOL, ["batch", 5])]
    save(helper.make_graph(nodes, "classify", [x], outs, inits), "classify.onnx")


if __name__ == "__main__":
    mixed()
    multi_io()
    unsupported()
    classify()
