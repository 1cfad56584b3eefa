"""make_objective: the backprop a user wrote, checked block by block."""

import re

import numpy as np
import pytest
from _lecture_exercise import (
    backward_propagation_n,
    exercise_data,
    forward_propagation_n,
)
from scipy.optimize import check_grad

from sk_dlsetup import check_gradients, make_objective

NAMES = ["W1", "b1", "W2", "b2", "W3", "b3"]


def _exercise_objective(buggy):
    X, Y, parameters = exercise_data()
    return make_objective(
        lambda p: forward_propagation_n(X, Y, p)[0],
        lambda p: backward_propagation_n(
            X, Y, forward_propagation_n(X, Y, p)[1], buggy=buggy
        ),
        parameters,
    )


def test_lecture_exercise_correct_backprop_passes():
    """The exercise's correct backprop passes every block (and scipy agrees)."""
    objective = _exercise_objective(buggy=False)
    assert [name for name, _, _ in objective.blocks] == NAMES
    assert [shape for _, _, shape in objective.blocks] == [
        (5, 4), (5, 1), (3, 5), (3, 1), (1, 3), (1, 1),
    ]  # fmt: skip
    report = check_gradients(objective)
    assert report.verdict == "pass", str(report)
    assert report.difference < 1e-6  # plain central differences: ~1e-7
    scipy_error = check_grad(objective.loss, objective.gradient, objective.theta0)
    assert scipy_error < 1e-5 * np.linalg.norm(objective.gradient(objective.theta0))


def test_lecture_exercise_buggy_backprop_fails_exactly_w2_and_b1():
    """dW2 doubled and db1 with 4/m: W2 and b1 fail (ratios 2 and 4), the rest pass."""
    report = check_gradients(_exercise_objective(buggy=True))
    verdicts = {row.name: row.verdict for row in report.blocks}
    assert verdicts == {
        "W1": "pass", "b1": "fail", "W2": "fail", "b2": "pass", "W3": "pass",
        "b3": "pass",
    }, str(report)  # fmt: skip
    assert report["W2"].ratio == pytest.approx(2.0, rel=1e-5)
    assert report["b1"].ratio == pytest.approx(4.0, rel=1e-5)
    assert report.verdict == "fail"
    # worst_index is in each array's own shape
    assert len(report["W2"].worst_index) == 2 and report["W2"].worst_index[0] < 3
    assert report["b1"].worst_index[1] == 0


def test_lecture_exercise_via_three_arguments():
    """check_gradients(loss, gradient, params) checks make_objective(...)."""
    X, Y, parameters = exercise_data()
    report = check_gradients(
        lambda p: forward_propagation_n(X, Y, p)[0],
        lambda p: backward_propagation_n(X, Y, forward_propagation_n(X, Y, p)[1]),
        parameters,
    )
    assert report.verdict == "pass" and [r.name for r in report.blocks] == NAMES


def test_user_arrays_are_never_modified():
    """The functions get fresh arrays; the user's parameters stay as they were."""
    X, Y, parameters = exercise_data()
    saved = {key: value.copy() for key, value in parameters.items()}
    seen = []

    def loss(p):
        seen.append(p)
        for value in p.values():
            value += 1.0  # a careless user function
        return float(np.sum(p["W1"]))

    objective = make_objective(
        loss, lambda p: {k: np.ones_like(v) for k, v in p.items()}, parameters
    )
    objective.loss(objective.theta0)
    objective.loss(objective.theta0)
    assert seen[0] is not seen[1] and seen[0]["W1"] is not parameters["W1"]
    for key, value in parameters.items():
        np.testing.assert_array_equal(value, saved[key])
    np.testing.assert_array_equal(
        objective.theta0, np.concatenate([v.ravel() for v in saved.values()])
    )


@pytest.mark.parametrize("form", ["same", "d-keys", "flat"])
def test_gradient_forms_agree(form):
    """The gradient as the params' structure, 'd' + name keys, or flat: one result."""
    rng = np.random.RandomState(0)
    params = {"a": rng.randn(2, 3), "c": rng.randn(4)}

    def loss(p):
        return float(np.sum(p["a"] ** 3) + np.sum(np.sin(p["c"])))

    def gradient(p):
        grads = {"a": 3 * p["a"] ** 2, "c": np.cos(p["c"])}
        if form == "d-keys":
            return {"dZ9": 0, **{"d" + k: v for k, v in grads.items()}}
        if form == "flat":
            return np.concatenate([grads["a"].ravel(), grads["c"]])
        return grads

    objective = make_objective(loss, gradient, params)
    expected = np.concatenate([3 * params["a"].ravel() ** 2, np.cos(params["c"])])
    np.testing.assert_allclose(
        objective.gradient(objective.theta0), expected, rtol=1e-15
    )
    assert check_gradients(objective).verdict == "pass"


def test_sequences_and_one_array():
    """A list of arrays gives blocks p0, p1, ...; one array (or numbers) one 'theta'."""

    def loss(p):
        return float(sum(np.sum(np.asarray(q) ** 2) for q in p))

    listed = make_objective(
        loss, lambda p: [2 * q for q in p], [np.ones(2), np.ones((2, 2))]
    )
    assert [(n, s) for n, _, s in listed.blocks] == [("p0", (2,)), ("p1", (2, 2))]
    assert isinstance(listed.params(listed.theta0), list)
    tupled = make_objective(loss, lambda p: tuple(2 * q for q in p), (np.ones(3),))
    assert isinstance(tupled.params(tupled.theta0), tuple)
    assert check_gradients(tupled).verdict == "pass"
    flat = make_objective(
        lambda x: float(np.sum(x**2)), lambda x: 2 * x, [1.0, -2.0, 3.0]
    )
    assert [(n, s) for n, _, s in flat.blocks] == [("theta", (3,))]
    report = check_gradients(flat)
    assert report.verdict == "pass" and report.n_checked == 3


def test_make_objective_bad_input():
    """Malformed functions, params or gradients: a clear error naming the argument."""
    with pytest.raises(TypeError, match="make_objective's loss must be a function"):
        make_objective(1.0, lambda p: p, np.ones(2))
    with pytest.raises(ValueError, match="params is empty"):
        make_objective(lambda p: 0.0, lambda p: p, {})
    with pytest.raises(
        TypeError, match=re.escape("params['W'] must be an array of real numbers")
    ):
        make_objective(lambda p: 0.0, lambda p: p, {"W": np.array(["a", "b"])})
    params = {"W": np.ones((2, 2)), "b": np.ones(2)}
    missing = make_objective(lambda p: 0.0, lambda p: {"dW": p["W"]}, params)
    with pytest.raises(
        ValueError, match=re.escape("gradient(params) returned a dict without 'db'")
    ):
        missing.gradient(missing.theta0)
    wrong = make_objective(
        lambda p: 0.0, lambda p: {"W": p["W"], "b": np.ones(3)}, params
    )
    with pytest.raises(
        ValueError,
        match=re.escape("the gradient of 'b' has shape (3,); 'b' has shape (2,)."),
    ):
        check_gradients(wrong)
    vector = make_objective(lambda p: 0.0, lambda p: np.ones(5), params)
    with pytest.raises(
        ValueError, match=re.escape("gradient(theta) returned 5 values")
    ):
        check_gradients(vector)


@pytest.mark.parametrize(
    "params", [np.array(1.5), np.array([1.5]), np.full((3, 2), 0.7), 1.5]
)
def test_single_array_of_any_shape_and_a_plain_number(params):
    """0-d, one-element and any-shape arrays, and a float, with a gradient of the
    array's own shape: checked, and a planted error found (the factor 1.01)."""

    def loss(x):
        return float(np.sum(np.asarray(x) ** 3))

    report = check_gradients(loss, lambda x: 3 * x**2, params)
    assert report.verdict == "pass" and report.blocks[0].shape == np.shape(params)
    buggy = check_gradients(loss, lambda x: 3.03 * x**2, params)
    assert buggy.verdict == "fail"
    assert buggy.blocks[0].ratio == pytest.approx(1.01, rel=1e-6)


def test_mismatched_gradient_structures_are_clear_errors():
    """A list for dict params, and a dict holding both 'W' and 'dW', name the
    problem instead of numpy's 'inhomogeneous shape' or a silent choice."""
    params = {"W": np.ones((2, 2)), "b": np.ones(3)}

    def loss(p):
        return float(np.sum(p["W"] ** 2) + np.sum(p["b"] ** 2))

    with pytest.raises(ValueError, match="returned a list, but params is a dict"):
        check_gradients(loss, lambda p: [2 * p["W"], 2 * p["b"]], params)
    with pytest.raises(ValueError, match="returned both 'W' and 'dW'"):
        check_gradients(
            loss, lambda p: {"W": 2 * p["W"], "dW": p["W"], "b": 2 * p["b"]}, params
        )


def test_sample_weight_on_a_built_objective_is_an_error():
    """check_gradients(objective, sample_weight=w) would ignore w: refused."""
    objective = make_objective(lambda x: float(x @ x), lambda x: 2 * x, np.ones(3))
    with pytest.raises(ValueError, match="already built and would ignore it"):
        check_gradients(objective, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="already built"):
        check_gradients(
            lambda x: float(x @ x), lambda x: 2 * x, np.ones(3), sample_weight=[1.0]
        )


def test_report_rows_equal_after_a_pickle_round_trip():
    """Rows with NaN fields (kink_difference) still equal their own copies."""
    import pickle

    report = check_gradients(lambda x: float(x @ x), lambda x: 2 * x, np.ones(3))
    assert np.isnan(report.blocks[0].kink_difference)
    assert pickle.loads(pickle.dumps(report.blocks)) == report.blocks
