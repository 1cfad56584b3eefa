"""The error model: each entry against its own bound; agree, disagree, unresolved.

References are independent of the checker: closed-form derivatives, the
complex step (exact to round-off on real-analytic functions) and scipy.
"""

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from sk_dlsetup import MLPFromScratch, check_gradients
from sk_dlsetup.gradcheck._judge import entry_status
from sk_dlsetup.gradcheck._plain import entry_bounds


def _complex_step(loss, theta, h=1e-30):
    """dJ/dtheta_i = Im J(theta + i h e_i) / h: no subtraction, no round-off floor."""
    grad = np.empty(theta.size)
    for i in range(theta.size):
        z = theta.astype(complex)
        z[i] += 1j * h
        grad[i] = loss(z).imag / h
    return grad


def _log_barrier():
    q = np.random.RandomState(0).uniform(2e-5, 4e-5, 5)
    return (lambda p: -np.sum(np.log(p))), (lambda p: -1.0 / p), q


def _gaussian_nll():
    """Negative log-likelihood of N(mu, sigma^2), sigma = 1e-4 (a small variance)."""
    x = np.random.RandomState(1).randn(20) * 1e-4

    def loss(t):
        mu, sigma = t[0], t[1]
        return np.sum(0.5 * ((x - mu) / sigma) ** 2 + np.log(sigma))

    def gradient(t):
        mu, sigma = t
        r = x - mu
        return np.array([-np.sum(r) / sigma**2, np.sum(-(r**2) / sigma**3 + 1 / sigma)])

    return loss, gradient, np.array([1e-5, 1e-4])


def _badly_scaled():
    """Parameters of size 1e4 next to 1e-4, curvature to match."""

    def loss(p):
        return np.sum(np.cosh(p["big"] / 1e4)) + np.sum(np.sin(p["small"] * 1e4))

    def gradient(p):
        return {
            "dbig": np.sinh(p["big"] / 1e4) / 1e4,
            "dsmall": 1e4 * np.cos(p["small"] * 1e4),
        }

    return (
        loss,
        gradient,
        {"big": np.array([3e4, -1e4]), "small": np.array([1e-4, 3e-5])},
    )


def _l1_at_zero():
    W = np.array([0.3, -1.2, 0.8, 2.0])
    loss = lambda p: 0.5 * np.sum(p["W"] ** 2) + np.sum(np.abs(p["b"]))  # noqa: E731
    gradient = lambda p: {"dW": p["W"], "db": np.sign(p["b"])}  # noqa: E731
    return loss, gradient, {"W": W, "b": np.zeros(3)}


def _floor_step():
    W = np.array([0.3, -1.2, 0.8, 2.0])
    loss = lambda p: 0.5 * np.sum(p["W"] ** 2) + np.floor(p["c"][0])  # noqa: E731
    gradient = lambda p: {"dW": p["W"], "dc": np.zeros(1)}  # noqa: E731
    return loss, gradient, {"W": W, "c": np.array([3.0])}


def _deep_tanh():
    """A 20-layer tanh MLP with init='random', its J and gradient as plain
    functions: the first layers' gradients (1e-8 ... 1e-29) vanish."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(64, 8), rng.randint(0, 2, 64)
    model = MLPFromScratch(
        hidden_layer_sizes=(16,) * 19, activation="tanh", init="random", random_state=0
    ).initialize(X, y)
    objective = model.objective(X, y)

    class Plain:  # the protocol only: checked with plain evaluations
        theta0, blocks = objective.theta0, objective.blocks
        loss, gradient = objective.loss, objective.gradient

    return Plain


CORRECT = {
    "log barrier": _log_barrier,
    "small variance": _gaussian_nll,
    "badly scaled": _badly_scaled,
    "L1 kink at 0": _l1_at_zero,
    "piecewise constant": _floor_step,
}


@pytest.mark.parametrize("epsilon", [1e-7, "auto"])
@pytest.mark.parametrize("case", sorted(CORRECT))
def test_a_correct_gradient_passes(case, epsilon):
    """Never 'fail', and not 'warn' for what the bounds cover (the log barrier
    was 'fail' at 1.75e-6 from the step's own truncation)."""
    report = check_gradients(*CORRECT[case](), epsilon=epsilon)
    assert report.verdict == "pass", str(report)


def test_the_log_barrier_difference_is_the_step_truncation_and_bounded():
    """Per entry, the error against the complex step (exact) is within the
    bound, and the bound is within 10x of it: truncation (h/q)^2 / 3 dominates."""
    loss, gradient, q = _log_barrier()
    report = check_gradients(loss, gradient, q)
    row = report.blocks[0]
    exact = _complex_step(loss, q)
    np.testing.assert_allclose(exact, gradient(q), rtol=1e-14)
    error = np.abs(row.numeric_values - exact)
    np.testing.assert_allclose(error, (1e-7 / q) ** 2 / 3 / q, rtol=0.05)
    assert np.all(error <= row.bounds) and np.all(row.bounds <= 10 * error)


def test_deep_vanishing_gradients_are_unresolved_not_suspicious():
    """The vanishing-gradient lesson: the early blocks' gradients are below what
    a finite difference sees; they are unresolved, never 'warn' or 'fail'."""
    report = check_gradients(_deep_tanh()())
    assert report.verdict == "pass" and report.n_unresolved > 0
    assert report["b1"].verdict == "unresolved"
    assert report["b1"].n_unresolved == report["b1"].n_checked == 16
    assert "unresolved" in str(report) and "vanishing" in str(report)
    assert report.to_dict()["n_unresolved"] == report.n_unresolved
    assert report.to_dict()["blocks"][1]["n_unresolved"] == 16


def _planted(make, block, factor=1.01):
    loss, gradient, params = make()

    def wrong(p):
        grad = dict(gradient(p))
        grad["d" + block] = factor * grad["d" + block]
        return grad

    return loss, wrong, params


@pytest.mark.parametrize("make", [_l1_at_zero, _floor_step, _badly_scaled])
def test_a_one_percent_bug_fails_whatever_the_other_blocks_hold(make):
    """1 % in a resolvable block is 'fail' next to kinks, steps, bad scaling."""
    loss, gradient, params = make()
    block = next(iter(params))
    report = check_gradients(*_planted(make, block))
    assert report[block].verdict == "fail" and report.verdict == "fail"
    assert report[block].ratio == pytest.approx(1.01, rel=1e-4)


def test_a_one_percent_bug_in_a_deep_network_is_found_next_to_vanishing_blocks():
    """In the 20-layer net, a 1 % bug in the last layer's weights is 'fail'
    (with 'auto' steps, which bound its small entries tightly enough), however
    many earlier entries are unresolved."""
    Plain = _deep_tanh()
    last = Plain.blocks[-2]

    class Wrong(Plain):
        def gradient(self, theta):
            grad = Plain.gradient(theta)
            grad[last[1]] *= 1.01
            return grad

    report = check_gradients(Wrong(), epsilon="auto")
    assert report.verdict == "fail" and report.worst_block == last[0]
    assert report.n_unresolved > 0


def test_a_one_percent_bug_under_a_log_barrier_fails():
    loss, gradient, q = _log_barrier()
    assert check_gradients(loss, lambda p: 1.01 * gradient(p), q).verdict == "fail"


def test_entry_bounds_cover_round_off_without_being_loose():
    """J a sum of large terms that cancel: round-off far above u |J|. Over many
    entries the central differences' errors stay within their bounds, and the
    bounds are within 100x of the largest error seen."""
    rng = np.random.RandomState(0)
    big = rng.randn(300) * 1e6

    def loss(theta):
        return float(np.sum(big + theta**2) - np.sum(big))

    theta = rng.randn(300)
    h, values, steps = 1e-6, [], []
    for i in range(theta.size):
        row, row_steps = [], []
        for multiple in (1, -1, 2):
            t = theta.copy()
            t[i] += multiple * h
            row.append(loss(t))
            row_steps.append(abs(t[i] - theta[i]))
        values.append(row)
        steps.append(row_steps)
    values, steps = np.array(values).T, np.array(steps).T
    central = (values[0] - values[1]) / (steps[0] + steps[1])
    bound, typical = entry_bounds(values, steps, loss(theta))
    error = np.abs(central - 2 * theta)
    assert np.all(error <= bound)
    assert np.median(bound) <= 100 * error.max()
    assert typical > 1e3 * np.finfo(float).eps * abs(loss(theta))


def test_entry_status_closed_form():
    numeric = np.array([1.0, 2e-10, 5e-10, 0.0, np.nan])
    analytic = np.array([1.0, 1e-12, 3e-9, 0.0, 1.0])
    kinks = np.array([False, False, False, True, False])
    resolved, unresolved = entry_status(numeric, analytic, np.full(5, 1e-9), kinks)
    assert resolved.tolist() == [True, False, True, False, True]
    assert unresolved.tolist() == [False, True, False, False, False]


def test_nothing_resolved_is_a_warning_that_says_so_never_a_pass():
    """J = 1 + 1e-14 sum(p): no step of 1e-7 sees a slope of 1e-14 on J's
    round-off of 1e-16."""
    report = check_gradients(
        lambda p: 1.0 + 1e-14 * np.sum(p), lambda p: np.full(p.size, 1e-14), np.ones(4)
    )
    assert report.verdict == "warn" and report.n_unresolved == 4
    assert any("nothing was checked" in note for note in report.notes)
    assert report.worst_block is None


def test_unresolved_entries_never_make_a_verdict_worse_and_blind_mode_counts_them():
    """A gradient of 1e-14 that is wrong by 100 %: unresolved, so 'pass' is
    decided by the resolved block; noise_aware=False judges every entry."""

    def loss(p):
        return 1.0 + np.sum(p["W"] ** 2) + 1e-14 * np.sum(p["tiny"])

    def gradient(p):
        return {"dW": 2 * p["W"], "dtiny": np.full(3, 2e-14)}

    params = {"W": np.array([0.5, -1.0]), "tiny": np.zeros(3)}
    aware = check_gradients(loss, gradient, params)
    assert aware.verdict == "pass" and aware["tiny"].verdict == "unresolved"
    blind = check_gradients(loss, gradient, params, noise_aware=False)
    assert blind["tiny"].n_unresolved == 0 and blind["tiny"].verdict != "pass"


def test_scipy_agrees_where_an_entry_is_resolved():
    """scipy's forward differences at a resolvable entry agree with ours within
    their own (larger) error: the log barrier at a moderate q."""
    loss, gradient, _ = _log_barrier()
    q = np.array([0.5, 1.5, 3.0])
    report = check_gradients(loss, gradient, q)
    scipy_numeric = approx_fprime(q, loss, 1e-8)
    np.testing.assert_allclose(
        report.blocks[0].numeric_values, scipy_numeric, rtol=1e-6
    )
    assert report.verdict == "pass" and report.n_unresolved == 0


def test_a_large_step_does_not_excuse_a_bug_as_a_kink():
    """At Richardson's step (7e-4) a smooth entry's one-sided differences differ
    by eps J''; a 1 % error close to one of them is a bug, not a kink."""
    q = np.array([0.3, -0.8, 1.1])

    def loss(p):
        return float(np.sum(np.tanh(3.0 * p["q"]) ** 2))

    def gradient(p):
        t = np.tanh(3.0 * p["q"])
        return {"q": 6.0 * t * (1 - t**2) * 1.01}

    for method in ("central", "richardson"):
        report = check_gradients(loss, gradient, {"q": q}, epsilon=7e-4, method=method)
        assert report.verdict == "fail", method
        assert report.n_kinks == 0
    # A real kink is still one: |x| at 1e-4 with that step.
    kink = check_gradients(
        lambda p: float(np.sum(np.abs(p["x"]))),
        lambda p: {"x": np.sign(p["x"])},
        {"x": np.array([1e-4, 0.5, -0.3, 0.7, 1.2, -0.9, 0.4, -1.5])},
        epsilon=7e-4,
    )
    assert kink.n_kinks == 1 and kink.verdict == "pass"
