"""BLAS threads: scipy's own pool on one thread, small products on one."""

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratchRegressor


def test_lbfgs_runs_scipys_own_blas_on_one_thread(monkeypatch):
    """During L-BFGS, scipy's vendored BLAS has 1 thread; numpy's keeps its own
    (on a problem whose products are large enough for several threads)."""
    from pathlib import Path

    import scipy
    import scipy.optimize
    from threadpoolctl import threadpool_info

    from sk_dlsetup.neural_network import _lbfgs

    scipy_libs = Path(scipy.__file__).parent.with_name("scipy.libs")

    def pools():
        return {
            info["filepath"]: info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        }

    before = pools()
    if not any(Path(path).parent == scipy_libs for path in before):
        pytest.skip("scipy shares numpy's BLAS here: nothing to limit")
    seen = []
    minimize = scipy.optimize.minimize

    def spy(*args, **kwargs):
        seen.append(pools())
        return minimize(*args, **kwargs)

    monkeypatch.setattr(_lbfgs.scipy.optimize, "minimize", spy)
    rng = np.random.RandomState(0)
    X = rng.randn(20_000, 20)
    with pytest.warns(Warning):
        MLPFromScratchRegressor(
            hidden_layer_sizes=(8,), solver="lbfgs", max_iter=3
        ).fit(X, X.sum(1))
    (during,) = seen
    for path, n_threads in during.items():
        expected = 1 if Path(path).parent == scipy_libs else before[path]
        assert n_threads == expected, path
    assert pools() == before


def test_small_lbfgs_runs_blas_on_one_thread():
    """Small products run on one BLAS thread (waking others costs more than
    they share); large ones keep the default. Read from inside the fit."""
    pytest.importorskip("sklearn.callback")
    from threadpoolctl import threadpool_info

    def blas_threads():
        return max(
            p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"
        )

    class Probe:
        def __init__(self):
            self.seen = []

        def setup(self, estimator, context):
            pass

        def teardown(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, *, X=None):
            if X is not None and context.task_name == "iteration":
                self.seen.append(blas_threads())  # inside scipy's minimize

    default = blas_threads()
    rng = np.random.RandomState(0)
    for n_rows, expected in ((200, 1), (30_000, default)):
        X = rng.randn(n_rows, 20)
        probe = Probe()
        MLPFromScratchRegressor(
            hidden_layer_sizes=(50,), solver="lbfgs", max_iter=3
        ).set_callbacks(probe).fit(X, X[:, 0])
        assert set(probe.seen) == {expected}, (n_rows, probe.seen)
    assert blas_threads() == default  # restored after the fit
