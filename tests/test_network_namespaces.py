"""The one network on every array library (array_api_dispatch=True).

The same functions run in every namespace; NumPy's run (tested against
scikit-learn's MLP in test_network.py and test_mlp.py) is the reference for
the same weights and batches. array-api-strict runs the standard's code path,
PyTorch CPU tensors run through NumPy's kernels on their own memory (lent),
and, with lending switched off, through PyTorch's own kernels, as on a GPU.
"""

import warnings

import numpy as np
import pytest
import sklearn
from _versions import requires_array_api_dispatch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

from sk_dlsetup import MLPFromScratch, MLPFromScratchRegressor, check_gradients
from sk_dlsetup._namespaces import namespace_of
from sk_dlsetup.neural_network._layout import layer_views, parameter_blocks
from sk_dlsetup.neural_network._network import allocate_activations, backprop

pytestmark = requires_array_api_dispatch

array_api_strict = pytest.importorskip("array_api_strict")


def _namespaces():
    """(id, name, to_array, to_numpy) for every installed library; CPU only."""
    found = [
        ("array_api_strict", "array_api_strict", array_api_strict.asarray, np.asarray)
    ]
    try:
        import torch
    except ImportError:
        return found
    to_numpy = lambda a: a.numpy()  # noqa: E731
    found.append(("torch-lent-to-numpy", "torch", torch.asarray, to_numpy))
    found.append(("torch-own-kernels", "torch", torch.asarray, to_numpy))
    return found


NAMESPACES = _namespaces()
IDS = [id_ for id_, *_ in NAMESPACES]


@pytest.fixture(params=NAMESPACES, ids=IDS)
def namespace(request, monkeypatch):
    id_, name, asarray, to_numpy = request.param
    if id_ == "torch-own-kernels":  # what a GPU runs, here on the CPU
        from sk_dlsetup.neural_network import _mlp, _stochastic

        for module in (_mlp, _stochastic):
            monkeypatch.setattr(module, "lent_to_numpy", lambda *arrays: None)
    return name, asarray, to_numpy


@pytest.fixture
def dispatch():
    with sklearn.config_context(array_api_dispatch=True):
        yield


def _data(kind="multiclass", n=60, seed=0):
    if kind == "multilabel":
        X, y = make_multilabel_classification(n, 6, n_classes=3, random_state=seed)
    else:
        n_classes = 2 if kind == "binary" else 3
        X, y = make_classification(
            n, 6, n_informative=4, n_classes=n_classes, random_state=seed
        )
    if kind in ("squared_error", "poisson"):
        y = np.abs(X[:, :2] @ [1.0, -0.5]) if kind == "poisson" else X @ np.ones(6)
    return X, y


def _quiet(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


# ------------------------------------------------------- the engine itself


@pytest.mark.parametrize("activation", ["identity", "relu", "tanh", "logistic"])
@pytest.mark.parametrize(
    "loss, n_outputs",
    [("log_loss", 3), ("binary_log_loss", 2), ("squared_error", 2), ("poisson", 2)],
)
def test_backprop_in_array_api_strict_equals_numpy(
    activation, loss, n_outputs, dispatch
):
    """The one backprop, run on array-api-strict buffers, gives NumPy's loss and
    gradient for the same weights, sample weights and dropout masks."""
    xp = array_api_strict
    rng = np.random.RandomState(0)
    units = [5, 7, 4, n_outputs]
    n = 11
    blocks = parameter_blocks(units)
    theta = rng.randn(sum(np.prod(s) for _, _, s in blocks)) * 0.5
    X = rng.randn(n, 5)
    if loss == "log_loss":
        Y = np.eye(n_outputs)[rng.randint(0, n_outputs, n)]
    elif loss == "binary_log_loss":
        Y = (rng.rand(n, n_outputs) > 0.5).astype(float)
    else:
        Y = np.abs(rng.randn(n, n_outputs))
    weights = rng.rand(n) + 0.5
    masks = [(rng.rand(n, u) < 0.8) / 0.8 for u in units[1:-1]]

    def run(xp, asarray):
        grad = xp.zeros(theta.shape[0], dtype=xp.float64)
        buffers = allocate_activations(n, units, xp.float64, dropout=True, xp=xp)
        value = backprop(
            asarray(X), asarray(Y), layer_views(asarray(theta), blocks, xp),
            layer_views(grad, blocks, xp), buffers,
            activation=activation, loss=loss, alpha=0.3,
            sample_weight=asarray(weights), keep_masks=[asarray(m) for m in masks],
        )  # fmt: skip
        return value, np.asarray(grad)

    expected, grad = run(np, np.asarray)
    value, xp_grad = run(xp, xp.asarray)
    assert value == pytest.approx(expected, rel=1e-12)
    assert_allclose(xp_grad, grad, rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------ the estimators


@pytest.mark.parametrize(
    "kind, params",
    [
        ("multiclass", {"solver": "adam"}),
        ("binary", {"solver": "sgd", "activation": "tanh"}),
        ("multilabel", {"solver": "adam", "dropout": 0.2}),
        ("multiclass", {"solver": "adam", "early_stopping": True}),
        (
            "multiclass",
            {"solver": "sgd", "shuffle": False, "learning_rate": "adaptive"},
        ),
        ("squared_error", {"solver": "adam"}),
        ("poisson", {"solver": "sgd", "learning_rate_init": 1e-3}),
    ],
)
def test_training_in_a_namespace_equals_numpy(namespace, kind, params, dispatch):
    """Same random_state: the same initial weights, batches, masks and split,
    so the same trained weights to floating-point accuracy."""
    name, asarray, to_numpy = namespace
    X, y = _data(kind)
    estimator = (
        MLPFromScratchRegressor
        if kind in ("squared_error", "poisson")
        else MLPFromScratch
    )
    if kind == "poisson":
        params = {**params, "loss": "poisson"}
    settings = dict(
        hidden_layer_sizes=(8, 6), max_iter=5, batch_size=16, random_state=0,
        record_layer_stats=True, **params,
    )  # fmt: skip
    weights = np.linspace(0.5, 1.5, X.shape[0])
    with sklearn.config_context(array_api_dispatch=False):
        reference = _quiet(estimator(**settings).fit, X, y, sample_weight=weights)
    model = _quiet(
        estimator(**settings).fit,
        asarray(X),
        asarray(y),
        sample_weight=asarray(weights),
    )
    assert model.n_iter_ == reference.n_iter_
    assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-10)
    for W, W_ref in zip(model.coefs_, reference.coefs_):
        assert type(W).__module__.split(".")[0] == name
        assert_allclose(to_numpy(W), W_ref, rtol=1e-9, atol=1e-12)
    assert_allclose(
        model.layer_stats_["dW_norm"], reference.layer_stats_["dW_norm"], rtol=1e-9
    )
    method = "predict_proba" if estimator is MLPFromScratch else "predict"
    out = getattr(model, method)(asarray(X))
    assert type(out).__module__.split(".")[0] == name
    assert_allclose(to_numpy(out), getattr(reference, method)(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("init", ["he", "orthogonal", "lsuv"])
def test_same_random_state_same_initial_weights(namespace, dispatch, init):
    """The same draws in every namespace, the data-dependent 'lsuv' included."""
    name, asarray, to_numpy = namespace
    X, y = _data()
    params = dict(hidden_layer_sizes=(5,), init=init, random_state=3)
    with sklearn.config_context(array_api_dispatch=False):
        reference = MLPFromScratch(**params).initialize(X, y)
    model = MLPFromScratch(**params).initialize(asarray(X), asarray(y))
    for W, W_ref in zip(
        model.coefs_ + model.intercepts_, reference.coefs_ + reference.intercepts_
    ):
        assert_allclose(to_numpy(W), W_ref, rtol=1e-15)  # the very same draws


def test_float32_stays_float32(namespace, dispatch):
    name, asarray, to_numpy = namespace
    X, y = _data()
    X32 = X.astype(np.float32)
    model = _quiet(
        MLPFromScratch((5,), max_iter=3, random_state=0).fit, asarray(X32), asarray(y)
    )
    assert to_numpy(model.coefs_[0]).dtype == np.float32
    assert to_numpy(model.predict_proba(asarray(X32))).dtype == np.float32


def test_lbfgs_runs_in_float64_numpy_and_comes_back(namespace, dispatch):
    name, asarray, to_numpy = namespace
    X, y = _data()
    with sklearn.config_context(array_api_dispatch=False):
        reference = _quiet(
            MLPFromScratch((6,), solver="lbfgs", max_iter=30, random_state=0).fit, X, y
        )
    model = _quiet(
        MLPFromScratch((6,), solver="lbfgs", max_iter=30, random_state=0).fit,
        asarray(X.astype(np.float32)),
        asarray(y),
    )
    W = to_numpy(model.coefs_[0])
    assert (
        W.dtype == np.float32 and type(model.coefs_[0]).__module__.split(".")[0] == name
    )
    # float32 initial weights, then float64 L-BFGS: close to the float64 fit.
    assert model.n_iter_ == reference.n_iter_
    assert_allclose(W, reference.coefs_[0], rtol=1e-3, atol=1e-4)


def test_partial_fit_and_predict_in_the_namespace(namespace, dispatch):
    name, asarray, to_numpy = namespace
    X, y = _data()
    model = MLPFromScratch((5,), random_state=0)
    for _ in range(3):
        model.partial_fit(asarray(X), asarray(y), classes=np.unique(y))
    labels = model.predict(asarray(X))
    assert type(labels).__module__.split(".")[0] == name
    assert set(np.unique(to_numpy(labels))) <= set(np.unique(y))
    with pytest.raises(ValueError, match="must use the same namespace"):
        model.predict(X)


def test_partial_fit_takes_classes_from_the_namespace(namespace, dispatch):
    """classes= as an array of the namespace (xp.unique_values(y)) works as NumPy
    classes do: the same model, to floating-point accuracy."""
    name, asarray, to_numpy = namespace
    X, y = _data()
    with sklearn.config_context(array_api_dispatch=False):
        reference = MLPFromScratch((5,), random_state=0)
        for _ in range(2):
            reference.partial_fit(X, y, classes=np.unique(y))
    model = MLPFromScratch((5,), random_state=0)
    X_ns, y_ns = asarray(X), asarray(y)
    xp, _ = namespace_of(y_ns)
    for _ in range(2):
        model.partial_fit(X_ns, y_ns, classes=xp.unique_values(y_ns))
    assert_array_equal(model.classes_, reference.classes_)
    assert_allclose(to_numpy(model.coefs_[0]), reference.coefs_[0], rtol=1e-9)


def test_objective_and_gradient_check_run_in_float64_numpy(namespace, dispatch):
    name, asarray, _ = namespace
    X, y = _data(n=30)
    model = MLPFromScratch((5,), random_state=0).initialize(asarray(X), asarray(y))
    objective = model.objective(asarray(X), asarray(y))
    assert (
        isinstance(objective.theta0, np.ndarray)
        and objective.theta0.dtype == np.float64
    )
    report = check_gradients(model, asarray(X), asarray(y))
    assert report.passed and report.difference < 1e-8


def test_divergence_in_a_namespace_keeps_finite_weights(namespace, dispatch):
    name, asarray, to_numpy = namespace
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    model = MLPFromScratchRegressor(random_state=0)
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        model.fit(asarray(X), asarray(rng.randn(10)))
    assert all(np.all(np.isfinite(to_numpy(W))) for W in model.coefs_)


def test_pipeline_checker_and_layer_statistics_take_namespace_arrays(
    namespace, dispatch
):
    """InputNormalizer -> MLP in a Pipeline, GradientChecker, and the layer
    statistics (read on the host) on arrays of another library."""
    from sklearn.pipeline import make_pipeline

    from sk_dlsetup import GradientChecker, InputNormalizer
    from sk_dlsetup.diagnostics import layer_statistics

    name, asarray, to_numpy = namespace
    X, y = _data()
    model = make_pipeline(
        InputNormalizer(), MLPFromScratch((8,), max_iter=5, random_state=0)
    )
    _quiet(model.fit, asarray(X), asarray(y))
    assert type(model.predict(asarray(X))).__module__.split(".")[0] == name
    with sklearn.config_context(array_api_dispatch=False):
        reference = _quiet(
            make_pipeline(
                InputNormalizer(), MLPFromScratch((8,), max_iter=5, random_state=0)
            ).fit,
            X,
            y,
        )
    stats = layer_statistics(model, asarray(X), asarray(y))
    expected = layer_statistics(reference, X, y)
    for row, row_ref in zip(stats, expected):
        assert row["activation_std"] == pytest.approx(
            row_ref["activation_std"], rel=1e-9
        )
        assert row["dW_norm"] == pytest.approx(row_ref["dW_norm"], rel=1e-9)
    checker = GradientChecker(MLPFromScratch((6,), max_iter=3, random_state=0))
    _quiet(checker.fit, asarray(X), asarray(y))
    assert {stage: r.verdict for stage, r in checker.reports_.items()} == {
        "init": "pass",
        "fitted": "pass",
    }


def test_training_writes_the_librarys_own_arrays(namespace, dispatch):
    """Wherever the arithmetic runs (NumPy's kernels on lent memory, or the
    library's own), the fitted weights are the library's arrays, trained."""
    name, asarray, to_numpy = namespace
    X, y = _data()
    model = MLPFromScratch((5,), max_iter=2, random_state=0)
    initial = [
        to_numpy(W).copy() for W in model.initialize(asarray(X), asarray(y)).coefs_
    ]
    _quiet(model.fit, asarray(X), asarray(y))
    assert type(model.coefs_[0]).__module__.split(".")[0] == name
    assert not np.allclose(to_numpy(model.coefs_[0]), initial[0])


def test_lbfgs_callbacks_see_weights_in_the_namespace(namespace, dispatch):
    """L-BFGS runs on the host, yet each iteration's fitted_estimator holds
    weights where X lives, and predicts there."""
    pytest.importorskip("sklearn.callback")
    from sklearn.callback.tests._utils import RecordingCallback

    name, asarray, to_numpy = namespace
    X, y = _data()
    callback = RecordingCallback()
    model = MLPFromScratch((6,), solver="lbfgs", max_iter=3, random_state=0)
    _quiet(model.set_callbacks(callback).fit, asarray(X), asarray(y))
    fitted = [
        r["kwargs"]["fitted_estimator"]
        for r in callback.record
        if r["name"] == "on_fit_task_end"
        and r["kwargs"]["fitted_estimator"] is not None
        and r["context"].task_name == "iteration"
    ]
    assert len(fitted) == model.n_iter_
    last = fitted[-1]
    assert type(last.coefs_[0]).__module__.split(".")[0] == name
    assert_allclose(
        to_numpy(last.predict_proba(asarray(X))),
        to_numpy(model.predict_proba(asarray(X))),
        rtol=1e-12,
    )
