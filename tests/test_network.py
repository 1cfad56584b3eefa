"""Forward / backward passes and theta packing against scikit-learn and numpy."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sk_dlsetup.neural_network._layout import (
    layer_views,
    pack,
    parameter_blocks,
    transposed_rows,
    unpack,
)
from sk_dlsetup.neural_network._losses import LOSSES
from sk_dlsetup.neural_network._network import (
    allocate_activations,
    backprop,
    draw_keep_masks,
    forward,
    l2_penalty,
    predict_output,
)

ACTIVATION_NAMES = ["identity", "relu", "tanh", "logistic"]
TASKS = ["binary", "multiclass", "multilabel", "regression"]
HIDDEN = (6, 4)
NUMPY_ACTIVATIONS = {
    "identity": lambda Z: Z,
    "relu": lambda Z: np.maximum(Z, 0),
    "tanh": np.tanh,
    "logistic": expit,
}


def _loss_name(task):
    return {
        "binary": "binary_log_loss",
        "multilabel": "binary_log_loss",
        "multiclass": "log_loss",
    }.get(task, "squared_error")


def _sklearn_setup(request, task, activation, alpha):
    """Data, a fitted scikit-learn twin (its own random weights) and encoded Y."""
    X, y = request.getfixturevalue(f"{task}_data")
    estimator = MLPRegressor if task == "regression" else MLPClassifier
    twin = estimator(
        hidden_layer_sizes=HIDDEN,
        activation=activation,
        alpha=alpha,
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        twin.fit(X, y)
    if task == "regression":
        Y = y.reshape(-1, 1)
    else:
        Y = twin._label_binarizer.transform(y).astype(np.float64)
    return X, y, Y, twin


def _random_params(rng, layer_units):
    coefs = [
        rng.standard_normal((a, b)) / np.sqrt(a)
        for a, b in zip(layer_units, layer_units[1:])
    ]
    intercepts = [rng.standard_normal(b) * 0.1 for b in layer_units[1:]]
    return coefs, intercepts


def _backprop(X, Y, coefs, intercepts, buffer_rows=None, gradient=True, **kwargs):
    """Our backprop at ``(coefs, intercepts)``: ``(loss, grad_coefs, grad_intercepts)``.

    The parameters go through theta as in training (``pack``, ``layer_views``);
    ``buffer_rows`` sizes the buffers (more rows than ``X``: only the first are
    used).
    """
    layer_units = [X.shape[1]] + [W.shape[1] for W in coefs]
    blocks = parameter_blocks(layer_units)
    theta = pack(coefs, intercepts)
    grad = np.full_like(theta, np.nan)
    buffers = allocate_activations(
        buffer_rows or len(X),
        layer_units,
        theta.dtype,
        dropout=kwargs.get("keep_masks") is not None,
    )
    loss = backprop(
        X,
        Y,
        layer_views(theta, blocks),
        layer_views(grad, blocks),
        buffers,
        gradient=gradient,
        **kwargs,
    )
    return (loss, *unpack(grad, blocks))


def test_network_parameter_blocks_are_contiguous_in_w_b_order():
    """Blocks run W1, b1, W2, b2, ... back to back with the layer shapes."""
    layer_units = [5, 7, 4, 3]
    blocks = parameter_blocks(layer_units)
    shapes = [(5, 7), (7,), (7, 4), (4,), (4, 3), (3,)]
    assert [name for name, _, _ in blocks] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [shape for _, _, shape in blocks] == shapes
    ends = np.cumsum([np.prod(shape) for shape in shapes])
    starts = np.concatenate([[0], ends[:-1]])
    assert [(sl.start, sl.stop) for _, sl, _ in blocks] == list(zip(starts, ends))


def test_network_pack_matches_concatenation_and_unpack_gives_views(rng):
    """pack is concatenate(W1.ravel(), b1, ...); unpack returns views into theta."""
    layer_units = [5, 7, 4, 3]
    coefs, intercepts = _random_params(rng, layer_units)
    theta = pack(coefs, intercepts)
    expected = np.concatenate(
        [part for W, b in zip(coefs, intercepts) for part in (W.ravel(), b)]
    )
    assert_array_equal(theta, expected)
    new_coefs, new_intercepts = unpack(theta, parameter_blocks(layer_units))
    for a, b in zip(new_coefs + new_intercepts, coefs + intercepts):
        assert_array_equal(a, b)
    new_coefs[1][2, 3] = 123.0
    new_intercepts[2][0] = -7.0
    assert theta[parameter_blocks(layer_units)[2][1]][2 * 4 + 3] == 123.0
    assert theta[-3] == -7.0


def test_network_layer_views_are_w_with_b_appended_as_a_row(rng):
    """layer_views(theta) are [W; b] blocks sharing theta's memory."""
    layer_units = [5, 4, 3]
    coefs, intercepts = _random_params(rng, layer_units)
    theta = pack(coefs, intercepts)
    layers = layer_views(theta, parameter_blocks(layer_units))
    for Wb, W, b in zip(layers, coefs, intercepts):
        assert_array_equal(Wb, np.vstack([W, b]))
        assert np.shares_memory(Wb, theta)
    layers[1][-1, 2] = 7.0
    assert unpack(theta, parameter_blocks(layer_units))[1][1][2] == 7.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_pack_casts_to_requested_dtype(dtype, rng):
    """pack(..., dtype=) returns theta in that dtype, values preserved."""
    coefs, intercepts = _random_params(rng, [3, 2])
    theta = pack(coefs, intercepts, dtype=dtype)
    assert theta.dtype == dtype
    assert_allclose(theta, pack(coefs, intercepts), rtol=1e-7)


@pytest.mark.parametrize("Y_layout", ["rows", "columns"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_network_backprop_matches_sklearn(
    request, activation, task, weighted, Y_layout, sklearn_backprop, rel_error, rng
):
    """Loss and every gradient block equal scikit-learn's _backprop to ~1e-12.

    With targets in either memory layout: training hands them over
    column-major (``transposed_rows``), as the network stores its outputs.
    """
    X, y, Y, twin = _sklearn_setup(request, task, activation, alpha=0.3)
    if Y_layout == "columns":
        Y = transposed_rows(Y)
    sw = rng.uniform(0, 2, size=len(X)) if weighted else None
    expected_loss, expected_dW, expected_db = sklearn_backprop(twin, X, y, sw)

    # Buffers for more rows than the batch: only the first len(X) are used.
    loss, grad_coefs, grad_intercepts = _backprop(
        X,
        Y,
        twin.coefs_,
        twin.intercepts_,
        buffer_rows=len(X) + 9,
        activation=activation,
        loss=_loss_name(task),
        alpha=0.3,
        sample_weight=sw,
    )
    assert_allclose(loss, expected_loss, rtol=1e-12)
    for ours, theirs in zip(grad_coefs + grad_intercepts, expected_dW + expected_db):
        assert rel_error(ours, theirs) < 1e-12


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_network_forward_with_masks_matches_numpy(activation, rng):
    """forward fills hidden = g(A W + b), acts = hidden * mask and returns Z[L]."""
    layer_units = [5, 7, 4, 3]
    X = rng.standard_normal((11, 5))
    coefs, intercepts = _random_params(rng, layer_units)
    masks = [rng.choice([0.0, 2.0], size=(11, units)) for units in layer_units[1:-1]]
    layers = layer_views(pack(coefs, intercepts), parameter_blocks(layer_units))
    buffers = allocate_activations(11, layer_units, np.float64, dropout=True)
    Z = forward(X, layers, activation, buffers, masks)

    g = NUMPY_ACTIVATIONS[activation]
    A = X
    for layer, (W, b) in enumerate(zip(coefs[:-1], intercepts[:-1])):
        H = g(A @ W + b)
        assert_allclose(buffers.hidden[layer + 1].T, H, rtol=1e-13, atol=1e-15)
        A = H * masks[layer]
        # Each layer's input carries a row of ones: the bias rides in the GEMM.
        expected = np.vstack([A.T, np.ones(len(X))])
        assert_allclose(buffers.acts[layer + 1], expected, rtol=1e-13, atol=1e-15)
    expected_Z = A @ coefs[-1] + intercepts[-1]
    assert_allclose(Z.T, expected_Z, rtol=1e-13, atol=1e-15)


def _theta_loss(theta, blocks, X, Y, activation, loss, alpha, sw, masks):
    coefs, intercepts = unpack(theta.copy(), blocks)
    return _backprop(
        X, Y, coefs, intercepts, gradient=False, activation=activation, loss=loss,
        alpha=alpha, sample_weight=sw, keep_masks=masks,
    )[0]  # fmt: skip


@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_network_backprop_with_dropout_matches_finite_difference(activation, rng):
    """With frozen dropout masks the gradient equals a central finite difference."""
    layer_units = [4, 6, 5, 3]
    X = rng.standard_normal((9, 4))
    Y = np.eye(3)[rng.randint(3, size=9)]
    sw = rng.uniform(0.5, 2, size=9)
    coefs, intercepts = _random_params(rng, layer_units)
    masks = draw_keep_masks(rng, 9, layer_units[1:-1], 0.6, np.dtype(np.float64))
    blocks = parameter_blocks(layer_units)
    theta = pack(coefs, intercepts)
    args = (blocks, X, Y, activation, "log_loss", 0.2, sw, masks)

    _, grad_coefs, grad_intercepts = _backprop(
        X, Y, coefs, intercepts, activation=activation, loss="log_loss", alpha=0.2,
        sample_weight=sw, keep_masks=masks,
    )  # fmt: skip
    grad = pack(grad_coefs, grad_intercepts)

    h = 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = h
        numeric[i] = (
            _theta_loss(theta + step, *args) - _theta_loss(theta - step, *args)
        ) / (2 * h)
    assert np.linalg.norm(grad - numeric) < 1e-7 * np.linalg.norm(numeric)


def _backprop_with(X, Y, twin, loss, alpha, dtype=np.float64, masks=None):
    """Our backprop on the twin's weights cast to ``dtype``: (loss, dW, db)."""
    loss, dW, db = _backprop(
        X.astype(dtype), Y.astype(dtype), [W.astype(dtype) for W in twin.coefs_],
        [b.astype(dtype) for b in twin.intercepts_], activation=twin.activation,
        loss=loss, alpha=alpha, keep_masks=masks,
    )  # fmt: skip
    return loss, dW, db


def test_network_unit_masks_match_sklearn_without_dropout(
    request, sklearn_backprop, rel_error
):
    """Masks of all ones (keep_prob = 1) give scikit-learn's no-dropout results."""
    X, y, Y, twin = _sklearn_setup(request, "multiclass", "tanh", alpha=0.1)
    expected_loss, expected_dW, expected_db = sklearn_backprop(twin, X, y)
    masks = [np.ones((len(X), units)) for units in HIDDEN]
    loss, dW, db = _backprop_with(X, Y, twin, "log_loss", 0.1, masks=masks)
    assert_allclose(loss, expected_loss, rtol=1e-12)
    for ours, theirs in zip(dW + db, expected_dW + expected_db):
        assert rel_error(ours, theirs) < 1e-12


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_network_predict_output_matches_sklearn(request, activation, task):
    """predict_output followed by the output function equals scikit-learn's output."""
    X, _, _, twin = _sklearn_setup(request, task, activation, alpha=0.0)
    Z = predict_output(X, twin.coefs_, twin.intercepts_, activation)
    expected = twin._forward_pass_fast(X)
    actual = LOSSES[_loss_name(task)].output(Z).reshape(expected.shape)
    assert_allclose(actual, expected, rtol=1e-13, atol=1e-15)


def test_network_l2_penalty_closed_form(rng):
    """l2_penalty is 0.5 * alpha * sum ||W||_F^2 / sw_sum; 0 when alpha is 0."""
    coefs, intercepts = _random_params(rng, [5, 4, 2])
    layers = layer_views(pack(coefs, intercepts), parameter_blocks([5, 4, 2]))
    expected = 0.5 * 0.7 * sum(np.sum(W**2) for W in coefs) / 13.0
    assert_allclose(l2_penalty(layers, 0.7, 13.0), expected, rtol=1e-14)
    assert l2_penalty(layers, 0.0, 13.0) == 0.0


@pytest.mark.parametrize("keep_prob", [0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_keep_masks_are_inverted_dropout(keep_prob, dtype):
    """Masks hold 0 or 1/keep_prob; the kept fraction is keep_prob within 5 SE."""
    masks = draw_keep_masks(
        np.random.RandomState(0), 400, [300, 100], keep_prob, np.dtype(dtype)
    )
    assert [m.shape for m in masks] == [(400, 300), (400, 100)]
    for mask in masks:
        assert mask.dtype == dtype
        kept = mask != 0
        assert_allclose(mask[kept], 1 / keep_prob, rtol=1e-7)
        n = mask.size
        assert abs(kept.mean() - keep_prob) < 5 * np.sqrt(
            keep_prob * (1 - keep_prob) / n
        )
        # Inverted dropout: the expected value of a masked unit is unchanged.
        assert abs(mask.mean() - 1) < 5 * np.sqrt((1 - keep_prob) / keep_prob / n)


def test_network_keep_masks_deterministic_given_rng():
    """The same seed draws the same masks; another seed different ones."""

    def draw(seed):
        return draw_keep_masks(
            np.random.RandomState(seed), 20, [7], 0.5, np.dtype(float)
        )

    assert_array_equal(draw(3)[0], draw(3)[0])
    assert not np.array_equal(draw(3)[0], draw(4)[0])


def test_network_backprop_float32_close_to_sklearn_float64(
    request, sklearn_backprop, rel_error
):
    """A float32 pass gives float32 gradients within float32 accuracy of sklearn's."""
    X, y, Y, twin = _sklearn_setup(request, "multiclass", "tanh", alpha=0.1)
    expected_loss, expected_dW, expected_db = sklearn_backprop(twin, X, y)
    loss, dW, db = _backprop_with(X, Y, twin, "log_loss", 0.1, dtype=np.float32)
    assert all(g.dtype == np.float32 for g in dW + db)
    assert_allclose(loss, expected_loss, rtol=1e-5)
    for ours, theirs in zip(dW + db, expected_dW + expected_db):
        assert rel_error(ours, theirs) < 1e-5
