"""Benchmark InputNormalizer against scikit-learn's StandardScaler.

Times ``fit``, ``transform`` (``copy=True`` and ``copy=False``) and
``partial_fit`` over 100 chunks on the same dense data, for float64 and
float32, and prints the median time of each and the ratio
``StandardScaler time / InputNormalizer time`` (above 1 means InputNormalizer
is faster). The two estimators are timed alternately, their order swapped at
every repeat, so that a noisy machine penalises neither. Nothing is asserted:
this is a report.

Run with ``python benchmarks/bench_normalizer.py [--n-samples N]
[--n-features D] [--repeats R]``. Peak memory is about three times the data
(the data, a scratch copy for the in-place transform, and one output), e.g.
2.4 GB for the default 1,000,000 x 100 float64 array.
"""

import argparse
import gc
import time
from statistics import median

import numpy as np
from sklearn.preprocessing import StandardScaler

from sk_dlsetup import InputNormalizer

N_CHUNKS = 100


def make_data(n_samples, n_features, dtype, seed=0):
    """Gaussian features with varied offsets and spreads, built in place."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features), dtype=dtype)
    X *= rng.uniform(0.1, 10.0, n_features).astype(dtype)
    X += rng.uniform(-100.0, 100.0, n_features).astype(dtype)
    return X


def timed(func):
    """Seconds taken by ``func()``; its result is dropped before returning."""
    gc.collect()
    start = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def operations(X, scratch):
    """(name, function of an estimator class) for every timed operation."""
    chunks = np.array_split(X, N_CHUNKS)

    def fit(cls):
        return cls().fit(X)

    def transform(cls, copy):
        est = cls().fit(X[:1000])
        if copy:
            return lambda: est.transform(X, copy=True)
        np.copyto(scratch, X)  # fresh input each time, outside the timing
        return lambda: est.transform(scratch, copy=False)

    def partial_fit(cls):
        est = cls()
        for chunk in chunks:
            est.partial_fit(chunk)
        return est

    return [
        ("fit", lambda cls: lambda: fit(cls)),
        ("transform (copy=True)", lambda cls: transform(cls, copy=True)),
        ("transform (copy=False)", lambda cls: transform(cls, copy=False)),
        (f"partial_fit ({N_CHUNKS} chunks)", lambda cls: lambda: partial_fit(cls)),
    ]


def run(n_samples, n_features, repeats, dtypes):
    peers = [StandardScaler, InputNormalizer]
    rows = []
    for dtype in dtypes:
        X = make_data(n_samples, n_features, dtype)
        scratch = np.empty_like(X)
        for op_name, prepare in operations(X, scratch):
            times = {cls: [] for cls in peers}
            for r in range(repeats):
                order = peers if r % 2 == 0 else peers[::-1]
                for cls in order:
                    times[cls].append(timed(prepare(cls)))
            sk, ours = (median(times[cls]) for cls in peers)
            rows.append((np.dtype(dtype).name, op_name, sk, ours, sk / ours))
            print(f"  {rows[-1][0]:8s} {op_name:26s} ratio {sk / ours:.2f}", flush=True)
        # The fitted statistics of both, as a sanity check of the comparison.
        sk_est, ours_est = StandardScaler().fit(X), InputNormalizer().fit(X)
        rel = np.max(np.abs(ours_est.scale_ - sk_est.scale_) / sk_est.scale_)
        print(f"  {np.dtype(dtype).name}: max relative difference of scale_ {rel:.1e}")
        del X, scratch
        gc.collect()
    return rows


def print_table(rows):
    header = (
        f"{'dtype':8s} {'operation':26s} {'StandardScaler s':>17s} "
        f"{'InputNormalizer s':>18s} {'ratio':>7s}"
    )
    print(header)
    print("-" * len(header))
    for dtype, op_name, sk, ours, ratio in rows:
        print(f"{dtype:8s} {op_name:26s} {sk:17.3f} {ours:18.3f} {ratio:7.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument(
        "--repeats", type=int, default=7, help="timings per operation and peer"
    )
    parser.add_argument(
        "--dtypes", nargs="+", default=["float64", "float32"], help="input dtypes"
    )
    args = parser.parse_args(argv)
    print(
        f"InputNormalizer vs StandardScaler: {args.n_samples} x {args.n_features}, "
        f"median of {args.repeats} (ratio = StandardScaler / InputNormalizer; "
        "> 1 means InputNormalizer is faster)"
    )
    rows = run(args.n_samples, args.n_features, args.repeats, args.dtypes)
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
