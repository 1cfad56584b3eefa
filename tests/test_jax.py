"""sk_dlsetup.interop.jax_objective (skipped without JAX)."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from sk_dlsetup import check_gradients  # noqa: E402
from sk_dlsetup.interop import jax_objective  # noqa: E402


def _softplus_with(factor):
    @jax.custom_vjp
    def softplus(x):
        return jnp.log1p(jnp.exp(x))

    def forward(x):
        return softplus(x), x

    def backward(x, g):
        return (g * jax.nn.sigmoid(x) * factor,)

    softplus.defvjp(forward, backward)
    return softplus


def _model(softplus):
    def loss(params, X, y):
        hidden = softplus(X @ params["dense1"]["kernel"] + params["dense1"]["bias"])
        hidden = jnp.tanh(
            hidden @ params["dense2"]["kernel"] + params["dense2"]["bias"]
        )
        return jnp.mean((hidden @ params["out"] - y) ** 2)

    rng = np.random.RandomState(0)
    params = {
        "dense1": {"kernel": jnp.asarray(rng.randn(5, 8) * 0.5), "bias": jnp.zeros(8)},
        "dense2": {"kernel": jnp.asarray(rng.randn(8, 4) * 0.5), "bias": jnp.zeros(4)},
        "out": jnp.ones(4),
    }
    return loss, params, jnp.asarray(rng.randn(20, 5)), jnp.ones(20)


def test_blocks_are_named_by_pytree_path():
    loss, params, X, y = _model(_softplus_with(1.0))
    objective = jax_objective(loss, params, X, y)
    names = [name for name, _, _ in objective.blocks]
    assert names == [
        "dense1/bias",
        "dense1/kernel",
        "dense2/bias",
        "dense2/kernel",
        "out",
    ]
    np.testing.assert_array_equal(
        objective.theta0[objective.blocks[1][1]],
        np.asarray(params["dense1"]["kernel"], dtype=np.float64).ravel(),
    )
    nested = jax_objective(
        lambda p: jnp.sum(p[0][1] ** 2) + p[1], [(1.0, jnp.ones(2)), 2.0]
    )
    assert [name for name, _, _ in nested.blocks] == ["0/0", "0/1", "1"]


@pytest.mark.parametrize("method", ["central", "richardson", "complex"])
def test_correct_custom_vjp_passes(method):
    loss, params, X, y = _model(_softplus_with(1.0))
    report = check_gradients(jax_objective(loss, params, X, y), method=method)
    assert report.verdict == "pass"
    if method != "central":
        assert report.difference < 1e-10


def test_wrong_custom_vjp_is_localized_to_its_leaves():
    loss, params, X, y = _model(_softplus_with(1.01))
    report = check_gradients(jax_objective(loss, params, X, y), method="richardson")
    assert report.verdict == "fail"
    verdicts = {row.name: row.verdict for row in report.blocks}
    # The rule sits after dense1: its two leaves are wrong, the rest right.
    assert verdicts["dense1/kernel"] == verdicts["dense1/bias"] == "fail"
    assert {verdicts[n] for n in ("dense2/kernel", "dense2/bias", "out")} == {"pass"}
    assert report["dense1/bias"].ratio == pytest.approx(1.01, rel=1e-6)


def test_gradient_matches_an_independent_reference():
    """jax.grad of a quadratic against its closed form."""
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    objective = jax_objective(
        lambda p: 0.5 * p["x"] @ jnp.asarray(A) @ p["x"], {"x": jnp.array([1.0, -2.0])}
    )
    np.testing.assert_allclose(objective.gradient(objective.theta0), A @ [1.0, -2.0])
    assert objective.loss(objective.theta0) == pytest.approx(0.5 * 2 - 2 * 0.5 + 2.0)


def test_configuration_and_arrays_untouched():
    loss, params, X, y = _model(_softplus_with(1.0))
    x64 = jax.config.jax_enable_x64
    kernel = np.array(params["dense1"]["kernel"])
    objective = jax_objective(loss, params, X, y)
    check_gradients(objective)
    assert jax.config.jax_enable_x64 == x64
    assert params["dense1"]["kernel"].dtype == jnp.asarray(kernel).dtype
    np.testing.assert_array_equal(np.array(params["dense1"]["kernel"]), kernel)
    # float64 inside: the gradient of a float32 model is checked in float64.
    assert objective.gradient(objective.theta0).dtype == np.float64


def test_bad_inputs():
    with pytest.raises(TypeError, match="function"):
        jax_objective("loss", {"w": jnp.ones(2)})
    with pytest.raises(TypeError, match="floating-point"):
        jax_objective(lambda p: 0.0, {"w": jnp.ones(2, dtype=jnp.int32)})
    with pytest.raises(ValueError, match="no leaves"):
        jax_objective(lambda p: 0.0, {})


def test_functions_jit_cannot_trace_still_run():
    def loss(params):
        w = params["w"]
        if float(jnp.sum(w)) > 0:  # Python control flow on a value: not traceable
            return jnp.sum(w**3)
        return jnp.sum(w**2)

    objective = jax_objective(loss, {"w": jnp.array([1.0, 2.0])})
    # jit cannot trace it, so it runs as it is (jax.grad could not either).
    assert objective.loss(objective.theta0) == pytest.approx(9.0)
    assert objective.loss(-objective.theta0) == pytest.approx(5.0)
