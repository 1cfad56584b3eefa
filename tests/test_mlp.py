"""MLPFromScratch / MLPFromScratchRegressor: training, features and bad input.

Every number is checked against an independent reference: scikit-learn's own
MLP trained from the same weights, scipy.optimize run on the objective, a plain
numpy forward pass, or a closed form.
"""

import copy
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.optimize
from _epoch_replay import replay_sgd_epoch
from _versions import skip_unless_sklearn_1_7
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_expit, log_softmax
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits

import sk_dlsetup.neural_network._classifier
import sk_dlsetup.neural_network._stochastic
from sk_dlsetup import InputNormalizer, MLPFromScratch, MLPFromScratchRegressor

REGRESSION_TASKS = ("regression", "multioutput")
ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Run this module's small GEMMs on one BLAS thread."""
    # Faster, and far more robust on a loaded machine than BLAS threads spinning
    # on two shared cores (the digits test went from ~6 s to ~90 s under load).
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _data(request, task):
    return request.getfixturevalue(f"{task}_data")


def _estimators(task):
    """(ours, scikit-learn's) estimator classes for a task."""
    if task in REGRESSION_TASKS:
        return MLPFromScratchRegressor, MLPRegressor
    return MLPFromScratch, MLPClassifier


def _params(model):
    """Every weight and bias as one flat float64 vector in theta's W1, b1, ... order."""
    pairs = zip(model.coefs_, model.intercepts_)
    return np.concatenate(
        [np.ravel(p).astype(np.float64) for pair in pairs for p in pair]
    )


def _copy_weights(source, target):
    """Write ``source``'s weights into ``target``'s live arrays (in place)."""
    for dst, src in zip(
        target.coefs_ + target.intercepts_, source.coefs_ + source.intercepts_
    ):
        dst[...] = src


def _fit_both_from_same_weights(X, y, task, n_epochs, sample_weight=None, **params):
    """scikit-learn and our model trained for ``n_epochs`` from the same weights.

    scikit-learn is fitted for one epoch to draw its weights; they are copied into
    ours after ``initialize``; then scikit-learn's epoch bookkeeping is reset
    (samples seen, loss curve, best loss) so it continues with warm_start as from
    a fresh start, and ours fits from exactly those weights. Returns
    ``(ours, theirs)``.
    """
    ours_cls, theirs_cls = _estimators(task)
    theirs = theirs_cls(max_iter=1, random_state=0, **params)
    weights = {}
    if sample_weight is not None:
        skip_unless_sklearn_1_7("sample_weight in MLP.fit")
        weights = {"sample_weight": sample_weight}
    theirs.fit(X, y, **weights)
    if hasattr(theirs, "loss_curve_"):
        theirs.t_, theirs.loss_curve_, theirs.best_loss_ = 0, [], np.inf
    ours = ours_cls(max_iter=n_epochs, **params).initialize(X, y)
    _copy_weights(theirs, ours)
    theirs.set_params(warm_start=True, max_iter=n_epochs)
    theirs.fit(X, y, **weights)
    ours.fit(X, y, sample_weight=sample_weight)
    return ours, theirs


def _full_batch_gd(n_samples, **params):
    """Plain gradient descent: SGD without momentum, one batch, step 0.1."""
    return MLPFromScratch(
        (6,),
        solver="sgd",
        momentum=0.0,
        batch_size=n_samples,
        learning_rate_init=0.1,
        **params,
    )


def _gradient_step(model, X, y):
    """theta - 0.1 * grad J(theta) from the model's current weights."""
    obj = model.objective(X, y)
    return obj.theta0 - 0.1 * obj.gradient(obj.theta0)


def _numpy_forward(model, X):
    """Output activations of a plain numpy forward pass through the fitted weights."""
    g = {
        "relu": lambda Z: np.maximum(Z, 0),
        "tanh": np.tanh,
        "logistic": expit,
        "identity": lambda Z: Z,
    }[model.activation]
    A = np.asarray(X, dtype=np.float64)
    for layer, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        A = A @ W.astype(np.float64) + b
        if layer < len(model.coefs_) - 1:
            A = g(A)
    if model.out_activation_ == "softmax":
        A = np.exp(A - A.max(axis=1, keepdims=True))
        return A / A.sum(axis=1, keepdims=True)
    return expit(A) if model.out_activation_ == "logistic" else A


# ------------------------------------------------------ training vs scikit-learn

TRAJECTORY_CASES = {
    "sgd-nesterov-f64": ("multiclass", np.float64, False, dict(solver="sgd")),
    "sgd-nesterov-f32": ("multiclass", np.float32, False, dict(solver="sgd")),
    "sgd-invscaling-classical": (
        "binary",
        np.float64,
        False,
        dict(solver="sgd", learning_rate="invscaling", nesterovs_momentum=False),
    ),
    "adam-f64": ("multiclass", np.float64, False, dict(solver="adam")),
    "adam-f32": ("multiclass", np.float32, False, dict(solver="adam")),
    "adam-multilabel-weighted": ("multilabel", np.float64, True, dict(solver="adam")),
    "sgd-regression-weighted": ("regression", np.float64, True, dict(solver="sgd")),
    "adam-regression-weighted": ("regression", np.float64, True, dict(solver="adam")),
    # tol large enough that n_iter_no_change fires: the rate is divided by 5
    # several times, then training stops, at the same epoch as scikit-learn.
    "sgd-adaptive-stops": (
        "multiclass",
        np.float64,
        False,
        dict(solver="sgd", learning_rate="adaptive", tol=0.05, n_iter_no_change=2),
    ),
    "adam-tol-stops": (
        "binary",
        np.float64,
        False,
        dict(solver="adam", tol=0.01, n_iter_no_change=3),
    ),
}


@ignore_convergence
@pytest.mark.parametrize(
    "task, dtype, weighted, solver_params",
    list(TRAJECTORY_CASES.values()),
    ids=list(TRAJECTORY_CASES),
)
def test_mlp_training_matches_sklearn_trajectory(
    request, task, dtype, weighted, solver_params, rng
):
    """From the same weights, several epochs give scikit-learn's weights and losses."""
    X, y = _data(request, task)
    X = X.astype(dtype)
    sw = rng.uniform(0, 2, size=len(X)) if weighted else None
    n_epochs = 40 if "tol" in solver_params else 6
    params = dict(
        hidden_layer_sizes=(7, 5),
        activation="tanh",
        alpha=1e-2,
        batch_size=20,  # 48 rows: two full batches and a short one
        learning_rate_init=0.05,
        shuffle=False,
        tol=0.0,
    )
    ours, theirs = _fit_both_from_same_weights(
        X, y, task, n_epochs, sample_weight=sw, **{**params, **solver_params}
    )
    assert all(W.dtype == dtype for W in ours.coefs_ + ours.intercepts_)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    expected = _params(theirs)
    assert np.max(np.abs(_params(ours) - expected)) < rtol * np.max(np.abs(expected))
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
    assert ours.n_iter_ == theirs.n_iter_ == len(ours.loss_curve_)
    if "tol" in solver_params:
        assert ours.n_iter_ < n_epochs  # stopped by n_iter_no_change
        assert ours._training.optimizer.learning_rate == theirs._optimizer.learning_rate
    else:
        assert ours.n_iter_ == n_epochs
    if task != "regression":
        assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=rtol)


def test_mlp_verbose_prints_sklearn_lines(multiclass_data, capsys):
    """verbose=True prints scikit-learn's 'Iteration k, loss = ...' lines, equal."""
    X, y = multiclass_data
    params = dict(hidden_layer_sizes=(5,), solver="sgd", shuffle=False, tol=0.0)
    theirs = MLPClassifier(max_iter=1, random_state=0, verbose=True, **params)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, y)
    ours = MLPFromScratch(max_iter=4, verbose=True, **params).initialize(X, y)
    _copy_weights(theirs, ours)
    capsys.readouterr()
    theirs.set_params(warm_start=True, max_iter=4)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, y)
    expected = capsys.readouterr().out
    with pytest.warns(ConvergenceWarning):
        ours.fit(X, y)
    printed = capsys.readouterr().out
    assert printed == expected
    assert printed.splitlines() == [
        f"Iteration {k}, loss = {loss:.8f}"
        for k, loss in enumerate(ours.loss_curve_, 1)
    ]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_mlp_verbose_prints_one_line_per_iteration(multiclass_data, solver, capsys):
    """Each epoch / L-BFGS iteration prints its loss_curve_ entry."""
    X, y = multiclass_data
    model = MLPFromScratch((5,), solver=solver, max_iter=3, verbose=True)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    iteration_lines = [line for line in lines if line.startswith("Iteration")]
    assert len(iteration_lines) == len(model.loss_curve_) >= 1
    for k, (line, loss) in enumerate(zip(iteration_lines, model.loss_curve_), 1):
        assert re.fullmatch(rf"Iteration {k}, loss = \d+\.\d{{8}}", line)
        assert float(line.split("= ")[1]) == pytest.approx(loss, abs=1e-8)


@ignore_convergence
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_mlp_lbfgs_matches_sklearn(request, task):
    """From the same weights, 30 L-BFGS iterations give scikit-learn's weights."""
    X, y = _data(request, task)
    ours, theirs = _fit_both_from_same_weights(
        X,
        y,
        task,
        n_epochs=30,
        hidden_layer_sizes=(6, 4),
        activation="tanh",
        alpha=0.1,
        solver="lbfgs",
    )
    expected = _params(theirs)
    assert np.max(np.abs(_params(ours) - expected)) < 1e-9 * np.max(np.abs(expected))
    assert_allclose(ours.loss_, theirs.loss_, rtol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_


@ignore_convergence
@pytest.mark.parametrize("random_state", [0, None])
@pytest.mark.parametrize("task", ["multiclass", "multioutput"])
def test_mlp_lbfgs_is_scipy_minimize_on_the_objective(request, task, random_state):
    """lbfgs ends where scipy's L-BFGS-B on objective(X, y) from theta0 ends."""
    X, y = _data(request, task)
    model = _estimators(task)[0](
        hidden_layer_sizes=(6,),
        solver="lbfgs",
        max_iter=25,
        alpha=0.1,
        random_state=random_state,
    ).initialize(X, y)
    obj = model.objective(X, y)
    result = scipy.optimize.minimize(
        obj.loss,
        obj.theta0,
        jac=obj.gradient,
        method="L-BFGS-B",
        options={"maxiter": 25, "maxfun": 15000, "gtol": model.tol},
    )
    model.fit(X, y)
    assert_allclose(_params(model), result.x, rtol=1e-12, atol=1e-14)
    assert model.loss_ == pytest.approx(result.fun, rel=1e-12)
    assert model.n_iter_ == result.nit


# ------------------------------------------------------------- initialization


@ignore_convergence
@pytest.mark.parametrize("random_state", [0, None])
def test_mlp_fit_starts_from_initialize_weights(multiclass_data, random_state):
    """One full-batch SGD step after initialize moves theta0 by -lr * grad(theta0)."""
    X, y = multiclass_data
    model = _full_batch_gd(len(X), max_iter=1, random_state=random_state)
    model.initialize(X, y)
    expected = _gradient_step(model, X, y)
    model.fit(X, y)
    assert_allclose(_params(model), expected, rtol=1e-13, atol=1e-15)


@ignore_convergence
def test_mlp_fit_after_initialize_equals_plain_fit(multiclass_data):
    """initialize then fit gives the same model as fit alone (same random_state)."""
    X, y = multiclass_data
    params = dict(hidden_layer_sizes=(6,), max_iter=5, dropout=0.2, random_state=3)
    plain = MLPFromScratch(**params).fit(X, y)
    staged = MLPFromScratch(**params).initialize(X, y).fit(X, y)
    assert_array_equal(_params(staged), _params(plain))
    assert staged.loss_curve_ == plain.loss_curve_


def _edit_weights(model, X, y):
    model.coefs_[0][...] *= 3.0  # the live parameters, written by hand


# (calls before the last fit, where that fit starts: 'current' = the
# weights in place before it, 'fresh' = a clone fitted from scratch)
_START_CASES = {
    "initialize, fit": ([], "current"),
    "initialize, set_params(init, random_state), fit": (
        [lambda m, X, y: m.set_params(init="random", random_state=7)],
        "fresh",
    ),
    "initialize, set_params(alpha), fit": (
        [lambda m, X, y: m.set_params(alpha=0.5)],
        "fresh",
    ),
    "initialize, set_params(same values), fit": (
        [lambda m, X, y: m.set_params(**m.get_params(deep=False))],
        "current",
    ),
    "initialize, fit, fit": ([lambda m, X, y: m.fit(X, y)], "fresh"),
    "initialize, warm_start=True, fit": (
        [lambda m, X, y: m.set_params(warm_start=True)],
        "current",
    ),
    "initialize, fit, warm_start=True, fit": (
        [lambda m, X, y: m.fit(X, y), lambda m, X, y: m.set_params(warm_start=True)],
        "current",
    ),
    "initialize, partial_fit": ([], "current-partial"),
    "initialize, coefs_ written by hand, fit": ([_edit_weights], "current"),
    "initialize on other data, fit": (
        [lambda m, X, y: m.initialize(X[:, :3], y)],
        "fresh",
    ),
}


@ignore_convergence
@pytest.mark.parametrize("case", list(_START_CASES))
def test_mlp_fit_starts_from_what_the_parameters_say(multiclass_data, case):
    """What fit starts from is decided by the parameters and the data alone: the
    weights initialize drew while untrained and the parameters unchanged, the
    current weights under warm_start and partial_fit, fresh ones otherwise."""
    X, y = multiclass_data
    model = _full_batch_gd(len(X), max_iter=1, random_state=0).initialize(X, y)
    steps, start = _START_CASES[case]
    for step in steps:
        step(model, X, y)
    if start == "fresh":
        expected = _params(clone(model).fit(X, y))
    else:
        expected = _gradient_step(model, X, y)
    if start == "current-partial":
        model.partial_fit(X, y)
    else:
        model.fit(X, y)
    assert_allclose(_params(model), expected, rtol=1e-12, atol=1e-14)
    if start == "fresh" and "random_state" in case:
        assert np.std(model.coefs_[0]) < 0.05  # init='random': N(0, 0.01^2)


def test_mlp_deep_relu_he_keeps_scale_random_collapses():
    """24 ReLU layers of 100: 'he' keeps activation std O(1); 'random' vanishes."""
    # Theory: under 'he' Var(z) is preserved, so std(relu(z)) stays near
    # sqrt(2) * sqrt(1/2 - 1/(2 pi)) = 0.82; under 'random' each layer multiplies
    # it by 0.01 * sqrt(100 / 2) = 0.0707, i.e. ~1e-28 after 24 layers.
    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((200, 100)), rng.randint(2, size=200)
    stds = {}
    for init in ("he", "random"):
        model = MLPFromScratch((100,) * 24, init=init, random_state=0)
        model.initialize(X, y)
        A, stds[init] = X, []
        for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
            A = np.maximum(A @ W + b, 0)
            stds[init].append(A.std())
    assert all(0.25 < s < 2.5 for s in stds["he"])
    assert stds["random"][-1] < 1e-10
    ratios = np.array(stds["random"][1:]) / np.array(stds["random"][:-1])
    assert 0.035 < np.exp(np.mean(np.log(ratios))) < 0.14


# ------------------------------------------------------------------- accuracy


@ignore_convergence
def test_mlp_digits_accuracy_within_one_point_of_sklearn():
    """load_digits, normalized: test accuracy within 1 point of MLPClassifier's."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    normalizer = InputNormalizer().fit(X_train)
    X_train, X_test = normalizer.transform(X_train), normalizer.transform(X_test)
    params = dict(hidden_layer_sizes=(64,), solver="adam", max_iter=150, tol=0.0)
    ours, theirs = [], []
    for seed in (0, 1):  # both converge; averaging two seeds tames init noise
        ours.append(
            MLPFromScratch(random_state=seed, **params)
            .fit(X_train, y_train)
            .score(X_test, y_test)
        )
        theirs.append(
            MLPClassifier(random_state=seed, **params)
            .fit(X_train, y_train)
            .score(X_test, y_test)
        )
    assert np.mean(theirs) > 0.95
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01


# -------------------------------------------------------------------- features


@ignore_convergence
@pytest.mark.parametrize(
    "task", ["binary", "multiclass", "multilabel", "regression", "multioutput"]
)
def test_mlp_fits_every_task_like_sklearn(request, task, sklearn_twin):
    """Each task trains, predicts in the target's format, and sets sklearn's attrs."""
    X, y = _data(request, task)
    model = _estimators(task)[0](
        hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, random_state=0
    ).fit(X, y)
    twin = sklearn_twin(model, X, y)
    for attr in ("n_layers_", "n_outputs_", "out_activation_", "n_features_in_"):
        assert getattr(model, attr) == getattr(twin, attr), attr
    prediction = model.predict(X)
    assert prediction.shape == np.shape(y)
    if task in REGRESSION_TASKS:
        assert r2_score(y, prediction) > 0.95
        assert_allclose(prediction, twin.predict(X), rtol=1e-12, atol=1e-12)
        return
    assert_array_equal(model.classes_, twin.classes_)
    assert_array_equal(prediction, twin.predict(X))
    proba = model.predict_proba(X)
    expected_columns = y.shape[1] if task == "multilabel" else len(np.unique(y))
    assert proba.shape == (len(X), expected_columns)
    assert_allclose(proba, twin.predict_proba(X), rtol=1e-12)
    with np.errstate(divide="ignore"):  # saturated probabilities have log -inf
        # log(p) of a p near 1 is near 0 and carries p's absolute round-off.
        assert_allclose(
            model.predict_log_proba(X),
            twin.predict_log_proba(X),
            rtol=1e-12,
            atol=1e-15,
        )
    if task == "multilabel":
        assert np.mean(prediction == y) > 0.8  # per-label accuracy
    else:
        assert accuracy_score(y, prediction) > 0.9


@ignore_convergence
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("task", ["multiclass", "multioutput"])
def test_mlp_float32_input_trains_in_float32(request, task, solver):
    """float32 X gives float32 weights, float32 predictions and finite losses."""
    X, y = _data(request, task)
    X32 = X.astype(np.float32)
    model = _estimators(task)[0](
        hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0
    ).fit(X32, y)
    assert all(p.dtype == np.float32 for p in model.coefs_ + model.intercepts_)
    assert np.all(np.isfinite(model.loss_curve_))
    output = (
        model.predict(X32) if task in REGRESSION_TASKS else model.predict_proba(X32)
    )
    assert output.dtype == np.float32
    assert_allclose(output, _numpy_forward(model, X32), rtol=1e-5, atol=1e-6)


@ignore_convergence
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_mlp_numpy_scalar_hyperparameters_train_float32_in_float32(
    multiclass_data, solver
):
    """np.float64 alpha / rates (as np.logspace grids give) change no float32 bit.

    Numpy promotes ``float32_array * np.float64(x)`` to float64, so a numpy
    scalar that reached the training loop would round differently (and run
    several times slower) than the same Python float. A large alpha makes the
    L2 term's rounding visible in the weights.
    """
    X, y = multiclass_data
    X32 = X.astype(np.float32)
    params = dict(alpha=30.0, learning_rate_init=5e-3, momentum=0.8, beta_1=0.85)
    fits = [
        MLPFromScratch(
            hidden_layer_sizes=(7,),
            solver=solver,
            max_iter=3,
            random_state=0,
            **{name: cast(value) for name, value in params.items()},
        ).fit(X32, y)
        for cast in (float, np.float64)
    ]
    assert_array_equal(_params(fits[1]), _params(fits[0]))


@ignore_convergence
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_mlp_zero_sample_weight_equals_dropping_rows(request, task, rng):
    """lbfgs with weight 0 on some rows gives the model fitted without them."""
    X, y = _data(request, task)
    keep = np.ones(len(X), dtype=bool)
    keep[rng.choice(len(X), size=10, replace=False)] = False
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30, alpha=0.1)
    estimator = _estimators(task)[0]
    weighted = estimator(random_state=0, **params).fit(
        X, y, sample_weight=keep.astype(float)
    )
    dropped = estimator(random_state=0, **params).fit(X[keep], y[keep])
    assert_allclose(_params(weighted), _params(dropped), rtol=1e-7, atol=1e-9)


@ignore_convergence
def test_mlp_integer_sample_weight_equals_repeated_rows(regression_data):
    """lbfgs with weight 2 on a row gives the model fitted with the row twice."""
    X, y = regression_data
    sw = np.ones(len(X))
    sw[:12] = 2
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30, alpha=0.1)
    weighted = MLPFromScratchRegressor(random_state=0, **params).fit(
        X, y, sample_weight=sw
    )
    repeated = MLPFromScratchRegressor(random_state=0, **params).fit(
        np.vstack([X, X[:12]]), np.concatenate([y, y[:12]])
    )
    assert_allclose(_params(weighted), _params(repeated), rtol=1e-7, atol=1e-9)


@ignore_convergence
def test_mlp_warm_start_continues_from_previous_weights(multiclass_data):
    """A warm-started full-batch SGD epoch moves the fitted theta by -lr * grad."""
    X, y = multiclass_data
    model = _full_batch_gd(len(X), max_iter=3, random_state=0).fit(X, y)
    expected = _gradient_step(model, X, y)
    model.set_params(warm_start=True, max_iter=1).fit(X, y)
    assert_allclose(_params(model), expected, rtol=1e-13, atol=1e-15)


def test_mlp_warm_start_counts_epochs_like_sklearn(multiclass_data):
    """With warm_start each fit counts its own epochs and warns at max_iter."""
    X, y = multiclass_data
    records = {}
    for estimator in (MLPFromScratch, MLPClassifier):
        model = estimator(
            hidden_layer_sizes=(5,), max_iter=3, warm_start=True, tol=0.0
        ).set_params(random_state=0)
        records[estimator] = []
        for _ in range(2):
            with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
                model.fit(X, y)
            records[estimator].append((model.n_iter_, model.t_, len(model.loss_curve_)))
    assert (
        records[MLPFromScratch] == records[MLPClassifier] == [(3, 144, 3), (3, 288, 6)]
    )


@ignore_convergence
def test_mlp_warm_start_rejects_new_classes_and_keeps_model(multiclass_data):
    """warm_start with a different class set is a ValueError; nothing changes."""
    X, y = multiclass_data
    model = MLPFromScratch((5,), max_iter=3, warm_start=True, random_state=0)
    model.fit(X, y)
    before = _snapshot(model, X)
    with pytest.raises(ValueError, match="warm_start can only be used"):
        model.fit(X, np.where(y == 2, 5, y))
    _assert_unchanged(model, X, before)


@ignore_convergence
@pytest.mark.parametrize("first, second", [(False, True), (True, False)])
def test_mlp_warm_start_can_toggle_early_stopping(multiclass_data, first, second):
    """Switching early_stopping between warm-started fits works (sklearn crashes)."""
    X, y = multiclass_data
    model = MLPFromScratch(
        (8,), max_iter=4, early_stopping=first, validation_fraction=0.25
    ).set_params(random_state=0)
    model.fit(X, y)
    model.set_params(warm_start=True, early_stopping=second).fit(X, y)
    assert model.n_iter_ == 4 and len(model.loss_curve_) == 8
    if second:
        assert len(model.validation_scores_) == 4
        assert model.best_validation_score_ == max(model.validation_scores_)
    else:
        assert model.best_loss_ == min(model.loss_curve_)


# ----------------------------------------------------------------- partial_fit


@ignore_convergence
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_mlp_partial_fit_matches_sklearn(request, task):
    """Each partial_fit is one epoch: weights, loss and counters equal sklearn's."""
    X, y = _data(request, task)
    params = dict(
        hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, shuffle=False, tol=0.0
    )
    ours, theirs = _fit_both_from_same_weights(X, y, task, n_epochs=1, **params)
    extra = {"classes": np.unique(y)} if task == "multiclass" else {}
    for _ in range(3):
        ours.partial_fit(X, y, **extra)
        theirs.partial_fit(X, y, **extra)
        expected = _params(theirs)
        assert np.max(np.abs(_params(ours) - expected)) < 1e-12 * np.max(abs(expected))
        assert (ours.n_iter_, ours.t_) == (theirs.n_iter_, theirs.t_)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)


def test_mlp_partial_fit_requires_classes_on_first_call(multiclass_data):
    """The classifier's first partial_fit without classes= is a ValueError."""
    X, y = multiclass_data
    model = MLPFromScratch((5,))
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_mlp_partial_fit_first_call_rejects_labels_outside_classes(multiclass_data):
    """A first batch with labels outside classes= is rejected; model stays unfitted."""
    X, y = multiclass_data
    model = MLPFromScratch((5,))
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_mlp_partial_fit_first_batch_may_lack_some_classes(multiclass_data):
    """classes= fixes the outputs even when the first batch lacks a class."""
    X, y = multiclass_data
    model = MLPFromScratch((5,), random_state=0)
    first = y != 2
    model.partial_fit(X[first], y[first], classes=[0, 1, 2])
    assert_array_equal(model.classes_, [0, 1, 2])
    assert model.predict_proba(X).shape == (len(X), 3)
    model.partial_fit(X, y)
    assert model.n_outputs_ == 3


def test_mlp_partial_fit_unseen_classes_rejected_and_model_unchanged(multiclass_data):
    """Later partial_fit with an unseen class is a ValueError; nothing changes."""
    X, y = multiclass_data
    model = MLPFromScratch((5,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    before = _snapshot(model, X)
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X, np.where(y == 2, 3, y))
    _assert_unchanged(model, X, before)
    with pytest.raises(ValueError, match="not the same as on last call"):
        model.partial_fit(X, y, classes=[0, 1, 2, 3])
    _assert_unchanged(model, X, before)


def test_mlp_partial_fit_unavailable_with_lbfgs_or_early_stopping(multiclass_data):
    """lbfgs has no partial_fit; early_stopping=True makes it a ValueError."""
    X, y = multiclass_data
    assert not hasattr(MLPFromScratch(solver="lbfgs"), "partial_fit")
    model = MLPFromScratch((5,), early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping"):
        model.partial_fit(X, y, classes=[0, 1, 2])


# ------------------------------------------------------------- early stopping


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_mlp_early_stopping_restores_best_weights(request, task, monkeypatch):
    """The returned model scores best_validation_score_ on its validation split."""
    X, y = _data(request, task)
    X, y = np.vstack([X] * 3), np.concatenate([y] * 3)
    X = X + np.random.RandomState(0).normal(scale=0.5, size=X.shape)
    splits = []

    def spy(*arrays, **kwargs):
        splits.append(train_test_split(*arrays, **kwargs))
        return splits[-1]

    monkeypatch.setattr(sk_dlsetup.neural_network._stochastic, "train_test_split", spy)
    model = _estimators(task)[0](
        hidden_layer_sizes=(32,),
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=5,
        learning_rate_init=0.05,
        max_iter=200,
        random_state=0,
    ).fit(X, y)
    (_, val) = splits[0]  # the split is drawn on row indices
    X_val, y_val = X[val], np.asarray(y)[val]
    scores = model.validation_scores_
    assert model.n_iter_ < 200 and len(scores) == model.n_iter_
    assert model.best_validation_score_ == max(scores)
    assert scores[-1] < model.best_validation_score_  # restoring mattered
    assert model.score(X_val, y_val) == pytest.approx(model.best_validation_score_)
    assert model.best_loss_ is None


# ------------------------------------------------------- convergence, dropout


@pytest.mark.parametrize(
    "solver, match", [("adam", r"Maximum iterations \(3\)"), ("lbfgs", "lbfgs")]
)
def test_mlp_convergence_warning_at_max_iter(multiclass_data, solver, match):
    """Stopping at max_iter warns with ConvergenceWarning, as scikit-learn."""
    X, y = multiclass_data
    model = MLPFromScratch((5,), solver=solver, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match=match):
        model.fit(X, y)
    assert model.n_iter_ == 3


@ignore_convergence
@pytest.mark.parametrize("shuffle", [False, True])
def test_mlp_dropout_epoch_equals_steps_on_frozen_masks(multiclass_data, shuffle):
    """An SGD epoch with dropout and a short last batch, step by step
    (:func:`_epoch_replay.replay_sgd_epoch`)."""
    X, y = multiclass_data  # 48 rows: batches of 13, 13, 13 and 9
    model = MLPFromScratch(
        (7, 5), solver="sgd", momentum=0.0, learning_rate_init=0.1, batch_size=13,
        dropout=0.3, alpha=0.01, shuffle=shuffle, max_iter=1, random_state=0,
    ).initialize(X, y)  # fmt: skip
    _, theta = replay_sgd_epoch(model, X, y)
    model.fit(X, y)
    assert_allclose(_params(model), theta, rtol=1e-12, atol=1e-15)


@ignore_convergence
def test_mlp_dropout_changes_training_not_prediction(multiclass_data):
    """Dropout alters the trained weights; predictions use no dropout at all."""
    X, y = multiclass_data
    params = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    dropped = MLPFromScratch(dropout=0.5, **params).fit(X, y)
    plain = MLPFromScratch(dropout=0.0, **params).fit(X, y)
    assert not np.allclose(_params(dropped), _params(plain))
    proba = dropped.predict_proba(X)
    assert_array_equal(dropped.predict_proba(X), proba)
    assert_allclose(proba, _numpy_forward(dropped, X), rtol=1e-12)
    # The training loss is measured through random masks, so it is noisier/larger.
    assert dropped.loss_ > plain.loss_


def test_mlp_divergence_raises_and_keeps_finite_weights(regression_data):
    """Huge steps on unnormalized data: ValueError with advice, no NaN left behind."""
    X, y = regression_data
    X, y = X * 1e4, y * 1e4
    model = MLPFromScratchRegressor(
        hidden_layer_sizes=(10,),
        solver="sgd",
        learning_rate_init=10.0,
        max_iter=20,
        random_state=0,
    )
    with (
        pytest.raises(
            ValueError, match="non-finite parameter weights.*InputNormalizer"
        ),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy overflow notes
        model.fit(X, y)
    assert model.n_iter_ < 20
    assert len(model.loss_curve_) == model.n_iter_
    assert np.all(np.isfinite(model.loss_curve_))
    assert np.all(np.isfinite(_params(model)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow at predict
        prediction = model.predict(X)
    assert prediction.shape == y.shape
    assert np.all(np.isfinite(prediction))
    assert_allclose(prediction, _numpy_forward(model, X).ravel(), rtol=1e-12)


# ------------------------------------------------------------------ bad input


def _snapshot(model, X):
    return {
        "params": _params(model),
        "output": model.predict_proba(X)
        if hasattr(model, "predict_proba")
        else model.predict(X),
        "state": {
            key: copy.deepcopy(getattr(model, key))
            for key in ("n_iter_", "t_", "loss_", "loss_curve_", "n_features_in_")
        },
        "classes": getattr(model, "classes_", None),
    }


def _assert_unchanged(model, X, before):
    after = _snapshot(model, X)
    assert_array_equal(after["params"], before["params"])
    assert_array_equal(after["output"], before["output"])
    assert after["state"] == before["state"]
    if before["classes"] is not None:
        assert_array_equal(after["classes"], before["classes"])


BAD_PARAMS = {
    "unknown-init": ({"init": "glorot"}, "init", ["'he'", "'xavier'", "'random'"]),
    "unknown-activation": (
        {"activation": "softplus"},
        "activation",
        ["'relu'", "'tanh'", "'logistic'", "'identity'"],
    ),
    "unknown-solver": ({"solver": "newton"}, "solver", ["'sgd'", "'adam'", "'lbfgs'"]),
    "negative-alpha": ({"alpha": -1.0}, "alpha", []),
    "dropout-one": ({"dropout": 1.0}, "dropout", []),
    "dropout-negative": ({"dropout": -0.1}, "dropout", []),
    "dropout-with-lbfgs": (
        {"dropout": 0.5, "solver": "lbfgs"},
        "dropout > 0 needs a stochastic solver",
        [],
    ),
    "zero-hidden-units": ({"hidden_layer_sizes": (3, 0)}, "hidden_layer_sizes", []),
}


@pytest.mark.parametrize(
    "bad, match, choices", list(BAD_PARAMS.values()), ids=list(BAD_PARAMS)
)
@pytest.mark.parametrize("method", ["fit", "initialize"])
def test_mlp_bad_parameter_rejected_and_model_unchanged(
    multiclass_data, method, bad, match, choices
):
    """An invalid parameter is a ValueError listing the choices; model unchanged."""
    X, y = multiclass_data
    model = MLPFromScratch((5,), solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    good = model.get_params()
    before = _snapshot(model, X)
    model.set_params(**bad)
    with pytest.raises(ValueError, match=match) as excinfo:
        getattr(model, method)(X, y)
    for choice in choices:
        assert choice in str(excinfo.value)
    model.set_params(**good)
    _assert_unchanged(model, X, before)


def _with_nan(X):
    X = X.copy()
    X[3, 1] = np.nan
    return X


def _with_inf(X):
    X = X.copy()
    X[0, 0] = np.inf
    return X


BAD_CALLS = {
    "fit-nan": (lambda m, X, y: m.fit(_with_nan(X), y), "NaN"),
    "fit-inf": (lambda m, X, y: m.fit(_with_inf(X), y), "infinity"),
    "fit-1d": (lambda m, X, y: m.fit(X[:, 0], y), "Expected 2D array"),
    "fit-negative-weight": (
        lambda m, X, y: m.fit(X, y, sample_weight=np.r_[-1.0, np.ones(len(X) - 1)]),
        "Negative",
    ),
    "fit-short-weight": (
        lambda m, X, y: m.fit(X, y, sample_weight=np.ones(len(X) - 1)),
        r"sample_weight\.shape",
    ),
    "fit-zero-weights": (
        lambda m, X, y: m.fit(X, y, sample_weight=np.zeros(len(X))),
        "non-zero|must be positive",
    ),
    "fit-y-length": (lambda m, X, y: m.fit(X, y[:-1]), "inconsistent numbers"),
    "fit-empty": (lambda m, X, y: m.fit(X[:0], y[:0]), "0 sample"),
    "fit-strings": (
        lambda m, X, y: m.fit(np.full(X.shape, "a", dtype=object), y),
        "could not convert string to float",
    ),
    "fit-y-3d": (lambda m, X, y: m.fit(X, y.reshape(-1, 1, 1)), "dim 3"),
    "fit-validation-too-small": (
        lambda m, X, y: m.set_params(early_stopping=True, validation_fraction=0.01).fit(
            X, y
        ),
        "validation set is too small",
    ),
    "initialize-nan": (lambda m, X, y: m.initialize(_with_nan(X), y), "NaN"),
    "partial-fit-unseen": (
        lambda m, X, y: m.partial_fit(X, np.where(y == 0, 7, y)),
        "classes",
    ),
    "partial-fit-nan": (lambda m, X, y: m.partial_fit(_with_nan(X), y), "NaN"),
    "partial-fit-features": (
        lambda m, X, y: m.partial_fit(X[:, :3], y),
        "features",
    ),
    "predict-nan": (lambda m, X, y: m.predict(_with_nan(X)), "NaN"),
    "predict-inf": (lambda m, X, y: m.predict_proba(_with_inf(X)), "infinity"),
    "predict-features": (lambda m, X, y: m.predict(X[:, :3]), "features"),
    "predict-1d": (lambda m, X, y: m.predict(X[0]), "Expected 2D array"),
}


@pytest.mark.parametrize("call, match", list(BAD_CALLS.values()), ids=list(BAD_CALLS))
def test_mlp_bad_input_rejected_and_model_unchanged(multiclass_data, call, match):
    """Bad data or sample weights: a ValueError saying why; fitted model unchanged."""
    X, y = multiclass_data
    model = MLPFromScratch((5,), max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    before = _snapshot(model, X)
    with pytest.raises(ValueError, match=match):
        call(model, X, y)
    _assert_unchanged(model, X, before)


def test_mlp_regressor_bad_input_rejected_and_model_unchanged(multioutput_data):
    """NaN targets, wrong feature or target counts: ValueError, model unchanged."""
    X, y = multioutput_data
    model = MLPFromScratchRegressor(hidden_layer_sizes=(5,), max_iter=5)
    with pytest.warns(ConvergenceWarning):
        model.set_params(random_state=0).fit(X, y)
    before = _snapshot(model, X)
    y_nan = y.copy()
    y_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(X, y_nan)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2], y)
    # One target for a three-output model would silently broadcast.
    with pytest.raises(ValueError, match="1 output"):
        model.partial_fit(X, y[:, 0])
    with pytest.raises(ValueError, match="1 output"):
        model.objective(X, y[:, 0])
    model.set_params(warm_start=True)
    with pytest.raises(ValueError, match="2 output"):
        model.fit(X, y[:, :2])
    model.set_params(warm_start=False)
    _assert_unchanged(model, X, before)


@ignore_convergence
def test_mlp_chunked_prediction_equals_whole_batch(multiclass_data):
    """A tiny working_memory (one row per chunk) gives the same predictions."""
    X, y = multiclass_data
    model = MLPFromScratch((8,), max_iter=5, random_state=0).fit(X, y)
    expected = _numpy_forward(model, X)
    with config_context(working_memory=1e-6):
        assert_allclose(model.predict_proba(X), expected, rtol=1e-12)


@ignore_convergence
def test_mlp_string_labels_round_trip(binary_data):
    """String class labels come back from predict; classes_ is sorted."""
    X, y = binary_data
    labels = np.array(["spam", "ham"])[y]
    model = MLPFromScratch((5,), solver="lbfgs", max_iter=50, random_state=0)
    model.fit(X, labels)
    assert_array_equal(model.classes_, ["ham", "spam"])
    proba = model.predict_proba(X)
    assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize(
    "y, fit_on",
    [
        (np.array(["spam", "ham", "ham", "eggs"]), None),
        (np.array([3, -1, 3, 3]), None),  # two classes: one indicator column
        (np.array([2.0, 0.0, 1.0, 2.0, 7.0]), None),
        (np.array([True, False, True]), None),
        (np.array([2, 0, 2]), np.array([0, 1, 2, 5])),  # partial_fit's classes=
        (np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0]]), None),  # multilabel
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_encode_targets_equals_label_binarizer(y, fit_on, dtype):
    """The targets are scikit-learn's LabelBinarizer indicators, in X's dtype."""
    from sklearn.preprocessing import LabelBinarizer

    binarizer = LabelBinarizer().fit(y if fit_on is None else fit_on)
    Y = sk_dlsetup.neural_network._classifier._encode_targets(binarizer, y, dtype)
    assert Y.dtype == dtype
    assert_array_equal(Y, binarizer.transform(y))


# ---------------------------------------------------------- persistence, clone


@ignore_convergence
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("task", ["multiclass", "multioutput"])
def test_mlp_pickle_round_trip_predicts_identically(request, task, solver):
    """A pickled and restored model predicts exactly as the original."""
    X, y = _data(request, task)
    model = _estimators(task)[0](
        hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0
    ).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(X), model.predict(X))
    if task == "multiclass":
        assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


@ignore_convergence
def test_mlp_clone_gives_equal_unfitted_copy(multiclass_data):
    """clone keeps the parameters (callable init included) and drops fitted state."""
    X, y = multiclass_data

    def init(fan_in, fan_out, rng):
        return rng.standard_normal((fan_in, fan_out)) * 0.1

    model = MLPFromScratch((5,), init=init, dropout=0.1, max_iter=3, random_state=0)
    model.fit(X, y)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "coefs_")
    assert_array_equal(_params(twin.fit(X, y)), _params(model))


@ignore_convergence
def test_mlp_feature_names_recorded_and_checked(multiclass_data):
    """DataFrame input records feature_names_in_; mismatched names are rejected."""
    pd = pytest.importorskip("pandas")
    X, y = multiclass_data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = MLPFromScratch((5,), max_iter=3, random_state=0).fit(frame, y)
    assert_array_equal(model.feature_names_in_, frame.columns)
    renamed = frame.rename(columns={"f0": "other"})
    with pytest.raises(ValueError, match="feature names"):
        model.predict(renamed)


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_mlp_predict_log_proba_matches_scipy_on_the_logits(task, request):
    """predict_log_proba agrees with scipy's log_softmax / log_expit of the logits."""
    X, y = request.getfixturevalue(f"{task}_data")
    model = MLPFromScratch((5,), init="xavier", random_state=0).initialize(X, y)
    model.intercepts_[0][...] = 0.1
    (W1, W2), (b1, b2) = model.coefs_, model.intercepts_
    logits = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    if task == "multiclass":
        expected = log_softmax(logits, axis=1)
    elif task == "binary":
        expected = np.hstack([log_expit(-logits), log_expit(logits)])
    else:
        expected = log_expit(logits)
    # log(predict_proba) loses digits where a probability rounds to 1: compare
    # where it does not.
    proba = model.predict_proba(X)
    moderate = (proba > 1e-3) & (proba < 1 - 1e-3)
    assert moderate.sum() > 10
    log_proba = model.predict_log_proba(X)
    assert_allclose(log_proba[moderate], expected[moderate], rtol=1e-12)


def test_mlp_float64_model_predicts_float64_for_float32_input(binary_data):
    """As scikit-learn: float32 X on a float64 model gives float64 probabilities."""
    X, y = binary_data
    model = MLPFromScratch((4,), random_state=0).initialize(X, y)
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float64


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_mlp_fits_a_single_class_as_sklearn(binary_data, solver, sklearn_twin):
    """One class: fitted as scikit-learn's MLP fits it, predicting that class."""
    X, y = binary_data
    one = np.full_like(y, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPFromScratch((4,), solver=solver, max_iter=5, random_state=0)
        model.fit(X, one)
        reference = MLPClassifier((4,), solver=solver, max_iter=5, random_state=0)
        reference.fit(X, one)
    assert_array_equal(model.classes_, reference.classes_)
    assert_array_equal(model.predict(X), reference.predict(X))
    assert model.n_outputs_ == reference.n_outputs_ == 1
    assert model.out_activation_ == reference.out_activation_
    assert model.predict_proba(X).shape == reference.predict_proba(X).shape
    twin = sklearn_twin(model, X, one)  # the same weights: the same probabilities
    assert_allclose(model.predict_proba(X), twin.predict_proba(X), rtol=1e-12)
    assert model.score(X, one) == 1.0
    # partial_fit chunks of one class are fine once `classes` is known.
    MLPFromScratch((4,), random_state=0).partial_fit(X, np.ones_like(y), classes=[0, 1])
