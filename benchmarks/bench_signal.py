"""Depth 100: the signal-propagation diagnostic's cost, and what it predicts.

Prints, on this machine:

1. the time of ``signal_propagation`` on a 100-layer width-256 tanh network
   with 256 rows (and with fewer rows), best of ``--repeats``;
2. the spread (largest over median singular value of the input-output
   Jacobian) at layer 100 of tanh networks of width 64 on the normalized
   digits, per init (the contract's hand computation: 2.6 for 'orthogonal',
   8e15 for Gaussian 'xavier');
3. the cross-validated accuracy of those networks after the same epochs, and
   the gap of 'orthogonal' and 'lsuv' over 'xavier' (target: >= 0.2).

Usage: python benchmarks/bench_signal.py [--repeats 3] [--epochs 10] [--cv 3]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sk_dlsetup import InputNormalizer, MLPFromScratch
from sk_dlsetup.diagnostics import signal_propagation


def timing(repeats):
    rng = np.random.RandomState(0)
    X = 0.5 * rng.standard_normal((256, 256))
    y = np.arange(256) % 2
    net = MLPFromScratch((256,) * 100, activation="tanh", init="orthogonal")
    net = net.set_params(random_state=0).initialize(X, y)
    for rows in (256, 64, 16):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            signal_propagation(net, X, max_rows=rows)
            times.append(time.perf_counter() - start)
        print(
            f"  100 x 256 tanh, 256 features, {rows:3d} rows: best "
            f"{min(times):.2f} s, worst {max(times):.2f} s"
        )


def depth_study(epochs, cv):
    X, y = load_digits(return_X_y=True)
    X_normalized = InputNormalizer().fit_transform(X)
    scores = {}
    for init in ("xavier", "he", "orthogonal", "lsuv"):
        net = MLPFromScratch(
            (64,) * 100,
            activation="tanh",
            init=init,
            max_iter=epochs,
            learning_rate_init=1e-3,
            random_state=0,
        )
        stats = signal_propagation(clone(net).initialize(X_normalized, y), X_normalized)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            folds = StratifiedKFold(cv, shuffle=True, random_state=0)
            score = cross_val_score(
                make_pipeline(InputNormalizer(), net), X, y, cv=folds
            )
        scores[init] = score.mean()
        print(
            f"  {init:10} spread A[100] {stats[-1]['spread']:9.3g}   CV accuracy "
            f"{score.mean():.3f} +/- {score.std():.3f}"
        )
    for init in ("orthogonal", "lsuv"):
        print(f"  {init} - xavier: {scores[init] - scores['xavier']:+.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cv", type=int, default=3)
    args = parser.parse_args(argv)
    print("signal_propagation time (target: under 1 s with 256 rows)")
    timing(args.repeats)
    print(f"tanh, 100 layers of 64, digits, {args.epochs} epochs, {args.cv}-fold CV")
    depth_study(args.epochs, args.cv)


if __name__ == "__main__":
    main()
