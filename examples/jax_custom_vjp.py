"""
Find the wrong rule in a JAX custom VJP
=======================================

A JAX model with a hand-written ``jax.custom_vjp``: a numerically stable
softplus whose backward rule is off by 1 %. ``jax.test_util.check_grads``
answers pass or fail with a tolerance, along one random direction; it does not
say which leaf of the parameter pytree is wrong.
:func:`~sk_dlsetup.interop.jax_objective` turns the function and its pytree into
an objective with one block per leaf, named by its path, and
:func:`~sk_dlsetup.check_gradients` checks every entry, with Richardson
extrapolation (``method='richardson'``) for a floor near 1e-11 instead of
central differences' 1e-8.

This example needs JAX (``pip install "sk_dlsetup[jax]"``); the documentation
build runs it where JAX is installed and shows its code otherwise.
"""

# %%
# The model
# ---------
# Two dense layers in a Flax-style nested dict; the custom VJP sits between
# them.
import jax
import jax.numpy as jnp
import numpy as np

from sk_dlsetup import check_gradients
from sk_dlsetup.interop import jax_objective


@jax.custom_vjp
def softplus(x):
    return jnp.log1p(jnp.exp(x))


def softplus_forward(x):
    return softplus(x), x


def softplus_backward(x, g):
    return (g * jax.nn.sigmoid(x) * 1.01,)  # the bug: 1 % too large


softplus.defvjp(softplus_forward, softplus_backward)


def loss(params, X, y):
    hidden = softplus(X @ params["dense1"]["kernel"] + params["dense1"]["bias"])
    output = hidden @ params["dense2"]["kernel"] + params["dense2"]["bias"]
    return jnp.mean((output[:, 0] - y) ** 2)


rng = np.random.RandomState(0)
params = {
    "dense1": {"kernel": jnp.asarray(rng.randn(5, 8) * 0.5), "bias": jnp.zeros(8)},
    "dense2": {"kernel": jnp.asarray(rng.randn(8, 1) * 0.5), "bias": jnp.zeros(1)},
}
X, y = jnp.asarray(rng.randn(50, 5)), jnp.asarray(rng.randn(50))

# %%
# The check
# ---------
# Every leaf is a row. The two leaves below the custom rule (``dense1``) fail
# with the ratio 1.01: the gradient flowing back through softplus is 1 % too
# large. The leaves above it (``dense2``) are right to about 1e-11.
report = check_gradients(jax_objective(loss, params, X, y), method="richardson")
print(report)

# %%
# JAX's own check, for comparison: it raises on this model too, with a
# tolerance and one random direction, but names no leaf.
from jax.test_util import check_grads  # noqa: E402

with jax.enable_x64(True):
    params64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
    try:
        check_grads(lambda p: loss(p, X, y), (params64,), order=1, modes=["rev"])
        print("check_grads: passed")
    except AssertionError as error:
        print("check_grads:", str(error).strip().splitlines()[0])

# %%
# The fix: the true derivative of softplus is the sigmoid, without the factor.
# The same check then passes, every leaf within its error bound.
softplus.defvjp(softplus_forward, lambda x, g: (g * jax.nn.sigmoid(x),))
fixed = check_gradients(jax_objective(loss, params, X, y), method="richardson")
print(fixed.verdict, f"{fixed.difference:.1e}")
