#!/usr/bin/python3
"""Builds the small ONNX models bundled with ssdc, with NumPy fixtures.

Run with Debian's interpreter (it has torch 1.13.1 and onnx 1.12):

    /usr/bin/python3 models/make_models.py [--out-dir models] [--only NAME ...]

For every model NAME it writes
    NAME.onnx        opset 13, input "input", output "logits", dim 0 named "batch"
    NAME.input.npy   float32, a batch of 4 random inputs (torch.randn)
    NAME.output.npy  float32, PyTorch's output for it in eval mode

Weights are random (torch.manual_seed per model), BatchNorm layers get
non-trivial affine parameters and running statistics (a few train-mode forward
passes over shifted/scaled random data), so nothing is an identity.

How each file is exported (torch 1.13.1 behaviour, checked):
  * TrainingMode.EVAL (the default) folds BatchNormalization into the preceding
    Conv and removes Dropout -- the file most users have.  har6 is exported
    like this on purpose.
  * TrainingMode.PRESERVE with the model in eval mode keeps BatchNormalization
    (inference form, running stats as initializers) but still removes Dropout.
    resnet1d is exported like this.
  * To keep Dropout, cnn1d and cnn2d are exported with PRESERVE, the model in
    eval mode except the Dropout modules, which are put in train mode for the
    trace.  The exporter then emits Dropout(x, ratio, training_mode=True);
    this script rewrites the node to its inference form (so the file computes
    exactly the eval-mode outputs of the fixtures):
      cnn1d: Dropout(x, ratio)                        training_mode omitted
      cnn2d: Dropout(x, ratio, training_mode=False)   explicit false constant
    and drops the unused mask output.  (TrainingMode.TRAINING is not used: it
    also exports BatchNormalization in training mode, batch statistics and
    five outputs, which is not an inference model.)
"""

import argparse
import hashlib
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper
import torch
import torch.nn as nn

OPSET = 13
FIXTURE_BATCH = 4


# --------------------------------------------------------------------------- models

class Cnn1d(nn.Module):
    """Univariate time-series classifier (FCN-like), input [B,1,128], 3 classes."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 16, 7, padding=3)
        self.bn1 = nn.BatchNorm1d(16)
        self.conv2 = nn.Conv1d(16, 32, 5, padding=2)
        self.bn2 = nn.BatchNorm1d(32)
        self.conv3 = nn.Conv1d(32, 32, 3, padding=1)
        self.bn3 = nn.BatchNorm1d(32)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(0.2)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(32, n_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.dropout(x)
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


class BasicBlock1d(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv1d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.relu = nn.ReLU()
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv1d(cin, cout, 1, stride=stride, bias=False),
                                      nn.BatchNorm1d(cout))
        else:
            self.proj = None

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.proj is None else self.proj(x)
        return self.relu(y + skip)


class Resnet1d(nn.Module):
    """1D ResNet, input [B,1,128], 4 classes."""

    def __init__(self, n_classes=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(1, 16, 7, padding=3, bias=False),
                                  nn.BatchNorm1d(16), nn.ReLU())
        self.block1 = BasicBlock1d(16, 16, 1)
        self.block2 = BasicBlock1d(16, 32, 2)
        self.fc = nn.Linear(32, n_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.block1(x)
        x = self.block2(x)           # [B,32,64]
        x = x.mean(dim=-1)           # global average pooling -> ReduceMean
        return self.fc(x)


class Har6(nn.Module):
    """Multichannel 1D-CNN for 6-axis sensor data, input [B,6,100], 4 classes."""

    def __init__(self, n_classes=4):
        super().__init__()
        self.conv1 = nn.Conv1d(6, 32, 5, padding=2)
        self.bn1 = nn.BatchNorm1d(32)
        self.relu = nn.ReLU()
        self.pool1 = nn.MaxPool1d(2)                                          # 100 -> 50
        self.dw = nn.Conv1d(32, 32, 3, padding=1, groups=32, bias=False)     # depthwise
        self.pw = nn.Conv1d(32, 64, 1, bias=False)                           # pointwise
        self.bn2 = nn.BatchNorm1d(64)
        self.pool2 = nn.MaxPool1d(2)                                          # 50 -> 25
        self.dropout = nn.Dropout(0.3)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64 * 25, n_classes)

    def forward(self, x):
        x = self.pool1(self.relu(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu(self.bn2(self.pw(self.dw(x)))))
        x = self.dropout(x)
        return self.fc(self.flatten(x))


class Cnn2d(nn.Module):
    """Small 2D CNN for 28x28 images, input [B,1,28,28], 10 classes."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 7 * 7, 64)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(64, n_classes)

    def forward(self, x):
        x = self.flatten(self.features(x))
        x = self.dropout(self.relu(self.fc1(x)))
        return self.fc2(x)


# name: (constructor, input shape without batch, seed, export mode, dropout rewrite)
#   export mode: "eval" (TrainingMode.EVAL), "preserve" (PRESERVE, all eval),
#                "preserve+dropout" (PRESERVE, Dropout modules traced in train mode)
#   dropout rewrite: None, "omit" (drop training_mode input), "false" (constant false)
MODELS = {
    "cnn1d": (Cnn1d, (1, 128), 1001, "preserve+dropout", "omit"),
    "resnet1d": (Resnet1d, (1, 128), 1002, "preserve", None),
    "har6": (Har6, (6, 100), 1003, "eval", None),
    "cnn2d": (Cnn2d, (1, 28, 28), 1004, "preserve+dropout", "false"),
}


# --------------------------------------------------------------------------- helpers

def calibrate_batchnorm(model, in_shape, steps=8, batch=32):
    """Non-trivial BN affine parameters and running statistics."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            x = torch.randn(batch, *in_shape) * 1.5 + 0.3
            model(x)
    model.eval()


def export(model, in_shape, path, mode):
    model.eval()
    if mode == "preserve+dropout":
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
    training = torch.onnx.TrainingMode.EVAL if mode == "eval" else torch.onnx.TrainingMode.PRESERVE
    dummy = torch.randn(2, *in_shape)
    torch.onnx.export(model, dummy, path,
                      export_params=True,
                      opset_version=OPSET,
                      training=training,
                      do_constant_folding=(mode == "eval"),
                      input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    model.eval()


def rewrite_dropout(path, how):
    """Turns the train-mode Dropout nodes of the export into their inference form."""
    mp = onnx.load(path)
    g = mp.graph
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers[i] = consumers.get(i, 0) + 1
    graph_outputs = {o.name for o in g.output}
    producers = {o: n for n in g.node for o in n.output}
    remove = []
    n_dropout = 0
    for n in g.node:
        if n.op_type != "Dropout":
            continue
        n_dropout += 1
        if len(n.input) < 3:
            raise RuntimeError(f"{path}: Dropout {n.name} has no training_mode input")
        tm = n.input[2]
        src = producers.get(tm)
        if src is None or src.op_type != "Constant" or consumers[tm] != 1:
            raise RuntimeError(f"{path}: Dropout {n.name}: training_mode is not a private Constant")
        if how == "omit":
            del n.input[2]
            remove.append(src)
        elif how == "false":
            src.ClearField("attribute")
            src.attribute.append(helper.make_attribute(
                "value", numpy_helper.from_array(np.array(False), name="")))
        else:
            raise ValueError(how)
        # The mask output is unused: drop it (an omitted trailing optional output).
        if len(n.output) > 1:
            if consumers.get(n.output[1], 0) or n.output[1] in graph_outputs:
                raise RuntimeError(f"{path}: Dropout {n.name}: mask output is used")
            del n.output[1]
    for src in remove:
        g.node.remove(src)
    if n_dropout == 0:
        raise RuntimeError(f"{path}: no Dropout node to rewrite")
    onnx.save(mp, path)


def op_counts(mp):
    counts = {}
    for n in mp.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def make(name, out_dir):
    ctor, in_shape, seed, mode, dropout_how = MODELS[name]
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = ctor()
    calibrate_batchnorm(model, in_shape)

    onnx_path = os.path.join(out_dir, name + ".onnx")
    export(model, in_shape, onnx_path, mode)
    if dropout_how:
        rewrite_dropout(onnx_path, dropout_how)

    torch.manual_seed(seed + 1)
    x = torch.randn(FIXTURE_BATCH, *in_shape, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        y = model(x)
    np.save(os.path.join(out_dir, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out_dir, name + ".output.npy"), y.numpy().astype(np.float32))

    mp = onnx.load(onnx_path)
    onnx.checker.check_model(mp, full_check=True)
    assert mp.opset_import[0].version == OPSET
    assert [i.name for i in mp.graph.input] == ["input"], [i.name for i in mp.graph.input]
    assert [o.name for o in mp.graph.output] == ["logits"]
    assert mp.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert mp.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    ops = op_counts(mp)
    if "Identity" in ops:
        raise RuntimeError(f"{onnx_path}: the exporter deduplicated initializers into Identity nodes")
    size = os.path.getsize(onnx_path)
    assert size < 1 << 20, size
    n_params = sum(int(np.prod(t.dims)) for t in mp.graph.initializer)
    digest = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()[:16]
    print(f"{name}: {size} bytes, {n_params} initializer elements, sha256 {digest}")
    print("  ops: " + ", ".join(f"{k} x{v}" for k, v in ops.items()))
    return mp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--only", nargs="*", choices=sorted(MODELS), default=None)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for name in args.only or MODELS:
        make(name, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
