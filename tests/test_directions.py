"""Directional checks with a stated guarantee (sk_dlsetup.gradcheck._directions)."""

import copy
from types import SimpleNamespace

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratch, check_gradients
from sk_dlsetup.gradcheck._directions import (
    CONFIDENCE,
    detectable_error,
    gaussian_directions,
    smallest_projection,
)

SETTINGS = SimpleNamespace(pass_threshold=1e-6, fail_threshold=1e-3, noise_aware=True)


@pytest.mark.parametrize("n_directions, size", [(1, 50), (3, 50), (6, 300)])
def test_smallest_projection_matches_monte_carlo(n_directions, size):
    """P(max_j |u_j . delta| < s ||delta||) is 1 - CONFIDENCE, by simulation."""
    rng = np.random.RandomState(0)
    s = smallest_projection(n_directions, size, confidence=0.9)
    delta = rng.standard_normal(size)
    delta /= np.linalg.norm(delta)
    trials = 20000
    U = gaussian_directions(rng, trials * n_directions, size)
    largest = np.abs(U @ delta).reshape(trials, n_directions).max(axis=1)
    assert np.mean(largest < s) == pytest.approx(0.1, abs=0.01)
    assert smallest_projection(n_directions, size) < s  # 0.999 needs a smaller s


def test_gaussian_directions_are_unit_and_isotropic():
    D = gaussian_directions(np.random.RandomState(0), 4000, 3)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0)
    np.testing.assert_allclose(D.T @ D / 4000, np.eye(3) / 3, atol=0.02)


def test_detectable_error_shrinks_with_tighter_bounds_and_is_inf_without_gradient():
    values = np.array([0.3, -0.2, 0.1])
    tight = detectable_error(values, values, np.full(3, 1e-15), 1.0, 10, SETTINGS)
    loose = detectable_error(values, values, np.full(3, 1e-9), 1.0, 10, SETTINGS)
    assert tight < loose
    assert detectable_error(values, values, np.ones(3), 0.0, 10, SETTINGS) == np.inf
    plain = SimpleNamespace(**{**vars(SETTINGS), "noise_aware": False})
    # Without the bounds, only fail_threshold catches: a far larger error.
    assert detectable_error(values, values, np.full(3, 1e-15), 1.0, 10, plain) > loose


def _objective():
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 6), rng.randint(0, 3, 40)
    model = MLPFromScratch(
        hidden_layer_sizes=(12, 8), activation="tanh", random_state=0
    )
    return model.initialize(X, y).objective(X, y)


class _Planted:
    """The objective with ``delta`` added to backprop's gradient of one block
    (a plain objective: checked with plain evaluations)."""

    def __init__(self, objective, block, delta):
        self.objective, self.block, self.delta = objective, block, delta
        self.theta0, self.blocks = objective.theta0, objective.blocks
        self.calls = 0

    def loss(self, theta):
        self.calls += 1
        return self.objective.loss(theta)

    def gradient(self, theta):
        grad = self.objective.gradient(theta)
        grad[self.objective.blocks[self.block][1]] += self.delta
        return grad


def _planted(objective, block, delta, fast):
    """On the fast path: the MLP objective itself with its gradient changed."""
    plain = _Planted(objective, block, delta)
    if not fast:
        return plain
    planted = copy.copy(objective)
    planted.gradient = plain.gradient
    planted.loss_and_gradient = lambda theta: (
        objective.loss(theta),
        plain.gradient(theta),
    )
    return planted


@pytest.mark.parametrize(
    "fast, method",
    [(True, "central"), (False, "central"), (False, "richardson"), (False, "complex")],
)
def test_planted_errors_are_caught_as_promised(fast, method):
    """Errors of exactly the promised size, in random directions of one block:
    missed no more often than the 0.1 % the guarantee allows (at most 1 of
    120: at exactly the promised size a miss has probability 0.001, so 2 or
    more would happen with probability 0.6 %).

    The promise is that of the very directions drawn (the same random_state on
    the correct model: the numeric values, hence the bounds, do not depend on
    the bug)."""
    objective = _objective()
    grad = objective.gradient(objective.theta0)
    rng = np.random.RandomState(0)
    misses = 0
    for trial in range(120):
        b = trial % len(objective.blocks)
        settings = {"mode": "directional", "method": method, "random_state": trial}
        correct = check_gradients(_planted(objective, b, 0.0, fast), **settings)
        assert correct.verdict == "pass"
        assert correct.engine == ("mlp-fast" if fast else "plain")
        sl = objective.blocks[b][1]
        delta = rng.standard_normal(sl.stop - sl.start)
        size = correct.blocks[b].detectable_error * np.linalg.norm(grad[sl])
        delta *= size / np.linalg.norm(delta)
        report = check_gradients(_planted(objective, b, delta, fast), **settings)
        misses += report.blocks[b].verdict != "fail"
    assert misses <= 1


def test_detect_chooses_the_number_of_directions():
    objective = _objective()
    planted = _Planted(objective, 0, 0.0)
    report = check_gradients(planted, mode="directional", detect=0.01, fast=False)
    assert report.mode == "directional"
    assert all(row.detectable_error <= 0.01 for row in report.blocks)
    counts = [row.n_checked for row in report.blocks]
    # As few as the guarantee needs: one direction less would not do.
    assert min(counts) >= 1 and max(counts) <= 3
    # Three evaluations per direction (its own bound), plus the noise probe.
    assert planted.calls <= 3 * sum(counts) + 12
    looser = check_gradients(objective, detect=0.1, fast=False)
    assert looser.mode == "directional"
    assert sum(r.n_checked for r in looser.blocks) <= sum(counts)


def test_detect_says_when_it_cannot_be_reached():
    objective = _objective()
    report = check_gradients(objective, detect=1e-12, fast=False)
    assert any("needs more than" in note for note in report.notes)
    assert all(row.detectable_error > 1e-12 for row in report.blocks)


def test_detect_with_an_entry_mode_is_an_error():
    with pytest.raises(ValueError, match="mode='directional'"):
        check_gradients(_objective(), mode="full", detect=0.01)


def test_entry_rows_make_no_claim():
    report = check_gradients(_objective(), mode="sampled", n_entries=20)
    assert all(np.isnan(row.detectable_error) for row in report.blocks)
    assert "detectable_error" in report.blocks[0].to_dict()


def test_confidence_is_the_contracts():
    assert CONFIDENCE == 0.999


def test_a_planted_error_is_never_taken_for_a_kink():
    """Regression: at Richardson's large step a smooth direction's one-sided
    differences differ by eps J'', and a planted error close to one of them
    was once taken for a ReLU kink (on a tanh network) and left out: missed
    20 times in 1,000. The kink test now also asks the curvature beside."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(64, 20), np.arange(64) % 10
    model = MLPFromScratch((32,), activation="tanh", random_state=0)
    objective = model.initialize(X, y).objective(X, y)
    grad = objective.gradient(objective.theta0)
    rng = np.random.RandomState(0)
    for trial in range(24):
        b = trial % len(objective.blocks)
        sl = objective.blocks[b][1]
        delta = rng.standard_normal(sl.stop - sl.start)
        delta *= 0.01 * np.linalg.norm(grad[sl]) / np.linalg.norm(delta)
        report = check_gradients(
            _Planted(objective, b, delta),
            detect=0.01,
            method="richardson",
            random_state=trial,
        )
        assert report.n_kinks == 0, trial
        assert report.blocks[b].verdict == "fail", trial
