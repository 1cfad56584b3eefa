"""How accurate is a gradient check? Methods, directional guarantees and JAX.

Three parts, every peer measured in the same run (a peer that is not installed
is skipped):

1. *Floors and costs* on correct float64 MLPs given as black boxes (their
   ``J`` and backprop as plain functions with the network's blocks: the plain
   engine, real finite differences). Ours with ``method='central'``
   (``epsilon=1e-7`` and ``'auto'``), ``'richardson'`` and ``'complex'``,
   full checks; peers: ``scipy.optimize.check_grad`` (forward differences at
   sqrt(u)), torch's gradcheck (central at 1e-6), JAX's ``check_grads``
   (central at 1e-4 along one random direction) and numdifftools' Gradient.
   Each difference is ``||a - g|| / (||a|| + ||g||)`` over what the method
   computed; evaluations of J per entry are counted. Targets: 'richardson'
   <= 1e-10 and 'complex' <= 1e-13; 'richardson' at most 2x 'central''s
   evaluations, 'complex' at most 3x its time.
2. *Directional guarantee*: ``--trials`` planted single-block errors of
   relative size ``--planted`` (1 %) in random directions, checked with
   ``mode='directional', detect=0.01``: the miss rate against the 0.1 % that
   ``detectable_error`` allows wherever it is at most the planted size, and the
   evaluations of J per block.
3. *JAX*: a tanh MLP of about 10k parameters written in JAX, checked in full
   through :func:`~sk_dlsetup.interop.jax_objective` against
   ``jax.test_util.check_grads`` (time, and the difference of what each
   computed).

Usage: python benchmarks/bench_methods.py [--sizes 1k 10k] [--trials 1000]
       [--planted 0.01] [--only floors|directional|jax] [--threads 1]
"""

import argparse
import time
import warnings

import numpy as np
from scipy.optimize import approx_fprime
from threadpoolctl import threadpool_limits

from sk_dlsetup import MLPFromScratch, check_gradients

NETWORKS = {"1k": (20, 32, 10), "10k": (64, 96, 32, 10), "50k": (196, 192, 64, 10)}
N_SAMPLES = 64
METHODS = (("central 1e-7", "central", 1e-7), ("central auto", "central", "auto"))
METHODS += (("richardson", "richardson", None), ("complex", "complex", None))


def relative(numeric, analytic):
    return float(np.linalg.norm(numeric - analytic)) / float(
        np.linalg.norm(numeric) + np.linalg.norm(analytic)
    )


def mlp_objective(layers, activation, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(N_SAMPLES, layers[0])
    y = np.arange(N_SAMPLES) % layers[-1]
    model = MLPFromScratch(
        hidden_layer_sizes=layers[1:-1], activation=activation, random_state=seed
    )
    return model.initialize(X, y).objective(X, y)


class BlackBox:
    """The objective as plain functions, with its blocks, counting evaluations
    of J (real or complex), and ``delta`` planted in block ``block``'s gradient."""

    def __init__(self, objective, block=None, delta=None):
        self.objective, self.block, self.delta = objective, block, delta
        self.theta0, self.blocks = objective.theta0, objective.blocks
        self.calls = 0

    def loss(self, theta):
        self.calls += 1
        return self.objective.loss(theta)

    def gradient(self, theta):
        grad = self.objective.gradient(theta)
        if self.delta is not None:
            grad[self.blocks[self.block][1]] += self.delta
        return grad


def ours(objective, method, epsilon):
    black_box = BlackBox(objective)
    kwargs = {"method": method} if epsilon is None else {"epsilon": epsilon}
    start = time.perf_counter()
    report = check_gradients(black_box, mode="full", **kwargs)
    seconds = time.perf_counter() - start
    per_entry = black_box.calls / objective.theta0.size
    return seconds, report.difference, per_entry, report.verdict


def central(objective, eps, idx):
    theta0 = objective.theta0
    numeric = np.empty(idx.size)
    for m, i in enumerate(idx):
        up, down = theta0.copy(), theta0.copy()
        up[i] += eps
        down[i] -= eps
        numeric[m] = (objective.loss(up) - objective.loss(down)) / (2 * eps)
    return numeric


def jax_style(objective, analytic, eps=1e-4):
    """The difference JAX's check_grads sees: a central difference at 1e-4
    along one random direction, against the directional derivative."""
    theta0 = objective.theta0
    tangent = np.random.RandomState(0).randn(theta0.size)
    up = objective.loss(theta0 + eps * tangent)
    down = objective.loss(theta0 - eps * tangent)
    return relative((up - down) / (2 * eps), tangent @ analytic)


def peers(objective):
    theta0, analytic = objective.theta0, objective.gradient(objective.theta0)
    out = {}
    start = time.perf_counter()
    numeric = approx_fprime(theta0, objective.loss, np.sqrt(np.finfo(float).eps))
    out["scipy check_grad"] = (time.perf_counter() - start, relative(numeric, analytic))
    idx = np.arange(theta0.size)
    start = time.perf_counter()
    numeric = central(objective, 1e-6, idx)
    out["torch gradcheck (h=1e-6)"] = (
        time.perf_counter() - start,
        relative(numeric, analytic),
    )
    out["JAX check_grads (h=1e-4, 1 dir)"] = (np.nan, jax_style(objective, analytic))
    try:
        import numdifftools
    except ImportError:
        out["numdifftools"] = None
    else:
        start = time.perf_counter()
        numeric = numdifftools.Gradient(objective.loss)(theta0)
        out["numdifftools"] = (time.perf_counter() - start, relative(numeric, analytic))
    return out


def floors(args):
    print("1. Floors and costs: correct float64 MLPs as black boxes, full checks")
    print(
        f"{'network':<14}{'method':<34}{'difference':>11}{'J/entry':>9}{'seconds':>9}"
    )
    for size in args.sizes:
        for activation in ("tanh", "logistic"):
            objective = mlp_objective(NETWORKS[size], activation)
            label = f"{size} {activation}"
            results = {name: ours(objective, m, e) for name, m, e in METHODS}
            for name, (seconds, difference, per_entry, verdict) in results.items():
                print(
                    f"{label:<14}{'ours ' + name + ' (' + verdict + ')':<34}"
                    f"{difference:>11.1e}{per_entry:>9.2f}{seconds:>9.2f}"
                )
            for name, result in peers(objective).items():
                if result is None:
                    print(f"{label:<14}{name:<34}{'not installed':>11}")
                    continue
                seconds, difference = result
                print(f"{label:<14}{name:<34}{difference:>11.1e}{'':>9}{seconds:>9.2f}")
            c, r, x = (results[k] for k in ("central 1e-7", "richardson", "complex"))
            print(
                f"{label:<14}ratios: richardson/central evaluations "
                f"{r[2] / c[2]:.2f}, complex/central time {x[0] / c[0]:.2f}"
            )


def directional(args):
    print(
        f"\n2. Directional guarantee: {args.trials} planted single-block errors "
        f"of relative size {args.planted:g} on the 1k tanh black box, detect=0.01"
    )
    objective = mlp_objective(NETWORKS["1k"], "tanh")
    grad = objective.gradient(objective.theta0)
    n_blocks = len(objective.blocks)
    for method in ("central", "richardson", "complex"):
        rng = np.random.RandomState(0)
        misses, promised, calls, directions = 0, [], [], []
        for trial in range(args.trials):
            b = trial % n_blocks
            sl = objective.blocks[b][1]
            delta = rng.standard_normal(sl.stop - sl.start)
            delta *= args.planted * np.linalg.norm(grad[sl]) / np.linalg.norm(delta)
            kwargs = {"detect": 0.01, "method": method, "random_state": trial}
            correct = BlackBox(objective)
            row = check_gradients(correct, **kwargs).blocks[b]
            promised.append(row.detectable_error)
            directions.append(row.n_checked)
            calls.append(correct.calls / n_blocks)
            report = check_gradients(BlackBox(objective, b, delta), **kwargs)
            misses += report.blocks[b].verdict != "fail"
        promised = np.array(promised)
        print(
            f"  {method:<10} missed {misses} of {args.trials} "
            f"({100 * misses / args.trials:.2f} %; promised detectable_error "
            f"median {np.median(promised):.2g}, max {promised.max():.2g}, "
            f"all <= {args.planted:g}: {bool(np.all(promised <= args.planted))}); "
            f"directions per block mean {np.mean(directions):.2f}, max "
            f"{max(directions)}; J evaluations per block {np.mean(calls):.1f} "
            f"(noise probe included)"
        )


def jax_part(args):
    print("\n3. JAX: a tanh MLP of about 10k parameters, checked in full")
    try:
        import jax
        import jax.numpy as jnp
        from jax.test_util import check_grads
    except ImportError:
        print("  JAX not installed: skipped")
        return
    from sk_dlsetup.interop import jax_objective

    layers = NETWORKS["10k"]
    rng = np.random.RandomState(0)
    params = [
        {"kernel": rng.randn(a, b) / np.sqrt(a), "bias": np.zeros(b)}
        for a, b in zip(layers[:-1], layers[1:])
    ]
    X, y = rng.randn(N_SAMPLES, layers[0]), np.arange(N_SAMPLES) % layers[-1]

    def loss(params, X, y):
        hidden = X
        for layer in params[:-1]:
            hidden = jnp.tanh(hidden @ layer["kernel"] + layer["bias"])
        logits = hidden @ params[-1]["kernel"] + params[-1]["bias"]
        log_p = logits - jax.scipy.special.logsumexp(logits, axis=1, keepdims=True)
        return -jnp.mean(log_p[jnp.arange(y.size), y])

    objective = jax_objective(loss, params, X, y)
    objective.loss(objective.theta0)  # compile outside the timings
    objective.gradient(objective.theta0)
    for name, method, epsilon in METHODS:
        kwargs = {"method": method} if epsilon is None else {"epsilon": epsilon}
        start = time.perf_counter()
        report = check_gradients(objective, mode="full", **kwargs)
        print(
            f"  ours {name:<14} {time.perf_counter() - start:7.2f} s, difference "
            f"{report.difference:.1e}, {report.verdict}, "
            f"{report.n_checked} of {objective.theta0.size} entries"
        )
    start = time.perf_counter()
    report = check_gradients(objective, detect=0.01)
    print(
        f"  ours directional detect=0.01 {time.perf_counter() - start:5.2f} s, "
        f"{report.verdict}, {report.n_checked} directions, largest "
        f"detectable_error {max(r.detectable_error for r in report.blocks):.1e}"
    )
    with jax.enable_x64(True):
        params64 = jax.tree_util.tree_map(jnp.asarray, params)
        start = time.perf_counter()
        check_grads(lambda p: loss(p, X, y), (params64,), order=1, modes=["rev"])
        seconds = time.perf_counter() - start
    difference = jax_style(objective, objective.gradient(objective.theta0))
    print(
        f"  jax.test_util.check_grads {seconds:7.2f} s (passed; one random "
        f"direction, h=1e-4): difference of its check {difference:.1e}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1k", "10k"], choices=NETWORKS)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--planted", type=float, default=0.01)
    parser.add_argument("--only", choices=("floors", "directional", "jax"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    parts = {"floors": floors, "directional": directional, "jax": jax_part}
    with threadpool_limits(limits=args.threads):
        for name, part in parts.items():
            if args.only in (None, name):
                part(args)


if __name__ == "__main__":
    main()
