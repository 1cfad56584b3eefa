"""
Why normalize inputs: the shape of the cost surface
====================================================

With features on very different scales, the cost :math:`J(w, b)` of even a
linear model is an elongated bowl: gradient descent needs a small learning
rate and crawls along the narrow valley. Subtracting the mean and dividing by
the standard deviation makes the bowl round, so much larger steps go almost
straight to the minimum.

We measure it three ways on a two-feature least-squares problem: the contours
and the gradient-descent paths, the number of steps to converge, and the
largest stable learning rate, which
:func:`~sk_dlsetup.diagnostics.linear_conditioning` predicts from the Hessian.
Finally, the test data is transformed with the *training* statistics.
"""

# %%
# A regression problem with badly scaled features
# -----------------------------------------------
# House prices from the living area (in m², around 120) and the number of
# rooms (around 6): scales two orders of magnitude apart, means far from 0.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sk_dlsetup import InputNormalizer
from sk_dlsetup.diagnostics import linear_conditioning

rng = np.random.RandomState(0)
n_samples = 300
area = rng.normal(120, 30, n_samples)
rooms = rng.normal(4, 1, n_samples) + area / 60
X = np.column_stack([area, rooms])
y = 2.0 * area + 30.0 * rooms + 50.0 + rng.normal(0, 20, n_samples)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

normalizer = InputNormalizer().fit(X_train)  # mu and sigma of the training set
X_train_normalized = normalizer.transform(X_train)
print("training mean:", normalizer.mean_.round(2))
print("training std: ", normalizer.scale_.round(2))

# %%
# Conditioning: what the Hessian predicts
# ---------------------------------------
# The least-squares cost is a quadratic whose Hessian is
# :math:`H = [X, 1]^T [X, 1] / n`. Gradient descent diverges for steps above
# :math:`2 / \lambda_{max}` and needs about :math:`\kappa \log(1/\epsilon) / 2`
# steps, :math:`\kappa = \lambda_{max} / \lambda_{min}` being the condition
# number.
raw = linear_conditioning(X_train)
normalized = linear_conditioning(X_train_normalized)
print(f"{'':32}{'raw':>12}{'normalized':>12}")
for key in ("condition_number", "max_stable_learning_rate", "steps_to_tolerance"):
    print(f"{key:32}{raw[key]:12.3g}{normalized[key]:12.3g}")


# %%
# Gradient descent on both problems
# ---------------------------------
# Plain batch gradient descent from :math:`w = 0, b = 0`, each problem with the
# step :math:`1 / \lambda_{max}`: half its largest stable step, the one at which
# the steepest direction converges without oscillating.
def gradient_descent(X, y, learning_rate, n_steps, tol=1e-6):
    """Path of (w, b) and the number of steps to reach J* (1 + tol)."""
    design = np.column_stack([X, np.ones(len(X))])
    best = np.linalg.lstsq(design, y, rcond=None)[0]
    j_best = np.mean((design @ best - y) ** 2) / 2
    theta, path, converged_at = np.zeros(design.shape[1]), [], None
    for step in range(n_steps):
        path.append(theta.copy())
        residual = design @ theta - y
        if converged_at is None and np.mean(residual**2) / 2 <= j_best * (1 + tol):
            converged_at = step
        theta = theta - learning_rate * design.T @ residual / len(y)
    return np.array(path), converged_at, best


n_steps = 2000
paths, steps, optima = {}, {}, {}
for name, X_fit, report in [
    ("raw", X_train, raw),
    ("normalized", X_train_normalized, normalized),
]:
    rate = report["max_stable_learning_rate"] / 2
    paths[name], steps[name], optima[name] = gradient_descent(
        X_fit, y_train, rate, n_steps
    )
    done = f"{steps[name]} steps" if steps[name] else f"not within {n_steps} steps"
    print(f"{name:>10}: learning rate {rate:.2g}, converged: {done}")


# %%
# The picture: contours of the cost and the paths
# -----------------------------------------------
# Contours of :math:`J` over :math:`(w_1, w_2)`, the intercept at its best
# value for each :math:`(w_1, w_2)`; the paths are gradient descent on all
# three parameters. On raw inputs the bowl is a narrow valley: the path drops
# to the valley floor, then barely moves along it. On normalized inputs the
# contours are nearly circles and the path heads straight for the minimum.
def profile_cost(X, y, w1, w2):
    """J(w1, w2, b*(w1, w2)) on a grid: the best intercept for each w."""
    residual = y - (w1[..., None] * X[:, 0] + w2[..., None] * X[:, 1])
    return residual.var(axis=-1) / 2


fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
for ax, (name, X_fit) in zip(
    axes, [("raw", X_train), ("normalized", X_train_normalized)]
):
    path, best = paths[name], optima[name]
    span = np.abs(best[:2]).max() * 1.6
    w1, w2 = np.meshgrid(
        np.linspace(best[0] - span, best[0] + span, 200),
        np.linspace(best[1] - span, best[1] + span, 200),
    )
    cost = profile_cost(X_fit, y_train, w1, w2)
    levels = np.quantile(cost, np.linspace(0.002, 0.9, 14))
    ax.contour(w1, w2, cost, levels=levels, cmap="viridis", linewidths=0.8)
    ax.plot(path[:, 0], path[:, 1], ".-", color="C3", ms=3, lw=1, label="path")
    ax.plot(*best[:2], "k*", ms=12, label="minimum")
    ax.set_xlabel("$w_1$ (area)")
    ax.set_ylabel("$w_2$ (rooms)")
    done = f"{steps[name]} steps" if steps[name] else f"> {n_steps} steps"
    kappa = linear_conditioning(X_fit)["condition_number"]
    ax.set_title(f"{name} inputs: condition number {kappa:.2g}, {done}")
    ax.legend(loc="lower right")
fig.tight_layout()

# %%
# The largest stable learning rate, measured
# ------------------------------------------
# The cost after 100 steps for a range of learning rates: it falls until the
# step reaches :math:`2 / \lambda_{max}` (dashed), then explodes. Normalizing
# moves that edge up by four orders of magnitude.
fig, ax = plt.subplots(figsize=(7, 4))
for name, X_fit, report in [
    ("raw", X_train, raw),
    ("normalized", X_train_normalized, normalized),
]:
    edge = report["max_stable_learning_rate"]
    rates = np.geomspace(edge / 1e3, edge * 1.5, 40)
    final = []
    for rate in rates:
        with np.errstate(over="ignore", invalid="ignore"):
            path, _, _ = gradient_descent(X_fit, y_train, rate, 100)
            design = np.column_stack([X_fit, np.ones(len(X_fit))])
            cost = np.mean((design @ path[-1] - y_train) ** 2) / 2
        final.append(min(cost, 1e12) if np.isfinite(cost) else 1e12)
    (line,) = ax.loglog(rates, final, "o-", ms=3, label=name)
    ax.axvline(edge, color=line.get_color(), ls="--", lw=1)
ax.set_xlabel("learning rate")
ax.set_ylabel("cost after 100 steps")
ax.set_ylim(top=1e12)
ax.set_title("Gradient descent diverges past 2 / largest eigenvalue (dashed)")
ax.legend()
fig.tight_layout()

# %%
# Test data: the training statistics, never re-estimated
# ------------------------------------------------------
# The model learned on normalized training data expects inputs transformed by
# the *training* mean and standard deviation. Re-estimating them on the data
# to predict silently shifts every input. Take a batch of the 20 largest test
# houses: normalized with its own statistics, it looks like an average batch,
# and so do the predicted prices.
w_normalized = optima["normalized"]


def predict(Z):
    return Z @ w_normalized[:2] + w_normalized[2]


batch = np.argsort(X_test[:, 0])[-20:]
right = predict(normalizer.transform(X_test[batch]))
wrong = predict(InputNormalizer().fit_transform(X_test[batch]))
error_right = np.abs(right - y_test[batch]).mean()
error_wrong = np.abs(wrong - y_test[batch]).mean()
print(f"mean absolute error, training statistics:   {error_right:7.1f}")
print(f"mean absolute error, statistics of the batch: {error_wrong:7.1f}")
plt.show()
