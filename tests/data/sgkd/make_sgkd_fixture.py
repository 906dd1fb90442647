#!/usr/bin/python3
"""Reference values of the SGKD loss (passes/sgkd.c) computed by PyTorch.

Run with Debian's interpreter (torch 1.13.1, numpy):

    /usr/bin/python3 tests/data/sgkd/make_sgkd_fixture.py

The loss is design.md's "The method, exactly", step 3:

    dot[b,k]  = sum_d s[b,d] t[b,k,d]
    w[b,:]    = softmax_k(dot[b,:] / tau)
    thr[b]    = torch.quantile(w[b,:], q)          linear interpolation, position q*(K-1),
                                                   computed from w.detach()
    keep w >= thr, zero the rest, renormalise the kept ones to sum 1
    target    = sum_k w[b,k] t[b,k,:]
    L         = mean_{b,d} (s - target)^2

The gradient flows into s directly and through dot, softmax, the kept entries
and the renormalisation; the threshold is computed from w.detach() (it only
feeds the comparison, so this changes nothing: checked below) and the keep
mask is a comparison.

For every case it writes tests/data/sgkd/CASE/:
    s.npy          float32 [B, D]      student features
    t.npy          float32 [B, K, D]   teacher features
    params.npy     float64 [2]         tau, q
    loss.npy       float32 []          L computed by torch in float32 (like ssdc)
    loss64.npy     float64 []          L computed by torch in float64 from the same s, t
    grad_s.npy     float32 [B, D]      dL/ds in float32
    grad_s64.npy   float64 [B, D]      dL/ds in float64
    weights.npy    float32 [B, K]      final renormalised weights (0 where dropped)
    kept.npy       int64   [B]         number of kept teacher features
    cos_loss64.npy, cos_grad_s64.npy   1 - mean_{b,k} cosine_similarity(s_b, t_bk), float64
    mse_loss64.npy, mse_grad_s64.npy   mean_{b,d} (s - t[:, 0, :])^2, float64

Checks made before writing (the script fails otherwise):
  * float32 and float64 keep the same teacher features, and every weight that is
    not exactly equal to its row's threshold is at least 1e-4 (relative) away
    from it, so rounding in another implementation cannot flip the mask;
  * the kept counts are the ones each case is built for;
  * plausible wrong implementations give a different answer on the fixture set
    (so a test comparing against it fails for them): the 'lower' or 'nearest'
    quantile rule, position q*K, strict '>', no renormalisation, no threshold,
    no gradient through the weights, no gradient through the renormalising sum
    ('higher' and 'midpoint' keep exactly what 'linear' keeps, always: see main);
  * letting the gradient into the threshold (no detach) changes nothing, and the
    authors' formulation (an extra w / sum(w) right after the softmax, which is
    mathematically the identity) agrees within 1e-12 in float64.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MARGIN = 1e-4


def sgkd(s, t, tau, q, variant=None):
    """Returns loss, final weights, kept count and the threshold.  variant selects a
    deliberately wrong implementation for the sensitivity checks."""
    dot = (s.unsqueeze(1) * t).sum(dim=2)
    w = torch.softmax(dot / tau, dim=1)
    if variant == "authors":
        w = w / w.sum(dim=1, keepdim=True)
    src = w if variant == "thr_grad" else w.detach()
    K = w.shape[1]
    if variant in ("lower", "higher", "nearest", "midpoint"):
        thr = torch.quantile(src, q, dim=1, keepdim=True, interpolation=variant)
    elif variant == "pos_qK":
        # linear interpolation at position q*K (clamped) instead of q*(K-1)
        srt = torch.sort(src, dim=1).values
        pos = min(q * K, K - 1.0)
        lo, hi = int(np.floor(pos)), int(np.ceil(pos))
        thr = (srt[:, lo] + (pos - lo) * (srt[:, hi] - srt[:, lo])).unsqueeze(1)
    else:
        thr = torch.quantile(src, q, dim=1, keepdim=True, interpolation="linear")
    if variant == "strict":
        keep = w > thr
    elif variant == "keep_all":
        keep = torch.ones_like(w, dtype=torch.bool)
    else:
        keep = w >= thr
    wk = torch.where(keep, w, torch.zeros_like(w))
    if variant == "no_renorm":
        wn = wk
    elif variant == "detach_sum":
        wn = wk / wk.sum(dim=1, keepdim=True).detach()
    else:
        wn = wk / wk.sum(dim=1, keepdim=True)
    if variant == "detach_w":
        wn = wn.detach()
    target = (wn.unsqueeze(2) * t).sum(dim=1)
    loss = ((s - target) ** 2).mean()
    return loss, wn, keep.sum(dim=1), thr, w


def run(s_np, t_np, tau, q, dtype, variant=None):
    s = torch.tensor(s_np, dtype=dtype, requires_grad=True)
    t = torch.tensor(t_np, dtype=dtype)
    loss, wn, kept, thr, w = sgkd(s, t, tau, q, variant)
    loss.backward()
    return {
        "loss": loss.detach().numpy(),
        "grad": s.grad.numpy(),
        "weights": wn.detach().numpy(),
        "kept": kept.numpy().astype(np.int64),
        "thr": thr.detach().numpy(),
        "w": w.detach().numpy(),
    }


def cosine64(s_np, t_np):
    s = torch.tensor(s_np, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(t_np, dtype=torch.float64)
    loss = 1 - F.cosine_similarity(s.unsqueeze(1), t, dim=2).mean(dim=1).mean()
    loss.backward()
    return loss.detach().numpy(), s.grad.numpy()


def mse64(s_np, t_np):
    s = torch.tensor(s_np, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(t_np[:, 0, :], dtype=torch.float64)
    loss = F.mse_loss(s, t, reduction="mean")
    loss.backward()
    return loss.detach().numpy(), s.grad.numpy()


def dots64(s, t):
    return np.einsum("bd,bkd->bk", s.astype(np.float64), t.astype(np.float64))


def dup_rank(s, t, b, src_rank, dst_ranks):
    """Copies the teacher row of ascending rank src_rank (by dot with s) of sample b
    over the rows of the dst_ranks, so their weights tie exactly."""
    order = np.argsort(dots64(s, t)[b], kind="stable")
    for r in dst_ranks:
        t[b, order[r]] = t[b, order[src_rank]]


# ---- the cases ----

def gaussian(rng, B, K, D, scale=1.0):
    s = rng.standard_normal((B, D)).astype(np.float32)
    t = (scale * rng.standard_normal((B, K, D))).astype(np.float32)
    return s, t


def dropout_like(rng, B, K, D, p=0.2, relu=True):
    """The teacher's K representations are dropout draws of one feature vector (what
    the SSD pass produces).  relu: post-ReLU features, so many are 0 and two draws
    that differ only where the feature is 0 are identical (natural exact ties);
    otherwise every entry is positive."""
    s = np.maximum(rng.standard_normal((B, D)), 0).astype(np.float32)
    if relu:
        base = np.maximum(rng.standard_normal((B, 1, D)) + 0.3, 0)
    else:
        base = np.abs(rng.standard_normal((B, 1, D))) + 0.1
    mask = rng.random((B, K, D)) >= p
    t = (base * mask / (1 - p)).astype(np.float32)
    s = (s + 0.5 * base[:, 0, :]).astype(np.float32)
    return s, t


def make_cases():
    cases = []

    def add(name, seed, gen, tau=5.0, q=0.9, expect=None, tweak=None):
        cases.append(dict(name=name, seed=seed, gen=gen, tau=tau, q=q, expect=expect, tweak=tweak))

    # q*(K-1) = 26.1: interpolation between ranks 26 and 27, keeps 3
    add("k30", 1, lambda r: dropout_like(r, 4, 30, 16, relu=False), expect=[3, 3, 3, 3])
    # q*(K-1) = 9.0: an integer position, the threshold is a weight itself, keeps 2
    add("k11", 2, lambda r: gaussian(r, 4, 11, 16), expect=[2, 2, 2, 2])
    # q*(K-1) = 5.4: keeps only the largest (rank 6)
    add("k7", 3, lambda r: gaussian(r, 4, 7, 32, 0.5), expect=[1, 1, 1, 1])
    # q*(K-1) = 0.9: torch's lerp from above (weight >= 0.5), keeps the larger one
    add("k2", 4, lambda r: gaussian(r, 4, 2, 16), expect=[1, 1, 1, 1])
    # one sample
    add("b1", 5, lambda r: dropout_like(r, 1, 30, 32, relu=False), expect=[3])
    # post-ReLU dropout draws as the SSD pass makes them: natural exact ties
    add("dropout_relu", 21, lambda r: dropout_like(r, 4, 30, 16), expect=[7, 4, 3, 3])
    # another temperature and quantile: q*(K-1) = 0.75*29 = 21.75, keeps 8
    add("k30_tau1_q75", 6, lambda r: gaussian(r, 4, 30, 16, 0.5), tau=1.0, q=0.75,
        expect=[8, 8, 8, 8])

    # exact ties among the weights (duplicated teacher rows), K = 30 (position 26.1):
    #   b0: ranks 26 and 27 equal          -> threshold = that value, keeps 4
    #   b1: ranks 25, 26, 27 equal         -> keeps 5
    #   b2: ranks 28 and 29 equal          -> keeps 3 (a tie above the threshold)
    #   b3: ranks 3 and 4 equal            -> keeps 3 (a tie far below)
    def ties30(t, s):
        dup_rank(s, t, 0, 27, [26])
        dup_rank(s, t, 1, 27, [25, 26])
        dup_rank(s, t, 2, 29, [28])
        dup_rank(s, t, 3, 4, [3])
    add("ties_k30", 7, lambda r: gaussian(r, 4, 30, 16, 0.5), expect=[4, 5, 3, 3], tweak=ties30)

    # ties at an integer position, K = 11 (position 9.0):
    #   b0: ranks 8 and 9 equal -> keeps 3;  b1: ranks 9 and 10 equal -> keeps 2;
    #   b2: ranks 7, 8, 9 equal -> keeps 4;  b3: no tie -> keeps 2
    def ties11(t, s):
        dup_rank(s, t, 0, 9, [8])
        dup_rank(s, t, 1, 10, [9])
        dup_rank(s, t, 2, 9, [7, 8])
    add("ties_k11", 8, lambda r: gaussian(r, 4, 11, 16), expect=[3, 2, 4, 2], tweak=ties11)

    # every teacher representation identical: all weights 1/K, all kept
    def identical(t, s):
        t[:] = t[:, :1, :]
    add("identical_k30", 9, lambda r: gaussian(r, 4, 30, 16), expect=[30] * 4, tweak=identical)
    return cases


def check_margin(name, res):
    w, thr = res["w"], res["thr"]
    for b in range(w.shape[0]):
        for k in range(w.shape[1]):
            if w[b, k] == thr[b, 0]:
                continue
            rel = abs(float(w[b, k]) - float(thr[b, 0])) / float(thr[b, 0])
            if rel < MARGIN:
                sys.exit(f"{name}: weight [{b},{k}] is within {rel:.2g} of the threshold; "
                         "pick another seed")


def rel_diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def main():
    cases = make_cases()
    worst = {}      # variant -> largest difference from the correct answer over all cases
    total = 0
    for c in cases:
        rng = np.random.default_rng(1000 + c["seed"])
        s, t = c["gen"](rng)
        if c["tweak"]:
            c["tweak"](t, s)
        s = np.ascontiguousarray(s, np.float32)
        t = np.ascontiguousarray(t, np.float32)
        tau, q = c["tau"], c["q"]
        r32 = run(s, t, tau, q, torch.float32)
        r64 = run(s, t, tau, q, torch.float64)
        name = c["name"]
        if not np.array_equal(r32["weights"] > 0, r64["weights"] > 0):
            sys.exit(f"{name}: float32 and float64 keep different teacher features")
        check_margin(name + " (float32)", r32)
        check_margin(name + " (float64)", r64)
        if c["expect"] is not None and list(r64["kept"]) != c["expect"]:
            sys.exit(f"{name}: kept {list(r64['kept'])}, the case is built for {c['expect']}")

        # sensitivity: what a test comparing against these values would see
        for v in ("lower", "higher", "nearest", "midpoint", "pos_qK", "strict", "no_renorm",
                  "keep_all", "detach_w", "detach_sum", "thr_grad", "authors"):
            rv = run(s, t, tau, q, torch.float64, v)
            d = max(rel_diff(rv["loss"], r64["loss"]), rel_diff(rv["grad"], r64["grad"]),
                    float(np.any(rv["kept"] != r64["kept"])))
            worst[v] = max(worst.get(v, 0.0), d)

        cl, cg = cosine64(s, t)
        ml, mg = mse64(s, t)
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        files = {
            "s": s, "t": t, "params": np.array([tau, q], np.float64),
            "loss": np.float32(r32["loss"]), "loss64": np.float64(r64["loss"]),
            "grad_s": r32["grad"].astype(np.float32), "grad_s64": r64["grad"].astype(np.float64),
            "weights": r32["weights"].astype(np.float32), "kept": r64["kept"].astype(np.int64),
            "cos_loss64": np.float64(cl), "cos_grad_s64": cg.astype(np.float64),
            "mse_loss64": np.float64(ml), "mse_grad_s64": mg.astype(np.float64),
        }
        for k, v in files.items():
            path = os.path.join(out, k + ".npy")
            np.save(path, np.asarray(v))
            total += os.path.getsize(path)
        print(f"{name:14s} B={s.shape[0]} K={t.shape[1]} D={s.shape[1]} tau={tau:g} q={q:g} "
              f"pos={np.float32(q) * np.float32(t.shape[1] - 1):.6g} kept={list(r64['kept'])} "
              f"loss={float(r64['loss']):.6g} f32-vs-f64 loss {rel_diff(r32['loss'], r64['loss']):.2g} "
              f"grad {rel_diff(r32['grad'], r64['grad']):.2g}")

    print("largest difference of each wrong variant from the reference (over all cases):")
    for v, d in worst.items():
        print(f"  {v:10s} {d:.3g}")
    # 'higher' and 'midpoint' keep exactly what 'linear' keeps: their thresholds lie in
    # [sorted[lo], sorted[hi]] like the linear one, no weight lies strictly between
    # two neighbours of the sorted order, and both equal sorted[lo] at an integer
    # position.  So the rule only shows through lower/nearest/position/'>'.
    must_differ = ("lower", "nearest", "pos_qK", "strict", "no_renorm", "keep_all",
                   "detach_w", "detach_sum")
    for v in must_differ:
        if worst[v] < 1e-3:
            sys.exit(f"variant {v} is not detected by the fixtures ({worst[v]:.3g})")
    if worst["thr_grad"] != 0.0:
        sys.exit(f"a gradient into the threshold changed the result ({worst['thr_grad']:.3g})")
    if worst["authors"] > 1e-12:
        sys.exit(f"the authors' formulation differs by {worst['authors']:.3g}")
    print(f"{total} bytes written")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
