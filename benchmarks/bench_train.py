"""Training speed: MLPFromScratch vs scikit-learn's MLPClassifier (and torch CPU).

The problem of the issue that set the target: make_classification 20,000 x 100,
10 classes, hidden layers (256, 128), adam, batch 200, 10 epochs, tol=0 (no
early stop), in float64 and float32. Every peer is timed in the same run,
interleaved, and the median of ``--repeats`` runs is reported, with:

- samples/s (training samples processed per second, epochs included);
- the ratio peer_time / our_time (> 1 means we are faster);
- achieved GFLOP/s (the GEMM flops of forward + backward) as a fraction of a
  numpy GEMM on exactly these shapes, measured in the same run.

torch is optional: it is timed when installed (``pip install torch==2.13.0``),
skipped otherwise.

Run: ``python benchmarks/bench_train.py [--repeats 5] [--epochs 10]``.
"""

import argparse
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


def gemm_seconds(shapes, n_steps, dtype, repeats=3):
    """Time of the GEMMs alone for ``n_steps`` training steps (numpy, same shapes)."""
    rng = np.random.RandomState(0)
    operands = [
        (
            rng.standard_normal((m, k)).astype(dtype),
            rng.standard_normal((k, n)).astype(dtype),
            np.empty((m, n), dtype),
        )
        for m, k, n in shapes
    ]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n_steps):
            for a, b, out in operands:
                np.matmul(a, b, out=out)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


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

    fit_torch.threads = torch.get_num_threads()
    return fit_torch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-samples", type=int, default=20_000)
    args = parser.parse_args(argv)

    X, y = make_classification(
        args.n_samples, 100, n_informative=50, n_classes=10, random_state=0
    )
    peers = {"scikit-learn": fit_sklearn, "sk_dlsetup": fit_ours}
    fit_torch = make_torch_fit()
    if fit_torch is None:
        print("torch not installed: skipping the torch peer")
    else:
        peers["torch"] = fit_torch
        print(f"torch CPU, {fit_torch.threads} threads")

    n_steps = args.epochs * -(-args.n_samples // BATCH)
    shapes = gemm_shapes(X.shape[1], 10)
    flops = 2 * n_steps * sum(m * k * n for m, k, n in shapes)
    header = (
        f"{'dtype':8} {'peer':13} {'seconds':>8} {'samples/s':>10} "
        f"{'ours x':>7} {'GFLOP/s':>8} {'of GEMM':>8}"
    )
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        gemm = gemm_seconds(shapes, n_steps, dtype)
        times = {name: [] for name in peers}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for _ in range(args.repeats):
                for name, fit in peers.items():
                    start = time.perf_counter()
                    fit(Xd, y, args.epochs)
                    times[name].append(time.perf_counter() - start)
        gemm_rate = flops / gemm / 1e9
        print(
            f"\n{dtype.__name__}: GEMMs alone {gemm:.3f} s "
            f"({gemm_rate:.1f} GFLOP/s) for {n_steps} steps"
        )
        print(header)
        ours = np.median(times["sk_dlsetup"])
        for name, seconds in times.items():
            median = float(np.median(seconds))
            rate = flops / median / 1e9
            print(
                f"{dtype.__name__:8} {name:13} {median:8.3f} "
                f"{args.epochs * args.n_samples / median:10.0f} "
                f"{median / ours:7.2f} {rate:8.1f} {rate / gemm_rate:8.0%}"
            )


if __name__ == "__main__":
    main()
