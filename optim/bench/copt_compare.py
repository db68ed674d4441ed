"""Stochastic Frank-Wolfe: copt's `minimize_sfw` vs wolfpack-optim's `NegiarSfw`, same problem,
same run.

L1-constrained logistic regression, min (1/n) sum log(1 + exp(-y_i a_i.w)) s.t. ||w||_1 <= alpha,
features standardised (zero mean, unit population standard deviation), labels {0,1} in the CSV.

Both solvers run the variant of Négiar et al. (2020) (copt: variant="SAG"), batch size 1, step
size 2/(t+2), the same number of epochs. The reference optimum f* is computed by wolfpack's
accelerated PGD and pairwise FW run to a Frank-Wolfe gap of --ref-tol (default 1e-7; both
results and their certified lower bounds f - gap are printed).

  python copt_compare.py --data FILE.csv --alpha A [--epochs 20] [--bin PATH] [--repeats 3]

PATH defaults to target/release/examples/l1_logreg (build it first with
`cargo build --release -p wolfpack-optim --example l1_logreg`). Prints a Markdown table row
(wall-clock and CPU seconds per epoch, relative suboptimality, per-epoch time ratios by wall
clock and by CPU time) and a JSON line. CPU time (Python `process_time`, our
`/proc/thread-self/stat`, 10 ms ticks) is the steadier figure on a shared machine for runs
longer than a second; for shorter runs use the wall-clock ratio.
"""
import argparse
import json
import os
import platform
import subprocess
import time

import numpy as np


def ours(binary, data, alpha, solver, extra):
    cmd = [binary, "--data", data, "--alpha", str(alpha), "--solver", solver, "--json"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="runs of ours (median time)")
    ap.add_argument("--copt-repeats", type=int, default=1)
    ap.add_argument("--ref-tol", type=float, default=1e-7, help="FW gap of the reference runs")
    ap.add_argument("--ref-max-iter", type=int, default=5000)
    ap.add_argument("--fw-iters", type=int, default=0,
                    help="also compare full-batch FW with backtracking for this many iterations")
    ap.add_argument("--only-fw", action="store_true", help="skip the SFW comparison (use with --fw-iters)")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.path.join(here, "..", "..", "target", "release", "examples", "l1_logreg"))
    args = ap.parse_args()

    import copt

    raw = np.loadtxt(args.data, delimiter=",")
    b = raw[:, 0]
    A = raw[:, 1:]
    sd = A.std(axis=0)
    sd[sd == 0] = 1.0
    A = (A - A.mean(axis=0)) / sd
    n, d = A.shape

    loss = copt.loss.LogLoss(A, b)
    if args.only_fw:
        compare_fw(args, copt, loss, d)
        return

    # Reference optimum, certified by two methods: f* lies in [max(f_k - gap_k), min(f_k)].
    ref = ["--tol", str(args.ref_tol), "--max-iter", str(args.ref_max_iter)]
    r1 = ours(args.bin, args.data, args.alpha, "apgd", ref)
    r2 = ours(args.bin, args.data, args.alpha, "pfw", ref)
    fstar = min(r1["f"], r2["f"])
    fstar_lo = max(r1["f"] - r1["gap"], r2["f"] - r2["gap"])
    agree = abs(r1["f"] - r2["f"]) / fstar

    # copt.
    loss = copt.loss.LogLoss(A, b)
    lmo = copt.constraint.L1Ball(args.alpha).lmo
    copt_times, copt_cpu, copt_f = [], [], None
    for rep in range(args.copt_repeats):
        np.random.seed(rep)
        t0, c0 = time.perf_counter(), time.process_time()
        res = copt.minimize_sfw(loss.partial_deriv, A, b, np.zeros(d), lmo, batch_size=1,
                                max_iter=args.epochs, tol=0.0, variant="SAG")
        copt_times.append(time.perf_counter() - t0)
        copt_cpu.append(time.process_time() - c0)
        copt_f = loss(res.x)

    # Ours (median of repeats, seeds 0..).
    runs = [ours(args.bin, args.data, args.alpha, "sfw", ["--epochs", str(args.epochs), "--seed", str(s)])
            for s in range(args.repeats)]
    our_t = sorted(r["seconds"] for r in runs)[len(runs) // 2]
    our_cpu = sorted(r["cpu_seconds"] for r in runs)[len(runs) // 2]
    our_f = runs[0]["f"]

    copt_t = sorted(copt_times)[len(copt_times) // 2]
    copt_c = sorted(copt_cpu)[len(copt_cpu) // 2]
    row = {
        "data": os.path.basename(args.data), "n": n, "d": d, "alpha": args.alpha, "epochs": args.epochs,
        "f_star": fstar, "f_star_lower_bound": fstar_lo, "reference_agreement": agree,
        "reference_gaps": [r1["gap"], r2["gap"]],
        "copt_seconds": copt_t, "copt_s_per_epoch": copt_t / args.epochs,
        "copt_rel_subopt": (copt_f - fstar) / fstar,
        "ours_seconds": our_t, "ours_s_per_epoch": our_t / args.epochs,
        "ours_rel_subopt": (our_f - fstar) / fstar,
        "ratio_per_epoch_wall": copt_t / our_t,
        "copt_cpu_seconds": copt_c, "ours_cpu_seconds": our_cpu,
        "ratio_per_epoch_cpu": copt_c / our_cpu if our_cpu > 0 else float("nan"),
        "copt_version": copt.__version__ if hasattr(copt, "__version__") else "0.9.2",
        "numba": _has_numba(), "machine": platform.machine(), "cpus": os.cpu_count(),
    }
    print("| %s (%d x %d), alpha = %g, %d epochs | %.4g s/epoch (CPU %.4g), %.2g%% above f* "
          "| %.4g s/epoch (CPU %.4g), %.2g%% above f* | %.0fx | %.0fx |"
          % (row["data"], n, d, args.alpha, args.epochs, row["copt_s_per_epoch"], copt_c / args.epochs,
             100 * row["copt_rel_subopt"], row["ours_s_per_epoch"], our_cpu / args.epochs,
             100 * row["ours_rel_subopt"], row["ratio_per_epoch_wall"], row["ratio_per_epoch_cpu"]))
    print(json.dumps(row))

    if args.fw_iters > 0:
        compare_fw(args, copt, loss, d)


def compare_fw(args, copt, loss, d):
    # Full-batch Frank-Wolfe, backtracking step (Pedregosa et al. 2020), same iteration count.
    l1 = copt.constraint.L1Ball(args.alpha)
    t0, c0 = time.perf_counter(), time.process_time()
    res = copt.minimize_frank_wolfe(loss.f_grad, np.zeros(d), l1.lmo, step="backtracking",
                                    max_iter=args.fw_iters, tol=0.0)
    cw, cc = time.perf_counter() - t0, time.process_time() - c0
    cf = loss(res.x)
    o = ours(args.bin, args.data, args.alpha, "fw", ["--max-iter", str(args.fw_iters), "--tol", "0"])
    fw = {"fw_iters": args.fw_iters, "copt_seconds": cw, "copt_cpu_seconds": cc, "copt_f": cf,
          "copt_gap": float(res.certificate), "ours_seconds": o["seconds"], "ours_cpu_seconds": o["cpu_seconds"],
          "ours_f": o["f"], "ours_gap": o["gap"], "ratio_wall": cw / o["seconds"],
          "ratio_cpu": cc / o["cpu_seconds"] if o["cpu_seconds"] > 0 else float("nan")}
    print("| full-batch FW, backtracking, %d iterations | %.4g ms/it wall (CPU %.4g), f = %.8f | %.4g ms/it wall (CPU %.4g), "
          "f = %.8f | %.2fx | %.2fx |"
          % (args.fw_iters, 1e3 * cw / args.fw_iters, 1e3 * cc / args.fw_iters, cf, 1e3 * o["seconds"] / args.fw_iters,
             1e3 * o["cpu_seconds"] / args.fw_iters, o["f"], fw["ratio_wall"], fw["ratio_cpu"]))
    print(json.dumps(fw))


def _has_numba():
    try:
        import numba  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()
