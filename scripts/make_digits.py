#!/usr/bin/env python3
"""Convert scikit-learn's 8x8 UCI digits (load_digits: 1797 x 64, values 0..16) into compressor/data/digits.bin.

Run once (python3 -m venv /tmp/venv-sk && /tmp/venv-sk/bin/pip install scikit-learn; /tmp/venv-sk/bin/python
scripts/make_digits.py); the output is embedded in the `wolfpack` binary with include_bytes!.

Layout (all integers little-endian u32):
    b"WPDG" magic, version (1), n_train, n_test, p (64), max_value (16),
    then n_train * p pixel bytes (row-major), n_train label bytes,
    then n_test * p pixel bytes, n_test label bytes.
The split is stratified, 1437 train / 360 test (20% test), seed 0, via sklearn.model_selection.train_test_split.
"""
import pathlib
import struct

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

d = load_digits()
x = d.data.astype(np.uint8)
y = d.target.astype(np.uint8)
assert x.shape == (1797, 64) and x.max() == 16
xtr, xte, ytr, yte = train_test_split(x, y, test_size=360, stratify=y, random_state=0)
out = pathlib.Path(__file__).resolve().parent.parent / "compressor" / "data" / "digits.bin"
with open(out, "wb") as f:
    f.write(b"WPDG")
    f.write(struct.pack("<5I", 1, len(xtr), len(xte), 64, 16))
    for xs, ys in ((xtr, ytr), (xte, yte)):
        f.write(np.ascontiguousarray(xs).tobytes())
        f.write(ys.tobytes())
print(f"wrote {out} ({out.stat().st_size} bytes): {len(xtr)} train, {len(xte)} test")
