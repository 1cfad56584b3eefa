"""The MLP fast path equals plain full-forward central differences."""

import itertools

import numpy as np
import pytest

from sk_dlsetup.gradcheck._fast import MLPFiniteDifferences
from sk_dlsetup.gradcheck._noise import estimate_noise
from sk_dlsetup.neural_network._losses import LOSSES as LOSS_TABLE
from sk_dlsetup.neural_network._network import draw_keep_masks
from sk_dlsetup.neural_network._objective import MLPObjective

ACTIVATIONS = ["identity", "relu", "tanh", "logistic"]
LOSSES = ["log_loss", "binary_log_loss", "squared_error", "poisson"]


def make_objective(
    activation,
    loss,
    sizes=(4, 5, 3, 2),
    n_samples=7,
    dropout=False,
    weighted=False,
    alpha=0.3,
    seed=0,
):
    """A small MLPObjective with random weights, targets and (optional) masks."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, sizes[0])
    coefs = [rng.randn(a, b) * 0.8 for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [rng.randn(b) * 0.3 for b in sizes[1:]]
    k = sizes[-1]
    if loss == "log_loss":
        Y = np.eye(k)[rng.randint(0, k, n_samples)]
    elif loss == "binary_log_loss":
        Y = (rng.rand(n_samples, k) > 0.5).astype(float)
    elif loss == "poisson":
        Y = rng.poisson(1.5, (n_samples, k)).astype(float)
    else:
        Y = rng.randn(n_samples, k)
    masks = None
    if dropout:
        masks = draw_keep_masks(rng, n_samples, sizes[1:-1], 0.6, np.dtype(np.float64))
    weights = rng.rand(n_samples) + 0.5 if weighted else None
    return MLPObjective(
        coefs,
        intercepts,
        X,
        Y,
        activation=activation,
        loss=loss,
        alpha=alpha,
        sample_weight=weights,
        keep_masks=masks,
    )


def plain_central(obj, eps, block):
    """Central differences of a block from full forward passes (obj.loss)."""
    _, sl, _ = obj.blocks[block]
    out = []
    for i in range(sl.start, sl.stop):
        up, down = obj.theta0.copy(), obj.theta0.copy()
        up[i] += eps
        down[i] -= eps
        out.append((obj.loss(up) - obj.loss(down)) / (up[i] - down[i]))
    return np.array(out)


def _ld_forward_loss(obj, theta):
    """J(theta) computed independently in extended precision (np.longdouble)."""
    ld = np.longdouble
    theta = np.asarray(theta, dtype=ld)
    params = [theta[sl].reshape(shape) for _, sl, shape in obj.blocks]
    A = np.asarray(obj.X, dtype=ld)
    n_layers = len(params) // 2
    for k in range(n_layers):
        Z = A @ params[2 * k] + params[2 * k + 1]
        if k == n_layers - 1:
            break
        if obj.activation == "relu":
            A = np.where(Z > 0, Z, ld(0))
        elif obj.activation == "tanh":
            A = np.tanh(Z)
        elif obj.activation == "logistic":
            A = 1 / (1 + np.exp(-Z))
        else:
            A = Z
        if obj.keep_masks is not None:
            A = A * np.asarray(obj.keep_masks[k], dtype=ld)
    Y = np.asarray(obj.Y, dtype=ld)
    if obj.loss_name == "log_loss":
        top = Z.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(Z - top).sum(axis=1))
        per_sample = lse - (Y * Z).sum(axis=1)
    elif obj.loss_name == "binary_log_loss":
        per_sample = (np.logaddexp(ld(0), Z) - Y * Z).sum(axis=1)
    elif obj.loss_name == "poisson":  # scikit-learn's form, xlogy(y, y / p) - y + p
        P = np.exp(Z)
        logs = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1) / P), ld(0))
        per_sample = (logs - Y + P).sum(axis=1)
    else:
        per_sample = ((Z - Y) ** 2).sum(axis=1) / (2 * Z.shape[1])
    if obj.sample_weight is None:
        weights = np.full(Z.shape[0], ld(1))
    else:
        weights = np.asarray(obj.sample_weight, dtype=ld)
    data = (per_sample * weights).sum() / weights.sum()
    squares = sum((W**2).sum() for W in params[0::2])
    return data + ld(obj.alpha) * squares / (2 * weights.sum())


def longdouble_central(obj, eps, block):
    """Central differences in extended precision: the reference to ~1e-12."""
    _, sl, _ = obj.blocks[block]
    ld = np.longdouble
    out = []
    for i in range(sl.start, sl.stop):
        up = obj.theta0.astype(ld)
        down = obj.theta0.astype(ld)
        up[i] += ld(eps)
        down[i] -= ld(eps)
        diff = _ld_forward_loss(obj, up) - _ld_forward_loss(obj, down)
        out.append(float(diff / (up[i] - down[i])))
    return np.array(out)


def _all_entries(engine, obj, block, eps):
    _, sl, _ = obj.blocks[block]
    numeric, kinks, _, _ = engine.entries(block, np.arange(sl.stop - sl.start), eps)
    return numeric, kinks


@pytest.mark.parametrize(
    "activation, loss, dropout, weighted",
    [
        (a, loss, d, w)
        for a, loss, (d, w) in itertools.product(
            ACTIVATIONS, LOSSES, [(False, False), (True, True)]
        )
    ],
)
def test_fast_entries_equal_plain_central_differences(
    activation, loss, dropout, weighted
):
    """Every entry matches full-forward central differences within their noise."""
    obj = make_objective(activation, loss, dropout=dropout, weighted=weighted)
    engine = MLPFiniteDifferences(obj)
    eps = 1e-7
    noise = engine.noise(obj.loss(obj.theta0)) / eps
    for block in range(len(obj.blocks)):
        numeric, kinks = _all_entries(engine, obj, block, eps)
        plain = plain_central(obj, eps, block)
        np.testing.assert_array_less(np.abs(numeric - plain)[~kinks], 10 * noise)


@pytest.mark.parametrize(
    "activation, loss", list(itertools.product(ACTIVATIONS, LOSSES))
)
def test_fast_entries_equal_longdouble_reference(activation, loss):
    """Fast central differences agree with an extended-precision evaluation."""
    obj = make_objective(activation, loss, dropout=True, weighted=True, seed=1)
    engine = MLPFiniteDifferences(obj)
    eps = 1e-7
    for block in range(len(obj.blocks)):
        numeric, kinks = _all_entries(engine, obj, block, eps)
        reference = longdouble_central(obj, eps, block)
        scale = np.abs(reference).max() + 1e-3
        np.testing.assert_allclose(
            numeric[~kinks], reference[~kinks], rtol=0, atol=1e-10 * scale
        )


def test_fast_entries_are_far_less_noisy_than_plain():
    """At eps=1e-7 the fast path's error is round-off of the difference, not of J."""
    obj = make_objective("tanh", "log_loss", sizes=(6, 8, 8, 3), n_samples=30, seed=2)
    engine = MLPFiniteDifferences(obj)
    eps = 1e-7
    fast_error, plain_error = [], []
    for block in range(len(obj.blocks)):
        reference = longdouble_central(obj, eps, block)
        fast_error.append(np.abs(_all_entries(engine, obj, block, eps)[0] - reference))
        plain_error.append(np.abs(plain_central(obj, eps, block) - reference))
    assert np.max(np.concatenate(fast_error)) * 100 < np.max(
        np.concatenate(plain_error)
    )


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fast_entries_large_step_are_exact(activation):
    """With eps=0.1 (Taylor series invalid) the exact propagation takes over."""
    obj = make_objective(activation, "log_loss", dropout=True, seed=3)
    engine = MLPFiniteDifferences(obj)
    for block in range(len(obj.blocks)):
        numeric, _ = _all_entries(engine, obj, block, 0.1)
        np.testing.assert_allclose(numeric, plain_central(obj, 0.1, block), atol=1e-13)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_fast_entries_deep_network(activation):
    """Four hidden layers: jets pass through several activations correctly."""
    obj = make_objective(activation, "log_loss", sizes=(3, 4, 5, 4, 3, 3), seed=4)
    engine = MLPFiniteDifferences(obj)
    for block in range(len(obj.blocks)):
        numeric, kinks = _all_entries(engine, obj, block, 1e-7)
        reference = longdouble_central(obj, 1e-7, block)
        np.testing.assert_allclose(numeric[~kinks], reference[~kinks], atol=1e-10)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fast_directions_equal_plain_central_differences(activation):
    """Directional differences match (J(theta + eps d) - J(theta - eps d)) / 2 eps."""
    obj = make_objective(activation, "binary_log_loss", dropout=True, seed=5)
    engine = MLPFiniteDifferences(obj)
    rng = np.random.RandomState(0)
    for block, (_, sl, _) in enumerate(obj.blocks):
        D = rng.standard_normal((3, sl.stop - sl.start))
        for eps in (1e-7, 1e-2):
            numeric, _, _, _ = engine.directions(block, D, eps)
            for d, value in zip(D, numeric):
                up, down = obj.theta0.copy(), obj.theta0.copy()
                up[sl] += eps * d
                down[sl] -= eps * d
                plain = (obj.loss(up) - obj.loss(down)) / (2 * eps)
                assert abs(value - plain) < 1e-7 * abs(plain) + 1e-14 / eps


def _near_kink_objective():
    """A ReLU net whose unit 1 of layer 1 has pre-activation 3e-8 on sample 2."""
    obj = make_objective("relu", "log_loss", n_samples=6, alpha=0.0, seed=6)
    theta = obj.theta0.copy()
    W1 = theta[obj.blocks[0][1]].reshape(obj.blocks[0][2])
    b1 = theta[obj.blocks[1][1]]
    b1[1] = 3e-8 - obj.X[2] @ W1[:, 1]
    coefs = [theta[sl].reshape(shape) for name, sl, shape in obj.blocks[0::2]]
    intercepts = [theta[sl] for name, sl, shape in obj.blocks[1::2]]
    return MLPObjective(
        coefs, intercepts, obj.X, obj.Y, activation="relu", loss="log_loss", alpha=0.0
    )


def test_fast_kinks_are_the_signature_changes():
    """Fast kink flags equal the entries whose kink_signature changes between ±eps."""
    obj = _near_kink_objective()
    engine = MLPFiniteDifferences(obj)
    eps = 1e-7
    total = 0
    for block, (_, sl, _) in enumerate(obj.blocks):
        _, kinks = _all_entries(engine, obj, block, eps)
        expected = []
        for i in range(sl.start, sl.stop):
            up, down = obj.theta0.copy(), obj.theta0.copy()
            up[i] += eps
            down[i] -= eps
            flips = obj.kink_signature(up) != obj.kink_signature(down)
            expected.append(bool(flips.any()))
        np.testing.assert_array_equal(kinks, expected)
        total += kinks.sum()
    assert total > 0


def test_fast_kink_entries_still_equal_plain_evaluation():
    """Entries crossing a kink are evaluated exactly (reported, not judged)."""
    obj = _near_kink_objective()
    engine = MLPFiniteDifferences(obj)
    numeric, kinks = _all_entries(engine, obj, 1, 1e-7)
    assert kinks[1]
    np.testing.assert_allclose(numeric, plain_central(obj, 1e-7, 1), atol=1e-8)


def test_fast_chunking_does_not_change_results():
    """Tiny chunks give the same numbers as the default ones."""
    obj = make_objective("tanh", "log_loss", sizes=(5, 6, 4, 3), n_samples=9, seed=7)
    default, tiny = MLPFiniteDifferences(obj), MLPFiniteDifferences(obj, chunk_bytes=64)
    for block, (_, sl, _) in enumerate(obj.blocks):
        flat = np.arange(sl.stop - sl.start)
        np.testing.assert_allclose(
            default.entries(block, flat, 1e-7)[0],
            tiny.entries(block, flat, 1e-7)[0],
            rtol=1e-13,
            atol=1e-16,
        )


@pytest.mark.parametrize(
    "activation, loss", [("tanh", "log_loss"), ("relu", "squared_error")]
)
def test_fast_noise_bounds_measured_noise(activation, loss):
    """The forward error bound is not below the noise ECnoise measures on J."""
    obj = make_objective(activation, loss, sizes=(10, 20, 10, 4), n_samples=50, seed=8)
    engine = MLPFiniteDifferences(obj)
    loss0 = obj.loss(obj.theta0)
    measured = estimate_noise(obj.loss, obj.theta0, loss0, np.random.RandomState(0))
    assert 0 < measured <= engine.noise(loss0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("weighted", [False, True])
def test_fast_base_pass_gives_objective_loss(activation, loss, weighted):
    """The engine's base pass (the network's forward) gives the objective's J."""
    obj = make_objective(activation, loss, dropout=True, weighted=weighted)
    engine = MLPFiniteDifferences(obj)
    per_sample = LOSS_TABLE[loss].per_sample(engine.Z[-1].copy(), engine.Y)
    squares = sum(float(np.sum(W * W)) for W in engine.coefs)
    J = float(engine.scale @ per_sample) + 0.5 * engine.l2_scale * squares
    assert pytest.approx(obj.loss(obj.theta0), rel=1e-13) == J


def test_fast_path_is_not_used_for_a_redefined_loss():
    """An MLPObjective subclass that redefines loss is checked plainly.

    The tampered loss scales J by 1.5 but keeps backprop's gradient: the check
    must fail (ratio 1 / 1.5), which the fast path alone would miss.
    """
    from sk_dlsetup import check_gradients

    class Tampered(MLPObjective):
        def loss(self, theta):
            return 1.5 * super().loss(theta)

        def loss_and_gradient(self, theta):
            return self.loss(theta), self.gradient(theta)

    obj = make_objective("tanh", "log_loss")
    tampered = Tampered.__new__(Tampered)
    tampered.__dict__.update(obj.__dict__)
    report = check_gradients(tampered, mode="full")
    assert report.verdict == "fail"
    assert any("plain evaluations" in note for note in report.notes)
    for row in report.blocks:
        assert row.ratio == pytest.approx(1 / 1.5, rel=1e-6)
