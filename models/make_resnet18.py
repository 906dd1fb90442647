#!/usr/bin/python3
"""Exports torchvision resnet18 (random weights) to ONNX with fixtures.

    /usr/bin/python3 models/make_resnet18.py OUT.onnx [--batch 2] [--seed 0]

Writes OUT.onnx (opset 13, input "input" [batch,3,224,224], output "logits"
[batch,1000], dim 0 named "batch") and, next to it, OUT-stem.input.npy (float32,
--batch random images) and OUT-stem.output.npy (PyTorch eval-mode output).
torchvision.models.resnet18(weights=None) under torch.manual_seed(seed); BatchNorm
running statistics are set by a few train-mode passes over random data so the
activations stay O(1).  Exported in TrainingMode.EVAL with constant folding (the
usual export: BatchNormalization folded into Conv).  About 45 MB: generated at
test/bench time into the build folder, not committed.
"""

import argparse
import os
import sys

import numpy as np
import onnx
import torch
import torchvision


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="output .onnx path")
    ap.add_argument("--batch", type=int, default=2, help="fixture batch size (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-fixtures", action="store_true", help="write only the .onnx")
    args = ap.parse_args()

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    torch.manual_seed(args.seed)
    model = torchvision.models.resnet18(weights=None)

    # Running statistics from random data (cumulative average over the passes).
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 224, 224))
    model.eval()

    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), tmp,
                      export_params=True,
                      opset_version=13,
                      training=torch.onnx.TrainingMode.EVAL,
                      do_constant_folding=True,
                      input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    onnx.checker.check_model(tmp)
    os.replace(tmp, out)

    if not args.no_fixtures:
        stem = out[:-5] if out.endswith(".onnx") else out
        torch.manual_seed(args.seed + 1)
        x = torch.randn(args.batch, 3, 224, 224, dtype=torch.float32)
        with torch.no_grad():
            y = model(x)
        np.save(stem + ".input.npy", x.numpy())
        np.save(stem + ".output.npy", y.numpy())
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
