#!/usr/bin/env python3
"""Writes the small ONNX fixtures of compressor/tests/fixtures/onnx/ (and, on request, the Fashion-MNIST
benchmark MLP), deterministically.

PyTorch cannot be installed here (its wheel is several GB), so the torch fixtures are built node by node with
`onnx.helper` to mirror what `torch.onnx.export` really writes for an `nn.Sequential` MLP:

* torch_gemm_mlp.onnx -- the TorchScript exporter (torch 2.0 - 2.5, `torch.onnx.export(model.eval(), x,
  input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0:
  "batch"}}, opset_version=17)`) of Sequential(Flatten, Linear(64, 32), ReLU, Dropout, Linear(32, 16), ReLU,
  Linear(16, 10)) on an input [batch, 1, 8, 8]: /0/Flatten, then Gemm(alpha=1, beta=1, transB=1) per Linear with
  initializers "1.weight"/"1.bias", /2/Relu, Dropout dropped in eval mode; a tied weight is read through an
  Identity node ("onnx::Gemm_12"), as the exporter writes for shared parameters.
* torch_matmul_mlp.onnx -- the patterns of `x.view(-1, 64)` and of `x @ w.T + b` layers: a Constant shape
  [-1, 64] + Reshape (TorchScript exporter), MatMul with the constant-folded transposed weight
  ("onnx::MatMul_15") + Add of the bias, and a Transpose(perm=[1, 0]) node on a weight followed by MatMul, as the
  dynamo exporter (torch >= 2.5, `dynamo=True`, opset 18) writes for F.linear on batched input; opset 18.

The scikit-learn fixtures are real skl2onnx exports of MLPClassifier trained on the 8x8 digits (inputs / 16):

* skl_digits_mlp.onnx -- hidden (32,), options zipmap=False: outputs "label" (int64) and "probabilities".
* skl_digits_mlp_zipmap.onnx -- hidden (24, 16), default options: "output_label" and a ZipMap
  "output_probability".
* skl_binary_mlp.onnx -- hidden (8,), two string classes ("low" for digits 0-4, "high" for 5-9): Sigmoid,
  Sub(1, p), Concat, then the label with string classes.
* skl_tanh_mlp.onnx -- activation="tanh": not an MLP wolfpack accepts (its error names the Tanh node).

Usage (in a venv with onnx, numpy, scikit-learn, skl2onnx; e.g. /tmp/venv-onnx):
    python scripts/make_onnx_fixtures.py [--out compressor/tests/fixtures/onnx]
    python scripts/make_onnx_fixtures.py --fashion out/bench   # + fashion_mlp_784_256_10.onnx (~800 KB)
"""

import argparse
import gzip
import os
import struct
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

warnings.filterwarnings("ignore")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def linear_init(rng, fan_out, fan_in):
    """torch.nn.Linear's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / np.sqrt(fan_in)
    w = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32)
    b = rng.uniform(-bound, bound, size=(fan_out,)).astype(np.float32)
    return w, b


def torch_metadata(model, opset):
    model.producer_name = "pytorch"
    model.producer_version = "2.5.1"
    model.ir_version = 8
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", opset))
    return model


def torch_gemm_mlp(path):
    rng = np.random.default_rng(1)
    w1, b1 = linear_init(rng, 32, 64)
    w4, b4 = linear_init(rng, 16, 32)
    w6, b6 = linear_init(rng, 10, 16)
    inits = [
        numpy_helper.from_array(w1, "1.weight"),
        numpy_helper.from_array(b1, "1.bias"),
        numpy_helper.from_array(w4, "4.weight"),
        numpy_helper.from_array(b4, "4.bias"),
        numpy_helper.from_array(w6, "6.weight"),
        numpy_helper.from_array(b6, "6.bias"),
    ]
    nodes = [
        helper.make_node("Flatten", ["input"], ["/0/Flatten_output_0"], name="/0/Flatten", axis=1),
        helper.make_node("Gemm", ["/0/Flatten_output_0", "1.weight", "1.bias"], ["/1/Gemm_output_0"],
                         name="/1/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/1/Gemm_output_0"], ["/2/Relu_output_0"], name="/2/Relu"),
        helper.make_node("Identity", ["4.weight"], ["onnx::Gemm_12"], name="Identity_0"),
        helper.make_node("Gemm", ["/2/Relu_output_0", "onnx::Gemm_12", "4.bias"], ["/4/Gemm_output_0"],
                         name="/4/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/4/Gemm_output_0"], ["/5/Relu_output_0"], name="/5/Relu"),
        helper.make_node("Gemm", ["/5/Relu_output_0", "6.weight", "6.bias"], ["logits"],
                         name="/6/Gemm", alpha=1.0, beta=1.0, transB=1),
    ]
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    save(torch_metadata(helper.make_model(graph), 17), path)


def torch_matmul_mlp(path):
    rng = np.random.default_rng(2)
    w0, b0 = linear_init(rng, 32, 64)
    w2, b2 = linear_init(rng, 10, 32)
    inits = [
        numpy_helper.from_array(np.ascontiguousarray(w0.T), "onnx::MatMul_15"),
        numpy_helper.from_array(b0, "0.bias"),
        numpy_helper.from_array(w2, "2.weight"),
        numpy_helper.from_array(b2, "2.bias"),
    ]
    shape = numpy_helper.from_array(np.array([-1, 64], dtype=np.int64), "value")
    nodes = [
        helper.make_node("Constant", [], ["/Constant_output_0"], name="/Constant", value=shape),
        helper.make_node("Reshape", ["input", "/Constant_output_0"], ["/Reshape_output_0"], name="/Reshape",
                         allowzero=0),
        helper.make_node("MatMul", ["/Reshape_output_0", "onnx::MatMul_15"], ["/0/MatMul_output_0"],
                         name="/0/MatMul"),
        helper.make_node("Add", ["/0/MatMul_output_0", "0.bias"], ["/0/Add_output_0"], name="/0/Add"),
        helper.make_node("Relu", ["/0/Add_output_0"], ["/1/Relu_output_0"], name="/1/Relu"),
        helper.make_node("Transpose", ["2.weight"], ["val_3"], name="node_Transpose_3", perm=[1, 0]),
        helper.make_node("MatMul", ["/1/Relu_output_0", "val_3"], ["val_4"], name="node_MatMul_4"),
        helper.make_node("Add", ["val_4", "2.bias"], ["output"], name="node_Add_5"),
    ]
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    save(torch_metadata(helper.make_model(graph), 18), path)


def digits():
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype(np.float32), y


def skl(model, x, path, options=None):
    from skl2onnx import to_onnx
    onx = to_onnx(model, x[:1], options={id(model): options} if options else None, target_opset=17)
    save(onx, path)


def sklearn_fixtures(out):
    from sklearn.neural_network import MLPClassifier
    x, y = digits()
    m = MLPClassifier((32,), max_iter=200, random_state=0).fit(x, y)
    print(f"  skl_digits_mlp: train accuracy {m.score(x, y):.3f}")
    skl(m, x, os.path.join(out, "skl_digits_mlp.onnx"), {"zipmap": False})
    m = MLPClassifier((24, 16), max_iter=200, random_state=0).fit(x, y)
    print(f"  skl_digits_mlp_zipmap: train accuracy {m.score(x, y):.3f}")
    skl(m, x, os.path.join(out, "skl_digits_mlp_zipmap.onnx"))
    yb = np.where(y < 5, "low", "high")
    m = MLPClassifier((8,), max_iter=200, random_state=0).fit(x, yb)
    print(f"  skl_binary_mlp: train accuracy {m.score(x, yb):.3f}")
    skl(m, x, os.path.join(out, "skl_binary_mlp.onnx"), {"zipmap": False})
    m = MLPClassifier((8,), activation="tanh", max_iter=50, random_state=0).fit(x, y)
    skl(m, x, os.path.join(out, "skl_tanh_mlp.onnx"), {"zipmap": False})


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    _, _, _, ndim = struct.unpack(">BBBB", data[:4])
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mlp(out_dir, data_dir):
    """MLPClassifier(256) on Fashion-MNIST (pixels / 255), exported with skl2onnx: the dense 784-256-10 MLP
    that ONNX Runtime runs in the benchmarks."""
    from sklearn.neural_network import MLPClassifier
    xtr = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).reshape(-1, 784) / np.float32(255)
    ytr = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))
    xte = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784) / np.float32(255)
    yte = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"))
    m = MLPClassifier((256,), max_iter=15, batch_size=128, random_state=0).fit(xtr.astype(np.float32), ytr)
    acc = m.score(xte.astype(np.float32), yte)
    print(f"  fashion_mlp_784_256_10: test accuracy {acc:.4f}")
    os.makedirs(out_dir, exist_ok=True)
    skl(m, xtr.astype(np.float32), os.path.join(out_dir, "fashion_mlp_784_256_10.onnx"), {"zipmap": False})
    with open(os.path.join(out_dir, "fashion_mlp_784_256_10.accuracy"), "w") as f:
        f.write(f"{acc:.4f}\n")


def save(model, path):
    onnx.checker.check_model(model)
    onnx.save(model, path)
    print(f"  {os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "compressor/tests/fixtures/onnx"))
    ap.add_argument("--fashion", metavar="DIR", help="also train and export the Fashion-MNIST MLP into DIR")
    ap.add_argument("--fashion-data", default=os.environ.get("WOLFPACK_FASHION_MNIST_DIR",
                                                             "/usr/share/datasets/fashion-mnist"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch_gemm_mlp(os.path.join(args.out, "torch_gemm_mlp.onnx"))
    torch_matmul_mlp(os.path.join(args.out, "torch_matmul_mlp.onnx"))
    sklearn_fixtures(args.out)
    if args.fashion:
        fashion_mlp(args.fashion, args.fashion_data)


if __name__ == "__main__":
    main()
