"""The choice of finite-difference engine, and the interface both follow."""

import types

import numpy as np
import pytest

from sk_dlsetup import MLPFromScratch, check_gradients
from sk_dlsetup.gradcheck._engines import make_engine, uses_mlp_loss
from sk_dlsetup.gradcheck._fast import MLPFiniteDifferences
from sk_dlsetup.gradcheck._plain import PlainFiniteDifferences
from sk_dlsetup.neural_network._objective import MLPObjective


@pytest.fixture
def objective(binary_data):
    X, y = binary_data
    model = MLPFromScratch((5,), activation="tanh", random_state=0).initialize(X, y)
    return model.objective(X, y)


def _engine(objective, fast=True):
    theta0 = np.array(objective.theta0, dtype=np.float64)
    notes = []
    engine = make_engine(
        objective,
        list(objective.blocks),
        theta0,
        objective.loss(theta0),
        np.random.RandomState(0),
        fast,
        notes,
    )
    return engine, notes


def test_make_engine_chooses_the_fast_path_for_the_mlp_loss(objective):
    """MLPObjective itself: the fast engine; fast=False: the plain one."""
    engine, notes = _engine(objective)
    assert isinstance(engine, MLPFiniteDifferences) and engine.name == "mlp-fast"
    assert notes == []
    engine, _ = _engine(objective, fast=False)
    assert isinstance(engine, PlainFiniteDifferences) and engine.name == "plain"


def test_make_engine_plain_for_a_redefined_loss_or_another_objective(objective):
    """A subclass redefining loss, or a protocol-only object, is evaluated plainly."""

    class Scaled(MLPObjective):
        def loss(self, theta):
            return 2.0 * super().loss(theta)

    scaled = Scaled.__new__(Scaled)
    scaled.__dict__.update(objective.__dict__)
    assert not uses_mlp_loss(scaled) and uses_mlp_loss(objective)
    engine, notes = _engine(scaled)
    assert engine.name == "plain" and "redefines MLPObjective.loss" in notes[0]
    bare = types.SimpleNamespace(
        theta0=objective.theta0,
        blocks=objective.blocks,
        loss=objective.loss,
        gradient=objective.gradient,
    )
    engine, notes = _engine(bare)
    assert engine.name == "plain" and notes == []


def test_engines_share_one_interface_and_agree(objective):
    """Both engines answer entries(block, flat, eps, analytic) alike, to their noise."""
    fast, _ = _engine(objective)
    plain, _ = _engine(objective, fast=False)
    grad = objective.gradient(objective.theta0)
    for engine in (fast, plain):
        assert engine.evaluation_noise > 0 and engine.unit_roundoff > 0
        assert isinstance(engine.cheap_entries, bool)
        assert engine.full_limit(2000) >= 2000
    for block, (_, sl, _) in enumerate(objective.blocks):
        flat = np.arange(sl.stop - sl.start)
        a = fast.entries(block, flat, 1e-6, grad[sl])
        b = plain.entries(block, flat, 1e-6, grad[sl])
        assert len(a) == len(b) == 4
        np.testing.assert_allclose(a[0], b[0], rtol=1e-6, atol=1e-9)
        D = np.eye(flat.size)[:2]
        a = fast.directions(block, D, 1e-6, D @ grad[sl])
        b = plain.directions(block, D, 1e-6, D @ grad[sl])
        np.testing.assert_allclose(a[0], b[0], rtol=1e-6, atol=1e-9)


def test_check_gradients_reports_the_engine_it_used(objective):
    """The report's engine is the chosen engine's name."""
    assert check_gradients(objective).engine == "mlp-fast"
    assert check_gradients(objective, fast=False).engine == "plain"
