"""``record_layer_stats``: per-epoch gradient and weight norms of every layer.

The recorded norms are checked against gradients computed independently:
scikit-learn's own ``_backprop`` at the same weights, and a step-by-step
replay of an epoch on objectives whose gradients the network tests check.
"""

import warnings

import numpy as np
import pytest
from _epoch_replay import replay_sgd_epoch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sk_dlsetup import MLPFromScratch, MLPFromScratchRegressor
from sk_dlsetup.neural_network._layout import unpack

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)
KEYS = ("dW_norm", "db_norm", "W_norm")


def _norms(arrays):
    return np.array([np.linalg.norm(a) for a in arrays])


def _assert_aligned(model):
    """One row per loss_curve_ entry, one column per weight layer."""
    for key in KEYS:
        assert model.layer_stats_[key].shape == (
            len(model.loss_curve_),
            model.n_layers_ - 1,
        )


@ignore_convergence
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_full_batch_epoch_records_sklearn_gradient_norms(
    request, task, sklearn_twin, sklearn_backprop
):
    """One full-batch epoch: the norms of scikit-learn's gradient at init."""
    X, y = request.getfixturevalue(f"{task}_data")
    estimator = MLPFromScratchRegressor if task == "regression" else MLPFromScratch
    model = estimator(
        hidden_layer_sizes=(6, 4), solver="sgd", batch_size=len(X), alpha=0.1,
        max_iter=1, shuffle=False, random_state=0, record_layer_stats=True,
    ).initialize(X, y)  # fmt: skip
    _, dW, db = sklearn_backprop(sklearn_twin(model, X, y), X, y)
    model.fit(X, y)
    _assert_aligned(model)
    assert_allclose(model.layer_stats_["dW_norm"][0], _norms(dW), rtol=1e-12)
    assert_allclose(model.layer_stats_["db_norm"][0], _norms(db), rtol=1e-12)
    assert_allclose(model.layer_stats_["W_norm"][0], _norms(model.coefs_), rtol=1e-14)


@pytest.mark.parametrize("shuffle", [False, True])
def test_epoch_norms_are_batch_weighted_means_of_step_gradients(
    multiclass_data, shuffle
):
    """Dropout, a short last batch: each batch's gradient norm, weighted by its size.

    The epoch is replayed step by step, as in the dropout training test
    (:func:`_epoch_replay.replay_sgd_epoch`).
    """
    X, y = multiclass_data  # 48 rows: batches of 13, 13, 13 and 9
    model = MLPFromScratch(
        (7, 5), solver="sgd", momentum=0.0, learning_rate_init=0.1, batch_size=13,
        dropout=0.3, alpha=0.01, shuffle=shuffle, max_iter=1, random_state=0,
        record_layer_stats=True,
    ).initialize(X, y)  # fmt: skip
    steps, theta = replay_sgd_epoch(model, X, y)
    dW_sum, db_sum = np.zeros(3), np.zeros(3)
    for n_rows, grad, blocks in steps:
        grad_W, grad_b = unpack(grad, blocks)
        dW_sum += n_rows * _norms(grad_W)
        db_sum += n_rows * _norms(grad_b)
    coefs, _ = unpack(theta, blocks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert_allclose(model.layer_stats_["dW_norm"][0], dW_sum / len(X), rtol=1e-12)
    assert_allclose(model.layer_stats_["db_norm"][0], db_sum / len(X), rtol=1e-12)
    assert_allclose(model.layer_stats_["W_norm"][0], _norms(coefs), rtol=1e-12)


@ignore_convergence
def test_lbfgs_records_each_iterate(multiclass_data, sklearn_twin, sklearn_backprop):
    """lbfgs: one row per iteration; the last is the gradient at the fitted weights."""
    X, y = multiclass_data
    model = MLPFromScratch(
        (6,), solver="lbfgs", alpha=0.1, max_iter=15, random_state=0,
        record_layer_stats=True,
    ).fit(X, y)  # fmt: skip
    _assert_aligned(model)
    assert len(model.loss_curve_) == model.n_iter_
    _, dW, db = sklearn_backprop(sklearn_twin(model, X, y), X, y)
    assert_allclose(model.layer_stats_["dW_norm"][-1], _norms(dW), rtol=1e-10)
    assert_allclose(model.layer_stats_["db_norm"][-1], _norms(db), rtol=1e-10)
    assert_allclose(model.layer_stats_["W_norm"][-1], _norms(model.coefs_), rtol=1e-14)


@ignore_convergence
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_recording_leaves_training_unchanged(multiclass_data, solver):
    """The same weights and losses, bit for bit, with and without recording."""
    X, y = multiclass_data
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=5, random_state=0)
    plain = MLPFromScratch(**params).fit(X, y)
    recorded = MLPFromScratch(record_layer_stats=True, **params).fit(X, y)
    assert plain.layer_stats_ is None
    assert_array_equal(recorded.loss_curve_, plain.loss_curve_)
    for W_recorded, W_plain in zip(recorded.coefs_, plain.coefs_):
        assert_array_equal(W_recorded, W_plain)


@ignore_convergence
def test_rows_follow_the_loss_curve_through_warm_start_and_partial_fit(
    multiclass_data,
):
    """Epochs trained with recording off get NaN rows; partial_fit appends one."""
    X, y = multiclass_data
    model = MLPFromScratch((8,), max_iter=3, random_state=0).fit(X, y)
    model.set_params(warm_start=True, record_layer_stats=True).fit(X, y)
    _assert_aligned(model)
    stats = model.layer_stats_
    assert np.all(np.isnan(stats["dW_norm"][:3]))
    assert np.all(np.isfinite(stats["dW_norm"][3:]))
    assert_allclose(stats["W_norm"][-1], _norms(model.coefs_), rtol=1e-14)
    model.partial_fit(X, y)
    _assert_aligned(model)
    assert len(model.loss_curve_) == 7
    assert_allclose(model.layer_stats_["W_norm"][-1], _norms(model.coefs_))
    # A fresh (cold) fit starts a fresh record.
    model.set_params(warm_start=False).fit(X, y)
    _assert_aligned(model)
    assert np.all(np.isfinite(model.layer_stats_["dW_norm"]))


def test_initialize_gives_an_empty_record(multiclass_data):
    X, y = multiclass_data
    model = MLPFromScratch((8, 4), record_layer_stats=True).initialize(X, y)
    for key in KEYS:
        assert model.layer_stats_[key].shape == (0, 3)


@ignore_convergence
def test_early_stopping_keeps_one_row_per_epoch(multiclass_data):
    X, y = multiclass_data
    model = MLPFromScratch(
        (8,), early_stopping=True, validation_fraction=0.25, n_iter_no_change=2,
        max_iter=30, random_state=0, record_layer_stats=True,
    ).fit(X, y)  # fmt: skip
    _assert_aligned(model)
    assert len(model.loss_curve_) == len(model.validation_scores_)


def test_diverged_epoch_leaves_no_row(regression_data):
    """The diverged epoch is dropped from loss_curve_ and from the record alike."""
    X, y = regression_data
    model = MLPFromScratchRegressor(
        hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=10.0,
        max_iter=20, random_state=0, record_layer_stats=True,
    )  # fmt: skip
    with pytest.raises(ValueError, match="non-finite"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(X * 1e4, y * 1e4)
    _assert_aligned(model)
    for key in KEYS:
        assert np.all(np.isfinite(model.layer_stats_[key]))


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_record_layer_stats_must_be_a_bool(multiclass_data, value):
    X, y = multiclass_data
    with pytest.raises(InvalidParameterError, match="record_layer_stats"):
        MLPFromScratch(record_layer_stats=value).fit(X, y)
