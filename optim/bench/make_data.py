"""Data for the L1-logistic-regression benchmarks of wolfpack-optim.

CSV files, first column the label in {0, 1}, the rest the features.

  python make_data.py breast-cancer OUT.csv     # scikit-learn's load_breast_cancer, raw (569 x 30)
  python make_data.py synthetic OUT.csv [N D]   # dense synthetic problem, fixed seed (default 20000 x 500)

The breast-cancer file is written unstandardised (the example and the benchmark standardise
it: zero mean, unit population standard deviation per feature, like sklearn's StandardScaler).

Synthetic problem (numpy default_rng(0)): A has i.i.d. N(0, 1) entries; a ground truth w* has
20 nonzero N(0, 1) entries at random positions; with z = A w* rescaled to unit standard
deviation, labels are Bernoulli(sigmoid(3 z)): a well-specified logistic model with noisy labels.
Values are written with 6 decimals.
"""
import sys

import numpy as np


def breast_cancer(out):
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    with open(out, "w") as f:
        for xi, yi in zip(X, y):
            f.write("%d," % yi + ",".join(repr(float(v)) for v in xi) + "\n")


def synthetic(out, n=20000, d=500):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, d))
    w = np.zeros(d)
    supp = rng.choice(d, 20, replace=False)
    w[supp] = rng.standard_normal(20)
    z = A @ w
    z /= z.std()
    p = 1.0 / (1.0 + np.exp(-3.0 * z))
    y = (rng.uniform(size=n) < p).astype(int)
    np.savetxt(out, np.column_stack([y, A]), delimiter=",", fmt=["%d"] + ["%.6f"] * d)


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    if kind == "breast-cancer":
        breast_cancer(out)
    elif kind == "synthetic":
        n = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
        d = int(sys.argv[4]) if len(sys.argv) > 4 else 500
        synthetic(out, n, d)
    else:
        sys.exit("usage: make_data.py {breast-cancer,synthetic} OUT.csv [N D]")
