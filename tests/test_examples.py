"""Every gallery example runs to the end, and shows what its text says it shows.

The examples run in this process (through :func:`runpy.run_path`, on the Agg
backend, with one BLAS thread) so the suite pays matplotlib's and
scikit-learn's import only once. ``sphinx-build`` runs them again for the docs.
"""

import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))


@pytest.fixture
def pyplot():
    """matplotlib.pyplot on the Agg backend; every figure closed afterwards."""
    matplotlib = pytest.importorskip(
        "matplotlib", reason="the examples draw with matplotlib (in the 'test' extra)"
    )
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


def _run(script, pyplot, tmp_path, monkeypatch):
    """Run an example as ``__main__`` in tmp_path; return its globals."""
    monkeypatch.chdir(tmp_path)
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-interactive.*")
        namespace = runpy.run_path(str(script), run_name="__main__")
    assert pyplot.get_fignums(), f"{script.name} drew no figure"
    return namespace


def test_examples_are_found():
    """The four gallery scripts of issue 5 are there (and nothing is silently lost)."""
    names = {script.name for script in SCRIPTS}
    assert {
        "plot_normalization.py",
        "plot_initialization.py",
        "plot_grid_search_init.py",
        "plot_gradient_check.py",
    } <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_runs(script, pyplot, tmp_path, monkeypatch, capsys):
    """The script runs to the end, draws, and has a title for the gallery."""
    text = script.read_text()
    if "sklearn.callback" in text:
        pytest.importorskip("sklearn.callback", reason="callbacks: scikit-learn >= 1.9")
    assert text.startswith('"""\n'), "a sphinx-gallery docstring opens the script"
    assert "\n# %%" in text, "the script is split into cells"
    namespace = _run(script, pyplot, tmp_path, monkeypatch)
    CHECKS.get(script.stem, lambda namespace, out: None)(
        namespace, capsys.readouterr().out
    )


def _normalization(namespace, out):
    """Raw inputs do not converge in 2000 steps; normalized ones in a few."""
    steps = namespace["steps"]
    assert steps["raw"] is None and steps["normalized"] < 50
    raw, normalized = namespace["raw"], namespace["normalized"]
    assert raw["condition_number"] > 1e5 > 10 > normalized["condition_number"]
    assert namespace["error_wrong"] > 3 * namespace["error_right"]


def _initialization(namespace, out):
    """He keeps a ReLU signal over 30 layers; small random weights lose it.

    During training (``layer_stats_``), the first layer's gradient is of the
    output layer's order under He and orders of magnitude below it under
    small random weights, where only the L2 pull ``alpha W / batch`` is left.
    """
    from sk_dlsetup.diagnostics import layer_statistics

    X, networks = namespace["X"], namespace["networks"]
    he_grads = networks["relu", "he"].layer_stats_["dW_norm"]
    assert 0.1 < he_grads[0, 0] / he_grads[0, -1] < 10
    tiny_net = networks["relu", "random"]
    tiny_grads = tiny_net.layer_stats_["dW_norm"]
    assert np.all(tiny_grads[:, 0] < 1e-2 * tiny_grads[:, -1])
    l2_pull = tiny_net.alpha * tiny_net.layer_stats_["W_norm"][:, 0] / 200
    np.testing.assert_allclose(tiny_grads[:, 0], l2_pull, rtol=0.05)
    assert "||dW[1]||, ||dW[L]|| in the first epoch" in out
    he = layer_statistics(networks["relu", "he"].initialize(X, namespace["y"]), X)
    tiny = layer_statistics(networks["relu", "random"].initialize(X, namespace["y"]), X)
    assert he[29]["activation_std"] > 1e-2
    assert tiny[29]["activation_std"] < 1e-30
    assert "std of A[l] at l = 1, 10, 20, 30" in out


def _grid_search(namespace, out):
    """Small random init finishes last; the best pipeline generalizes."""
    search = namespace["search"]
    assert search.best_params_["mlpfromscratch__init"] != "random"
    table = namespace["table"]
    worst = table.sort_values("mean_test_score").iloc[:2]
    assert set(worst["init"]) == {"random"}
    assert search.score(namespace["X_test"], namespace["y_test"]) > 0.9


def _gradient_check(namespace, out):
    """The planted bug is located, the kink is not a failure, #8349 has ratio 3."""
    buggy = namespace["buggy"]
    assert buggy.verdict == "fail" and buggy.worst_block == "b1"
    assert buggy["b1"].ratio == pytest.approx(4.0)
    assert namespace["naive"] > 1e-3  # the naive check would cry wolf...
    kinked = namespace["kinked"]
    assert kinked.verdict == "pass" and kinked.n_kinks > 0  # ...ours does not
    checker = namespace["checker"]
    assert {s: r.verdict for s, r in checker.reports_.items()} == {
        "init": "pass",
        "fitted": "pass",
    }
    ratios = [row.ratio for row in namespace["sklearn_report"].blocks]
    assert ratios == pytest.approx([3.0] * len(ratios))


def _check_your_backprop(namespace, out):
    """The correct exercise passes; the buggy one fails exactly W2 and b1."""
    assert namespace["correct"].verdict == "pass"
    assert namespace["failing"] == ["b1", "W2"]
    buggy = namespace["buggy"]
    assert buggy["W2"].ratio == pytest.approx(2.0, rel=1e-5)
    assert buggy["b1"].ratio == pytest.approx(4.0, rel=1e-5)
    assert namespace["rosen"].verdict == "pass"
    assert "failing blocks: ['b1', 'W2']" in out


def _sparse_text(namespace, out):
    """The sparse pipeline learns the topics; sparse and dense fits agree."""
    assert namespace["accuracy"] > 0.95
    assert namespace["weight_gap"] < 1e-12
    assert "dense it would hold" in out


CHECKS = {
    "plot_sparse_text": _sparse_text,
    "plot_check_your_backprop": _check_your_backprop,
    "plot_normalization": _normalization,
    "plot_initialization": _initialization,
    "plot_grid_search_init": _grid_search,
    "plot_gradient_check": _gradient_check,
}
