#!/usr/bin/env python3
"""Independent NumPy PGD (Madry et al. 2018) on a wolfpack model, to check `wolfpack attack`.

Usage: pgd_reference.py MODEL.npz DATA EPS [--steps 20] [--seed 0] [--limit N]

MODEL.npz comes from `wolfpack export-npz`: dense float32 A (n x n), B (n x p), C (q x n), D (q x p), b, c and the
model's preprocessing (the model sees (raw * scale - mean) / std). DATA.npz holds u (m x p, the data set's inputs in
[0, 1]), labels (m), and data_scale / data_offset (raw = u / data_scale + data_offset); DATA may instead be a folder
of MNIST-style gzipped IDX files (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz), read as u = raw / 255. The attack works on u in the
box [0, 1] intersected with the L-infinity ball of radius EPS: random start, STEPS steps of 2.5 EPS / STEPS along the
gradient's sign, projection by clipping. The gradient goes through the fixed point x = relu(A x + B v + b) by
implicit differentiation, written here from scratch (adjoint iteration w = mask * (C^T g + A^T w)).
An input counts as broken if the clean input or any PGD iterate is misclassified.
Prints one JSON line: {"n", "clean_accuracy", "robust_accuracy"}.
"""
import argparse
import gzip
import json
import os
import struct

import numpy as np


def load(args):
    m = np.load(args.model)
    d = load_idx(args.data) if os.path.isdir(args.data) else np.load(args.data)
    model = {k: m[k].astype(np.float64) for k in ["A", "B", "C", "D", "b", "c"]}
    scale = float(m["preprocess_scale"][0])
    mean = m["preprocess_mean"].astype(np.float64)
    std = m["preprocess_std"].astype(np.float64)
    mean = mean if mean.size else np.zeros(1)
    std = std if std.size else np.ones(1)
    ds, doff = float(d["data_scale"][0]), float(d["data_offset"][0])
    # v = ((u / ds + doff) * scale - mean) / std = alpha * u + beta, so dv/du = alpha.
    alpha = scale / (ds * std)
    beta = (doff * scale - mean) / std
    u = d["u"].astype(np.float64)[: args.limit]
    labels = d["labels"].astype(np.int64)[: args.limit]
    return model, alpha, beta, u, labels


def load_idx(folder):
    """The test split of an MNIST-style folder, as the data arrays of a DATA.npz."""
    with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    n, rows, cols = struct.unpack(">III", raw[4:16])
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols)
    with gzip.open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    return {
        "u": images.astype(np.float32) / np.float32(255.0),
        "labels": labels,
        "data_scale": np.array([1.0 / 255.0]),
        "data_offset": np.array([0.0]),
    }


def forward(mdl, v, tol=1e-7, max_iter=1000):
    A, B, b = mdl["A"], mdl["B"], mdl["b"]
    pre = v @ B.T + b
    x = np.maximum(pre, 0.0)
    if np.any(A != 0.0):
        for _ in range(max_iter):
            nx = np.maximum(x @ A.T + pre, 0.0)
            done = np.max(np.abs(nx - x)) <= tol
            x = nx
            if done:
                break
    y = x @ mdl["C"].T + v @ mdl["D"].T + mdl["c"]
    return x, y


def loss_grad(mdl, alpha, beta, u, labels):
    """Cross-entropy gradient w.r.t. u through the fixed point, and the logits."""
    v = alpha * u + beta
    x, y = forward(mdl, v)
    p = np.exp(y - y.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    gx = p @ mdl["C"]
    mask = (x > 0.0).astype(np.float64)
    w = mask * gx
    A = mdl["A"]
    if np.any(A != 0.0):
        for _ in range(1000):
            nw = mask * (gx + w @ A)
            done = np.max(np.abs(nw - w)) <= 1e-9 * (1.0 + np.max(np.abs(nw)))
            w = nw
            if done:
                break
    gv = w @ mdl["B"] + p @ mdl["D"]
    return gv * alpha, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("eps", type=float)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="first N examples only")
    args = ap.parse_args()
    mdl, alpha, beta, u, labels = load(args)
    u = np.clip(u, 0.0, 1.0)
    eps, steps = args.eps, args.steps
    step = 2.5 * eps / steps
    lo, hi = np.maximum(u - eps, 0.0), np.minimum(u + eps, 1.0)
    _, y0 = forward(mdl, alpha * u + beta)
    clean = y0.argmax(axis=1) == labels
    broken = ~clean
    rng = np.random.default_rng(args.seed)
    x = np.clip(u + rng.uniform(-eps, eps, size=u.shape), lo, hi)
    for _ in range(steps):
        g, y = loss_grad(mdl, alpha, beta, x, labels)
        broken |= y.argmax(axis=1) != labels
        x = np.clip(x + step * np.sign(g), lo, hi)
    _, y = forward(mdl, alpha * x + beta)
    broken |= y.argmax(axis=1) != labels
    n = len(labels)
    print(json.dumps({
        "n": n,
        "clean_accuracy": float(clean.mean()),
        "robust_accuracy": float((~broken).sum() / n),
    }))


if __name__ == "__main__":
    main()
