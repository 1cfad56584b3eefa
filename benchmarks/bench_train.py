"""Training speed: MLPFromScratch vs scikit-learn's MLPClassifier (and torch CPU).

The problem of the issue that set the target: make_classification 20,000 x 100,
10 classes, hidden layers (256, 128), adam, batch 200, 10 epochs, tol=0 (no
early stop), in float64 and float32. Every peer is timed in the same run,
interleaved, each fit in a fresh worker process (so one library's BLAS or
OpenMP thread pool, still spinning after its run, cannot slow the next
library down), and the median of ``--repeats`` runs is reported, with:

- samples/s (training samples processed per second, epochs included);
- the ratio peer_time / our_time (> 1 means we are faster);
- achieved GFLOP/s (the GEMM flops of forward + backward) as a fraction of a
  numpy GEMM on exactly these shapes, measured in the same run.

The GEMMs alone are timed as one more peer, in a worker of their own in each
repeat, and every ratio is the median over repeats of the ratio *within* a
repeat: runs a few seconds apart share the machine's mood, which on a shared
VM swings by 20 % over minutes. The interquartile range of those
within-repeat values is printed next to each median.

torch is optional: it is timed when installed (``pip install torch==2.13.0``),
skipped otherwise.

``--only solvers`` times every solver and sparse input against scikit-learn's
MLP, each pair alternated in one process (paired ratios, median and range):
adam, sgd and lbfgs on the problem above (float64, 3 epochs / 30 L-BFGS
iterations), a sparse 20,000 x 50,000 matrix at density 1e-3 (adam, 3 epochs;
X is never densified by either library), and a 5-target L-BFGS regression
(1,000 x 20), the case where numpy's and scipy's OpenBLAS pools once competed.
Targets: at least as fast as scikit-learn in every row, 1.5x on adam and sgd.

``--only callbacks`` measures what scikit-learn's callbacks cost (scikit-learn
>= 1.9): fits with no callback, with a callback that does nothing, and with a
``ScoringMonitor`` scoring every epoch, alternated in one process, on a tiny
problem where per-epoch overhead shows (iris-sized, 300 epochs) and on the
problem above (3 epochs). Target: no callback costs nothing (a fit without
callbacks runs the same code as before they existed, plus one root context).

``--namespace torch [--device cpu|cuda] [--dtype float32|float64]`` trains on
PyTorch tensors under ``array_api_dispatch`` (sk_dlsetup's Array API path) and
times, in the same run and interleaved: the NumPy path on the same data (and,
on CPU, the Array API engine that a GPU runs, forced onto the CPU), a
plain hand-written PyTorch loop of the same network (same batches, Adam, the
same L2 term, loss read back every batch as ours does), and, with
``--with-sklearn``, scikit-learn's MLP on the host. Targets: on CPU within
1.2x of the NumPy path; on a GPU within 1.2x of the hand-written loop and at
least 10x faster than scikit-learn with ``--n-samples 1000000``
(``benchmarks/run_gpu.sh`` runs exactly that on a CUDA machine).

Run: ``python benchmarks/bench_train.py [--repeats 5] [--epochs 10]
[--only training|solvers|callbacks] [--namespace torch --device cuda]``.
"""

import os

# Before scipy is imported: --namespace needs scikit-learn's array_api_dispatch,
# which needs scipy's Array API support (read once, at import).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sk_dlsetup import MLPFromScratch

HIDDEN = (256, 128)
BATCH = 200


def gemm_shapes(n_features, n_classes, batch=BATCH, hidden=HIDDEN):
    """(m, k, n) of every matmul of one training step: forward, dW, and dA."""
    units = [n_features, *hidden, n_classes]
    shapes = []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        shapes.append((batch, fan_in, fan_out))  # forward  A @ W
        shapes.append((fan_in, batch, fan_out))  # gradient A.T @ delta
    for fan_in, fan_out in zip(units[1:-1], units[2:]):
        shapes.append((batch, fan_out, fan_in))  # backprop delta @ W.T
    return shapes


def n_steps(epochs, n_samples):
    """Mini-batch steps of a training run: ``epochs`` times the batches per epoch."""
    return epochs * -(-n_samples // BATCH)


def gemm_seconds(shapes, steps, dtype):
    """Time of the GEMMs alone for ``steps`` training steps (numpy, same shapes)."""
    rng = np.random.RandomState(0)
    operands = [
        (
            rng.standard_normal((m, k)).astype(dtype),
            rng.standard_normal((k, n)).astype(dtype),
            np.empty((m, n), dtype),
        )
        for m, k, n in shapes
    ]

    def run(n):
        for _ in range(n):
            for a, b, out in operands:
                np.matmul(a, b, out=out)

    run(min(steps, 50))  # warm up BLAS threads and caches, untimed
    start = time.perf_counter()
    run(steps)
    return time.perf_counter() - start


def fit_sklearn(X, y, epochs):
    model = MLPClassifier(
        HIDDEN, solver="adam", batch_size=BATCH, max_iter=epochs, tol=0, random_state=0
    )
    return model.fit(X, y)


def fit_ours(X, y, epochs):
    model = MLPFromScratch(
        HIDDEN, solver="adam", batch_size=BATCH, max_iter=epochs, tol=0, random_state=0
    )
    return model.fit(X, y)


def make_torch_fit():
    """A plain torch CPU training loop on the same problem, or None without torch."""
    try:
        import torch
    except ImportError:
        return None

    def fit_torch(X, y, epochs):
        torch.manual_seed(0)
        dtype = torch.float32 if X.dtype == np.float32 else torch.float64
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        units = [X.shape[1], *HIDDEN, int(y.max()) + 1]
        layers = []
        for fan_in, fan_out in zip(units[:-1], units[1:]):
            layers += [torch.nn.Linear(fan_in, fan_out, dtype=dtype), torch.nn.ReLU()]
        net = torch.nn.Sequential(*layers[:-1])
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            order = torch.randperm(len(Xt), generator=generator)
            for start in range(0, len(Xt), BATCH):
                idx = order[start : start + BATCH]
                optimizer.zero_grad()
                loss = loss_fn(net(Xt[idx]), yt[idx])
                loss.backward()
                optimizer.step()
        return net

    return fit_torch


def make_data(n_samples):
    return make_classification(
        n_samples, 100, n_informative=50, n_classes=10, random_state=0
    )


def worker(peer, dtype, epochs, n_samples):
    """Time one fit of ``peer`` in this process; print the seconds."""
    if peer == "GEMMs alone":
        print(gemm_seconds(gemm_shapes(100, 10), n_steps(epochs, n_samples), dtype))
        return
    X, y = make_data(n_samples)
    fit = {"scikit-learn": fit_sklearn, "sk_dlsetup": fit_ours}.get(peer)
    fit = fit or make_torch_fit()
    X = X.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        fit(X, y, epochs)
        print(time.perf_counter() - start)


def time_in_worker(peer, dtype, args):
    command = [
        sys.executable,
        __file__,
        "--worker",
        peer,
        "--dtype",
        dtype.__name__,
        "--epochs",
        str(args.epochs),
        "--n-samples",
        str(args.n_samples),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(result.stdout.split()[-1])


def _quartiles(values, spec):
    """``"q1-q3"`` of within-repeat values: how far the machine's mood moved them."""
    q1, q3 = np.quantile(values, [0.25, 0.75])
    return f"{q1:{spec}}-{q3:{spec}}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float64", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("training", "solvers", "callbacks"))
    parser.add_argument("--namespace", choices=("torch",))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--with-sklearn", action="store_true")
    args = parser.parse_args(argv)
    if args.namespace:
        return namespace_table(args)
    if args.worker:
        return worker(args.worker, np.dtype(args.dtype), args.epochs, args.n_samples)
    if args.only in (None, "callbacks"):
        callbacks_table(args.repeats)
    if args.only == "callbacks":
        return None
    if args.only != "training":
        solvers_table(args.repeats)
    if args.only == "solvers":
        return None

    peers = ["scikit-learn", "sk_dlsetup"]
    if importlib.util.find_spec("torch") is None:
        print("torch not installed: skipping the torch peer")
    else:
        peers.append("torch")

    steps = n_steps(args.epochs, args.n_samples)
    flops = 2 * steps * sum(m * k * n for m, k, n in gemm_shapes(100, 10))
    header = (
        f"{'dtype':8} {'peer':13} {'seconds':>8} {'samples/s':>10} "
        f"{'ours x':>7} {'(IQR)':>11} {'GFLOP/s':>8} {'of GEMM':>8} {'(IQR)':>9}"
    )
    for dtype in (np.float64, np.float32):
        times = {name: [] for name in ["GEMMs alone", *peers]}
        for _ in range(args.repeats):
            for name in times:
                times[name].append(time_in_worker(name, dtype, args))
        times = {name: np.array(seconds) for name, seconds in times.items()}
        ours, gemm = times["sk_dlsetup"], times.pop("GEMMs alone")
        print(
            f"\n{dtype.__name__}: GEMMs alone {np.median(gemm):.3f} s "
            f"({flops / np.median(gemm) / 1e9:.1f} GFLOP/s) for {steps} steps"
        )
        print(header)
        for name, seconds in times.items():
            median = float(np.median(seconds))
            ratio, fraction = seconds / ours, gemm / seconds
            print(
                f"{dtype.__name__:8} {name:13} {median:8.3f} "
                f"{args.epochs * args.n_samples / median:10.0f} "
                f"{np.median(ratio):7.2f} {_quartiles(ratio, '.2f'):>11} "
                f"{flops / median / 1e9:8.1f} "
                f"{np.median(fraction):8.0%} {_quartiles(fraction, '.0%'):>9}"
            )


# ------------------------------------------------------------- every solver


def _sparse_problem(n_samples=20_000, n_features=50_000, per_row=50, seed=0):
    """A CSR matrix of density 1e-3 (built directly: sparse.random is slow)."""
    from scipy import sparse

    rng = np.random.RandomState(seed)
    X = sparse.csr_matrix(
        (
            rng.rand(n_samples * per_row),
            rng.randint(0, n_features, n_samples * per_row),
            np.arange(0, n_samples * per_row + 1, per_row),
        ),
        shape=(n_samples, n_features),
    )
    return X, rng.randint(0, 10, n_samples)


def solver_cases():
    """(name, X, y, scikit-learn estimator, ours), each ready to fit."""
    from sklearn.neural_network import MLPRegressor

    from sk_dlsetup import MLPFromScratchRegressor

    X, y = make_data(20_000)
    X = X.astype(np.float64)
    common = dict(hidden_layer_sizes=HIDDEN, batch_size=BATCH, tol=0, random_state=0)
    cases = []
    for solver, iters in (("adam", 3), ("sgd", 3), ("lbfgs", 30)):
        params = dict(common, solver=solver, max_iter=iters)
        cases.append((solver, X, y, MLPClassifier(**params), MLPFromScratch(**params)))
    Xs, ys = _sparse_problem()
    params = dict(common, solver="adam", max_iter=3)
    cases.append(
        ("sparse adam", Xs, ys, MLPClassifier(**params), MLPFromScratch(**params))
    )
    rng = np.random.RandomState(0)
    Xr = rng.randn(1000, 20)
    Yr = Xr @ rng.randn(20, 5) + 0.1 * rng.randn(1000, 5)
    params = dict(
        hidden_layer_sizes=(50,), solver="lbfgs", max_iter=200, tol=0, random_state=0
    )
    cases.append(
        (
            "lbfgs 5 targets",
            Xr,
            Yr,
            MLPRegressor(**params),
            MLPFromScratchRegressor(**params),
        )
    )
    return cases


def solvers_table(repeats):
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(
        "Every solver against scikit-learn (float64; paired ratios, median and range)"
    )
    print(f"{'case':18} {'sklearn s':>10} {'ours s':>8} {'ours x':>7} {'(range)':>13}")
    for name, X, y, theirs, ours in solver_cases():
        times = {"theirs": [], "ours": []}
        for _ in range(repeats):
            for label, estimator in (("theirs", theirs), ("ours", ours)):
                start = time.perf_counter()
                estimator.fit(X, y)
                times[label].append(time.perf_counter() - start)
        ratios = np.array(times["theirs"]) / np.array(times["ours"])
        theirs_s, ours_s = np.median(times["theirs"]), np.median(times["ours"])
        print(
            f"{name:18} {theirs_s:10.3f} {ours_s:8.3f} "
            f"{np.median(ratios):7.2f} {ratios.min():6.2f}-{ratios.max():.2f}"
        )
    print()


# ------------------------------------------------------------- callbacks


class _DoNothing:
    """The cheapest possible callback: every hook returns at once."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        pass


def callbacks_table(repeats):
    from sk_dlsetup._callbacks import HAS_CALLBACKS

    if not HAS_CALLBACKS:
        print("sklearn.callback needs scikit-learn >= 1.9: skipping callbacks\n")
        return
    from sklearn.callback import ScoringMonitor

    warnings.simplefilter("ignore", ConvergenceWarning)
    rng = np.random.RandomState(0)
    X_small = rng.randn(150, 4)
    y_small = rng.randint(0, 3, 150)
    X, y = make_data(20_000)
    problems = (
        ("150 x 4, 300 epochs", X_small, y_small, {"max_iter": 300}),
        ("20000 x 100, 3 epochs", X, y, {"max_iter": 3}),
    )
    sizes = {"150 x 4, 300 epochs": (8,), "20000 x 100, 3 epochs": HIDDEN}
    print("Callbacks: fit time relative to no callback (paired, median and range)")
    print(
        f"{'problem':22} {'callbacks':14} {'seconds':>8} {'x none':>7} {'(range)':>13}"
    )
    for title, Xp, yp, params in problems:
        setups = {
            "none": (),
            "do-nothing": (_DoNothing(),),
            "ScoringMonitor": (ScoringMonitor(scoring="accuracy"),),
        }
        times = {name: [] for name in setups}
        for _ in range(repeats):
            for name, callbacks in setups.items():
                model = MLPFromScratch(sizes[title], tol=0, random_state=0, **params)
                if callbacks:
                    model.set_callbacks(*callbacks)
                start = time.perf_counter()
                model.fit(Xp, yp)
                times[name].append(time.perf_counter() - start)
        base = np.array(times["none"])
        for name, seconds in times.items():
            ratio = np.array(seconds) / base
            print(
                f"{title:22} {name:14} {np.median(seconds):8.3f} "
                f"{np.median(ratio):7.3f} {ratio.min():6.3f}-{ratio.max():.3f}"
            )
    print()


# ------------------------------------------------------------- Array API


def _hand_written_torch_fit(torch, X, y, epochs, n_classes, device, alpha, seed=0):
    """The same network, batches and objective, written the usual PyTorch way."""
    n_samples, n_features = X.shape
    units = [n_features, *HIDDEN, n_classes]
    torch.manual_seed(seed)
    linears = [torch.nn.Linear(a, b) for a, b in zip(units[:-1], units[1:])]
    model = torch.nn.Sequential(
        *[m for lin in linears[:-1] for m in (lin, torch.nn.ReLU())], linears[-1]
    ).to(device=device, dtype=X.dtype)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8
    )
    rng = np.random.RandomState(seed)
    order = np.arange(n_samples)
    for _ in range(epochs):
        rng.shuffle(order)
        perm = torch.as_tensor(order, device=device)
        for start in range(0, n_samples, BATCH):
            idx = perm[start : start + BATCH]
            out = model(X[idx])
            loss = torch.nn.functional.cross_entropy(out, y[idx])
            penalty = sum((lin.weight**2).sum() for lin in linears)
            loss = loss + 0.5 * alpha * penalty / idx.shape[0]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()  # the per-batch read-back our loop does too


def namespace_table(args):
    """Ours on torch tensors vs the NumPy path, a hand-written loop, scikit-learn."""
    try:
        import torch
    except ImportError:
        print("torch not installed: nothing to compare (pip install torch)")
        return
    import sklearn

    warnings.simplefilter("ignore", ConvergenceWarning)
    dtype = np.dtype(args.dtype)
    X, y = make_data(args.n_samples)
    X = X.astype(dtype)
    device = torch.device(args.device)
    X_t = torch.asarray(X, device=device)
    y_t = torch.asarray(y, device=device)
    alpha = 1e-4
    params = dict(
        hidden_layer_sizes=HIDDEN, batch_size=BATCH, max_iter=args.epochs, tol=0,
        alpha=alpha, random_state=0,
    )  # fmt: skip

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def ours_torch():
        with sklearn.config_context(array_api_dispatch=True):
            MLPFromScratch(**params).fit(X_t, y_t)
        sync()

    def ours_torch_own_kernels():
        # What a GPU runs, here on the CPU: the host tensors are not lent to
        # NumPy, so the one network runs torch's own kernels.
        from unittest import mock

        from sk_dlsetup.neural_network import _mlp, _stochastic

        def refuse(*arrays):
            return None

        with (
            mock.patch.object(_stochastic, "lent_to_numpy", refuse),
            mock.patch.object(_mlp, "lent_to_numpy", refuse),
        ):
            ours_torch()

    peers = {"sk_dlsetup on torch": ours_torch}
    if device.type == "cpu":
        peers["sk_dlsetup on NumPy"] = lambda: MLPFromScratch(**params).fit(X, y)
        peers["(torch's own kernels)"] = ours_torch_own_kernels
    peers["hand-written torch"] = lambda: (
        _hand_written_torch_fit(torch, X_t, y_t, args.epochs, 10, device, alpha),
        sync(),
    )
    if args.with_sklearn:
        peers["scikit-learn (CPU)"] = lambda: MLPClassifier(**params).fit(X, y)
    ours_torch()  # warm-up: kernels, allocator, lazy imports
    times = {name: [] for name in peers}
    for _ in range(args.repeats):
        for name, fit in peers.items():
            start = time.perf_counter()
            fit()
            times[name].append(time.perf_counter() - start)
    ours = np.array(times["sk_dlsetup on torch"])
    print(
        f"torch on {device}, {dtype.name}: {args.n_samples} x 100, 10 classes, "
        f"hidden {HIDDEN}, adam, batch {BATCH}, {args.epochs} epochs "
        f"({args.repeats} interleaved repeats)"
    )
    print(f"{'peer':22} {'seconds':>8} {'peer / ours':>12} {'(range)':>13}")
    for name, seconds in times.items():
        ratio = np.array(seconds) / ours
        print(
            f"{name:22} {np.median(seconds):8.3f} {np.median(ratio):12.2f} "
            f"{ratio.min():6.2f}-{ratio.max():.2f}"
        )


if __name__ == "__main__":
    main()
