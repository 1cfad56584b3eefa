"""check_gradients: verdicts, localization, kinks, modes, noise and second opinions."""

import warnings
import zlib

import numpy as np
import pytest
from _toy_models import BUGS, SklearnMLPObjective, ToyNet
from _versions import check_grad_random
from scipy.optimize import approx_fprime, check_grad

from sk_dlsetup import MLPFromScratch, check_gradients
from sk_dlsetup.gradcheck._noise import estimate_noise
from sk_dlsetup.gradcheck._plain import PlainFiniteDifferences
from sk_dlsetup.gradcheck._runner import allocate
from sk_dlsetup.neural_network._objective import MLPObjective


class Quadratic:
    """J = 0.5 theta' A theta + b' theta, a third-party objective in closed form.

    ``scale`` multiplies the gradient of one block, a planted scaling bug.
    """

    def __init__(self, n=6, scale=None, seed=0):
        rng = np.random.RandomState(seed)
        M = rng.randn(n, n)
        self.A = M @ M.T / n + np.eye(n)
        self.b = rng.randn(n)
        self.theta0 = rng.randn(n)
        self.blocks = [("W", slice(0, 4), (2, 2)), ("c", slice(4, n), (n - 4,))]
        self.scale = scale or {}

    def loss(self, theta):
        return float(0.5 * theta @ self.A @ theta + self.b @ theta)

    def gradient(self, theta):
        grad = self.A @ theta + self.b
        for name, sl, _ in self.blocks:
            grad[sl] *= self.scale.get(name, 1.0)
        return grad


@pytest.fixture
def binary_data():
    """40 rows, 3 features, a nonlinear binary target."""
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    return X, (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int)


def test_check_gradients_quadratic_closed_form():
    """Central differences are exact on a quadratic: difference at round-off."""
    report = check_gradients(Quadratic(), mode="full")
    assert report.verdict == "pass"
    assert report.difference < 1e-8
    assert [row.name for row in report.blocks] == ["W", "c"]
    assert report["W"].worst_index in {(i, j) for i in range(2) for j in range(2)}


def test_check_gradients_scaled_block_difference_is_one_third():
    """A block's gradient doubled gives difference |2g - g| / (|g| + |2g|) = 1/3."""
    report = check_gradients(Quadratic(scale={"c": 2.0}), mode="full")
    row = report["c"]
    assert row.difference == pytest.approx(1 / 3, rel=1e-6)
    assert row.ratio == pytest.approx(2.0, rel=1e-6)
    assert row.verdict == "fail" and report["W"].verdict == "pass"
    assert report.verdict == "fail" and report.worst_block == "c"


@pytest.mark.parametrize("stage", ["init", "fitted"])
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_check_gradients_planted_bug_fails_at_its_block(bug, stage, binary_data):
    """Each planted backprop bug is 'fail', the worst block being the planted one."""
    X, y = binary_data
    keep_prob = 0.7 if bug == "dropout_mask_forgotten" else 1.0
    net = ToyNet(bug=bug, alpha=0.5, keep_prob=keep_prob, random_state=0)
    net.initialize(X, y)
    if stage == "fitted":
        net.fit(X, y)
    report = check_gradients(net, X, y)
    assert report.verdict == "fail"
    assert report.worst_block in BUGS[bug]
    if bug == "dW2_doubled":
        assert report["W2"].ratio == pytest.approx(2.0, rel=1e-6)
    if bug == "db1_4_over_m":
        assert report["b1"].ratio == pytest.approx(4.0, rel=1e-6)


@pytest.mark.parametrize("stage", ["init", "fitted"])
@pytest.mark.parametrize(
    "params",
    [
        {"activation": "tanh", "alpha": 0.5, "keep_prob": 0.7},
        {"activation": "relu", "n_hidden": 12},
        {"activation": "relu", "n_hidden": 12, "kink_hook": True},
    ],
)
def test_check_gradients_correct_toy_passes(params, stage, binary_data):
    """The bug-free twin passes at initialization and after training."""
    X, y = binary_data
    net = ToyNet(random_state=0, **params).initialize(X, y)
    if stage == "fitted":
        net.fit(X, y)
    for mode in ("full", "sampled", "directional"):
        report = check_gradients(net, X, y, mode=mode, n_entries=10)
        assert report.verdict == "pass", str(report)
        assert report.engine == "plain"


@pytest.mark.parametrize("n_outputs", [2, 3])
def test_check_gradients_sklearn_multioutput_squared_error(n_outputs):
    """scikit-learn's #8349: its gradient is n_outputs times the true one."""
    rng = np.random.RandomState(0)
    objective = SklearnMLPObjective(rng.randn(30, 4), rng.randn(30, n_outputs))
    report = check_gradients(objective)
    assert report.verdict == "fail"
    for row in report.blocks:
        assert row.ratio == pytest.approx(n_outputs, rel=1e-6)
        # (k g - g) / (g + k g) = (k - 1) / (k + 1) in every block.
        assert row.difference == pytest.approx((n_outputs - 1) / (n_outputs + 1), 1e-5)


def test_check_gradients_sklearn_single_output_passes():
    """With one output scikit-learn's gradient is right, and the check agrees."""
    rng = np.random.RandomState(0)
    objective = SklearnMLPObjective(rng.randn(30, 4), rng.randn(30, 1))
    assert check_gradients(objective).verdict == "pass"


def _scipy_forward_tolerance(objective, theta, eps):
    """Per-entry bound on |forward - central|: eps |J''| / 2 plus round-off."""
    h = 1e-4
    loss0 = objective.loss(theta)
    bound = []
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        second = (objective.loss(up) - 2 * loss0 + objective.loss(down)) / h**2
        bound.append(0.6 * eps * abs(second) + 8e-16 * (1 + abs(loss0)) / eps)
    return np.array(bound)


@pytest.mark.parametrize("model", ["toy", "mlp"])
def test_check_gradients_agrees_with_scipy_per_entry(model, binary_data):
    """Our central differences agree with scipy's forward ones within O(eps J'')."""
    X, y = binary_data
    if model == "toy":  # the plain engine
        estimator = ToyNet(activation="tanh", alpha=0.5, random_state=0)
    else:  # the fast path
        estimator = MLPFromScratch(hidden_layer_sizes=(4, 3), alpha=0.5, random_state=0)
    objective = estimator.initialize(X, y).objective(X, y)
    report = check_gradients(objective, mode="full")
    assert report.engine == ("plain" if model == "toy" else "mlp-fast")
    ours = np.concatenate([row.numeric_values for row in report.blocks])
    eps = np.sqrt(np.finfo(float).eps)  # scipy's default step
    forward = approx_fprime(objective.theta0, objective.loss, eps)
    tolerance = _scipy_forward_tolerance(objective, objective.theta0, eps)
    smooth = ~np.concatenate([row.kinks for row in report.blocks])  # ReLU kinks out
    np.testing.assert_array_less(np.abs(ours - forward)[smooth], tolerance[smooth])
    # check_grad's number is the absolute norm of (grad - forward difference).
    analytic = objective.gradient(objective.theta0)
    value = check_grad(objective.loss, objective.gradient, objective.theta0)
    assert value == pytest.approx(np.linalg.norm(analytic - forward), rel=1e-12)


def test_check_gradients_difference_is_scipy_norm_made_relative(binary_data):
    """On a bug, scipy's absolute norm over (|a| + |g|) is our difference."""
    X, y = binary_data
    net = ToyNet(bug="dW2_doubled", random_state=0).initialize(X, y)
    objective = net.objective(X, y)
    report = check_gradients(objective, mode="full")
    value = check_grad(objective.loss, objective.gradient, objective.theta0)
    numeric = np.concatenate([row.numeric_values for row in report.blocks])
    analytic = np.concatenate([row.analytic_values for row in report.blocks])
    relative = value / (np.linalg.norm(numeric) + np.linalg.norm(analytic))
    assert report.difference == pytest.approx(relative, rel=1e-6)


def test_check_gradients_agrees_with_scipy_random_direction(binary_data):
    """Along scipy's random direction, our directional differences agree with it."""
    X, y = binary_data
    net = ToyNet(activation="tanh", alpha=0.5, random_state=0).initialize(X, y)
    objective = net.objective(X, y)
    theta = objective.theta0
    eps = np.sqrt(np.finfo(float).eps)
    value = check_grad(
        objective.loss,
        objective.gradient,
        theta,
        direction="random",
        **check_grad_random(7),
    )
    v = np.random.default_rng(7).standard_normal(theta.size)  # scipy's direction
    forward = approx_fprime(np.zeros(1), lambda w: objective.loss(theta + w * v), eps)[
        0
    ]
    analytic = objective.gradient(theta) @ v
    assert value == pytest.approx(abs(analytic - forward), rel=1e-12)
    loss0 = objective.loss(theta)
    engine = PlainFiniteDifferences(objective, theta, loss0, noise=1e-16)
    ours = 0.0
    for block, (_, sl, _) in enumerate(objective.blocks):
        norm = np.linalg.norm(v[sl])
        d = v[sl] / norm
        analytic_d = [objective.gradient(theta)[sl] @ d]
        numeric = engine.directions(block, [d], 1e-6, analytic_d)[0]
        ours += norm * numeric[0]  # directional derivatives add up over blocks
    h = 1e-4
    second = (
        objective.loss(theta + h * v) - 2 * loss0 + objective.loss(theta - h * v)
    ) / h**2
    assert abs(ours - forward) < 0.6 * eps * abs(second) + 1e-6
    assert abs(ours - analytic) < 1e-8 * np.linalg.norm(v)


def test_check_gradients_epsilon_must_be_positive():
    """epsilon <= 0 is a ValueError naming epsilon."""
    for epsilon in (0.0, -1e-7):
        with pytest.raises(ValueError, match="epsilon"):
            check_gradients(Quadratic(), epsilon=epsilon)


def test_check_gradients_rejects_bad_settings():
    """Unknown modes and inverted thresholds are ValueErrors."""
    with pytest.raises(ValueError, match="mode"):
        check_gradients(Quadratic(), mode="everything")
    with pytest.raises(ValueError, match="pass_threshold"):
        check_gradients(Quadratic(), pass_threshold=1e-2, fail_threshold=1e-3)


def test_check_gradients_needs_the_objective_protocol():
    """A missing objective method or protocol attribute is a TypeError naming it."""
    with pytest.raises(TypeError, match="objective"):
        check_gradients(object(), np.zeros((2, 2)), [0, 1])

    class Broken:
        def objective(self, X, y):
            return type("Half", (), {"theta0": np.zeros(2), "blocks": []})()

    with pytest.raises(TypeError, match="loss, gradient"):
        check_gradients(Broken(), np.zeros((2, 2)), [0, 1])
    with pytest.raises(TypeError, match="X and y"):
        check_gradients(Broken())


def test_check_gradients_nonfinite_gradient_is_an_error_naming_the_entry():
    """A NaN in the gradient is a clear error naming its block and index, never a
    verdict (nothing can be compared there); so is a non-finite J(theta0)."""

    class NaNGradient(Quadratic):
        def gradient(self, theta):
            grad = super().gradient(theta)
            grad[5] = np.nan
            return grad

    with pytest.raises(ValueError, match=r"not finite at c\[1\] \(nan\), 1 entry"):
        check_gradients(NaNGradient(), mode="full")

    class InfiniteLoss(Quadratic):
        def loss(self, theta):
            return np.inf

    with pytest.raises(ValueError, match=r"J\(theta0\) is not finite \(inf\)"):
        check_gradients(InfiniteLoss())


def _near_kink_relu_objective():
    """A ReLU MLPObjective whose unit 1 of layer 1 sits 3e-8 above its kink."""
    rng = np.random.RandomState(6)
    X = rng.randn(6, 4)
    coefs = [rng.randn(4, 5), rng.randn(5, 3)]
    intercepts = [rng.randn(5) * 0.3, np.zeros(3)]
    intercepts[0][1] = 3e-8 - X[2] @ coefs[0][:, 1]
    Y = np.eye(3)[rng.randint(0, 3, 6)]
    return MLPObjective(
        coefs, intercepts, X, Y, activation="relu", loss="log_loss", alpha=0.0
    )


@pytest.mark.parametrize("fast", [True, False])
def test_check_gradients_kinks_are_counted_and_excluded(fast):
    """Entries straddling a ReLU kink are counted and kept out of the verdict."""
    objective = _near_kink_relu_objective()
    report = check_gradients(objective, mode="full", fast=fast)
    row = report["b1"]
    assert row.n_kinks >= 1 and row.kinks[1]
    assert report.n_kinks == sum(r.n_kinks for r in report.blocks)
    assert report.verdict == "pass"
    # The kink entry is far off: judging it would have failed the block.
    error = abs(row.numeric_values[1] - row.analytic_values[1])
    assert error > 1e-3 * abs(row.analytic_values[1])
    # Re-checked one-sided, away from the kink, it agrees to O(eps).
    assert row.one_sided_values[1] == pytest.approx(row.analytic_values[1], rel=1e-5)
    assert row.kink_difference < 1e-5
    assert np.isnan(row.one_sided_values[~row.kinks]).all()


def test_check_gradients_one_sided_recheck_fast_equals_plain():
    """The fast path's one-sided re-checks equal plain ones (with the hook)."""
    objective = _near_kink_relu_objective()
    fast = check_gradients(objective, mode="full")
    plain = check_gradients(objective, mode="full", fast=False)
    for a, b in zip(fast.blocks, plain.blocks):
        np.testing.assert_array_equal(a.kinks, b.kinks)
        np.testing.assert_allclose(a.one_sided_values, b.one_sided_values, atol=1e-7)


class _ProtocolOnly:
    """An objective seen through the bare protocol: no hooks, no fast path."""

    def __init__(self, objective):
        self._objective = objective
        self.theta0, self.blocks = objective.theta0, objective.blocks

    def loss(self, theta):
        return self._objective.loss(theta)

    def gradient(self, theta):
        return self._objective.gradient(theta)


def test_check_gradients_kinks_found_without_a_hook():
    """A third-party ReLU objective without kink_signature: one-sided differences."""

    objective = _near_kink_relu_objective()
    hooked = check_gradients(objective, mode="full", fast=False)
    bare = check_gradients(_ProtocolOnly(objective), mode="full")
    assert bare["b1"].kinks[1] and bare.verdict == "pass"
    assert np.isnan(bare["b1"].kink_difference)  # no independent re-check
    for with_hook, without in zip(hooked.blocks, bare.blocks):
        # Every kink that matters is found; harmless ones may go unnoticed.
        assert not (without.kinks & ~with_hook.kinks).any()


def test_allocate_water_filling_closed_form():
    """The budget is shared equally, capped by block sizes, leftovers to the first."""
    assert allocate([30, 6, 24, 4, 12, 3], 20) == [4, 4, 3, 3, 3, 3]
    assert allocate([30, 6, 24, 4, 12, 3], 50) == [13, 6, 12, 4, 12, 3]
    assert allocate([5, 1], 1) == [1, 1]  # every block gets at least one
    assert allocate([2, 3], 100) == [2, 3]


def test_check_gradients_sampled_covers_every_block(binary_data):
    """'sampled' checks the budget, every block (biases included) covered."""
    X, y = binary_data
    model = MLPFromScratch(hidden_layer_sizes=(6, 4), random_state=0)
    model.initialize(X, y)
    report = check_gradients(model, X, y, mode="sampled", n_entries=20)
    assert report.mode == "sampled"
    # sizes 18, 6, 24, 4, 4, 1: shares of 3 (b3 capped at 1), then 1 more each.
    assert [row.n_checked for row in report.blocks] == [4, 4, 4, 4, 3, 1]
    for row in report.blocks:
        assert np.unique(row.entries).size == row.n_checked
        assert row.entries.max() < row.size


def test_check_gradients_directional_escalates_failing_block(binary_data):
    """A failing direction is re-checked entry by entry, so the row localizes."""
    X, y = binary_data
    net = ToyNet(bug="db1_4_over_m", random_state=0).initialize(X, y)
    report = check_gradients(net, X, y, mode="directional", n_directions=3)
    assert report.mode == "directional"
    row = report["b1"]
    assert row.escalated and row.mode == "full" and row.worst_index is not None
    assert row.ratio == pytest.approx(4.0, rel=1e-6)
    for other in (report["W1"], report["W2"], report["b2"]):
        assert other.mode == "directional" and other.n_checked == 3
        assert other.worst_index is None and other.verdict == "pass"


def test_check_gradients_auto_mode_says_what_it_used(binary_data):
    """'auto' is 'full' for small models, 'sampled' past the plain-path budget."""
    X, y = binary_data
    net = ToyNet(random_state=0).initialize(X, y)
    small = check_gradients(net, X, y)
    assert (small.requested_mode, small.mode) == ("auto", "full")
    large = check_gradients(net, X, y, n_entries=5)
    assert large.mode == "sampled" and large.n_checked == 5


def test_check_gradients_reports_are_bit_identical(binary_data):
    """The same inputs give the same report, to the last bit."""
    X, y = binary_data
    net = ToyNet(activation="relu", random_state=0).initialize(X, y)
    model = MLPFromScratch(hidden_layer_sizes=(5,), dropout=0.3, random_state=0)
    model.initialize(X, y)
    for estimator in (net, model):
        for mode in ("sampled", "directional"):
            first = check_gradients(estimator, X, y, mode=mode, n_entries=7)
            second = check_gradients(estimator, X, y, mode=mode, n_entries=7)
            assert repr(first.to_dict()) == repr(second.to_dict())
            for a, b in zip(first.blocks, second.blocks):
                np.testing.assert_array_equal(a.numeric_values, b.numeric_values)


def test_check_gradients_float32_model_is_checked_in_float64(binary_data):
    """A float32 model (data or objective) is checked through float64 evaluation."""
    X, y = binary_data
    X32 = X.astype(np.float32)
    model = MLPFromScratch(hidden_layer_sizes=(5,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X32, y)
    assert model.coefs_[0].dtype == np.float32
    report = check_gradients(model, X32, y)
    assert report.verdict == "pass" and report.difference < 1e-9
    objective32 = model.objective(X32, y)
    assert objective32.dtype == np.float32
    direct = check_gradients(objective32)
    assert direct.verdict == "pass" and any("float32" in n for n in direct.notes)
    assert direct.difference == pytest.approx(report.difference, rel=1e-3, abs=1e-13)


def test_check_gradients_noise_aware_does_not_fail_an_optimum():
    """At a least-squares optimum (gradient ~ 0) plain noise is not called a bug."""

    class LeastSquares:
        def __init__(self):
            rng = np.random.RandomState(0)
            self.A, self.b = rng.randn(50, 6), rng.randn(50)
            solution = np.linalg.lstsq(self.A, self.b, rcond=None)[0]
            self.theta0 = solution
            self.blocks = [("w", slice(0, 6), (6,))]

        def loss(self, theta):
            r = self.A @ theta - self.b
            return float(r @ r / 100)

        def gradient(self, theta):
            return self.A.T @ (self.A @ theta - self.b) / 50

    blind = check_gradients(LeastSquares(), noise_aware=False)
    aware = check_gradients(LeastSquares())
    assert blind.difference > 1e-3 and blind.verdict == "fail"
    # Every entry of the gradient (~1e-16) is below what a step resolves:
    # nothing was checked, which is a 'warn' that says so, never a 'pass'.
    assert aware.verdict == "warn" and aware.n_unresolved == 6
    assert aware["w"].verdict == "unresolved"
    assert any("nothing was checked" in n for n in aware.notes)


def test_check_gradients_fails_small_error_far_above_noise(binary_data):
    """A small L2 mistake (difference in the 'warn' range) is 'fail': it is no noise."""

    class HalfPenalty(_ProtocolOnly):
        """Our MLP objective with half of the L2 gradient forgotten."""

        def gradient(self, theta):
            penalty = self._objective.penalty_gradient(theta)
            return self._objective.gradient(theta) - 0.5 * penalty

    X, y = binary_data
    model = MLPFromScratch(hidden_layer_sizes=(5,), alpha=1e-3, random_state=0)
    objective = HalfPenalty(model.initialize(X, y).objective(X, y))
    blind = check_gradients(objective, noise_aware=False)
    aware = check_gradients(objective)
    assert 1e-6 <= blind.difference < 1e-3 and blind.verdict == "warn"
    assert aware.verdict == "fail" and aware.worst_block in {"W1", "W2"}


def test_check_gradients_regularization_share(binary_data):
    """The L2 share is ||g_L2|| / (||g_L2|| + ||g_data||), g_data from alpha=0."""
    X, y = binary_data
    shares = []
    for alpha in (0.1, 100.0):
        model = MLPFromScratch(hidden_layer_sizes=(5,), alpha=alpha, random_state=0)
        model.initialize(X, y)
        report = check_gradients(model, X, y)
        full = model.objective(X, y)
        model.set_params(alpha=0.0)
        data = model.objective(X, y)
        g_data = data.gradient(data.theta0)
        g_l2 = full.gradient(full.theta0) - g_data
        expected = np.linalg.norm(g_l2) / (
            np.linalg.norm(g_l2) + np.linalg.norm(g_data)
        )
        assert report.regularization_share == pytest.approx(expected, rel=1e-9)
        shares.append(report)
    assert not any("L2 term" in note for note in shares[0].notes)
    assert any("L2 term" in note for note in shares[1].notes)


def test_check_gradients_dropout_frozen_and_off(binary_data):
    """Dropout models pass with a frozen mask and with dropout off."""
    X, y = binary_data
    model = MLPFromScratch(hidden_layer_sizes=(6,), dropout=0.5, random_state=0)
    model.initialize(X, y)
    frozen = check_gradients(model, X, y, dropout="frozen")
    off = check_gradients(model, X, y, dropout="off")
    assert frozen.verdict == off.verdict == "pass"
    assert frozen.loss != off.loss
    net = ToyNet(random_state=0).initialize(X, y)
    with pytest.raises(ValueError, match="dropout"):
        check_gradients(net, X, y, dropout="off")


def test_check_gradients_noise_estimate_on_known_noise():
    """ECnoise recovers the level of noise injected into a smooth function."""
    sigma = 1e-9

    def noisy(theta):
        seed = zlib.crc32(theta.tobytes())
        return float(np.sum(theta**2) + sigma * np.random.RandomState(seed).randn())

    theta = np.linspace(-1, 1, 10)
    estimate = estimate_noise(noisy, theta, noisy(theta), np.random.RandomState(0))
    assert sigma / 3 < estimate < 3 * sigma


def test_check_gradients_on_an_unfitted_model_says_initialize_is_enough(binary_data):
    """An unfitted MLP: the error says that initialize(X, y) is enough."""
    from sklearn.exceptions import NotFittedError

    X, y = binary_data
    with pytest.raises(NotFittedError, match=r"initialize\(X, y\)"):
        check_gradients(MLPFromScratch(), X, y)


def _l1_at_zero(W_factor):
    """0.5 ||W||^2 + ||b||_1 at b = 0 (an L1 kink in every entry of b), dW scaled."""
    W = np.array([0.3, -1.2, 0.8, 2.0])

    def loss(p):
        return 0.5 * np.sum(p["W"] ** 2) + np.sum(np.abs(p["b"]))

    def gradient(p):
        return {"dW": W_factor * p["W"], "db": np.sign(p["b"])}

    return loss, gradient, {"W": W, "b": np.zeros(3)}


def test_a_kink_in_one_block_never_excuses_a_bug_in_another():
    """A 1 % bug in dW is 'fail' although b sits on L1 kinks (their noise once
    widened W's floor: 'warn'); the correct gradient passes."""
    loss, gradient, params = _l1_at_zero(1.01)
    report = check_gradients(loss, gradient, params)
    assert report["W"].verdict == "fail" and report.verdict == "fail"
    assert report["W"].ratio == pytest.approx(1.01, rel=1e-6)
    correct = check_gradients(*_l1_at_zero(1.0))
    assert correct.verdict == "pass"


def test_a_step_in_one_block_never_excuses_a_doubled_gradient_in_another():
    """floor(c) at a step (c = 3) next to a doubled dW: W is 'fail'; with dW
    right, W passes and c (a step: no derivative there) is never 'fail'."""
    W = np.array([0.3, -1.2, 0.8, 2.0])
    params = {"W": W, "c": np.array([3.0])}

    def loss(p):
        return 0.5 * np.sum(p["W"] ** 2) + np.floor(p["c"][0])

    doubled = check_gradients(
        loss, lambda p: {"dW": 2 * p["W"], "dc": np.zeros(1)}, params
    )
    assert doubled["W"].verdict == "fail"
    right = check_gradients(loss, lambda p: {"dW": p["W"], "dc": np.zeros(1)}, params)
    assert right["W"].verdict == "pass" and right.verdict != "fail"
