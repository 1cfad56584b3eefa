"""
Vanishing and exploding signals: He, Xavier and small random initialization
===========================================================================

In a deep network the signal is multiplied by a weight matrix at every layer,
so its scale changes geometrically with depth: it vanishes when the weights
are too small and explodes when they are too large, and the gradients follow.
Choosing ``Var(W) = c / n_in`` keeps the scale: :math:`c = 2` for ReLU (He),
:math:`c = 1` for tanh (Xavier). The lecture's "small random numbers"
(:math:`0.01 \\cdot \\mathcal{N}(0, 1)`, whatever the fan-in) work for shallow
networks only.

We look at a 30-hidden-layer network at initialization with
:func:`~sk_dlsetup.diagnostics.layer_statistics` and
:class:`~sk_dlsetup.diagnostics.LayerStatisticsDisplay`, and then at what the
initialization does to training.
"""

# %%
# The linear picture: 1.5 I and 0.5 I
# -----------------------------------
# With identity activations the network computes
# :math:`\hat y = W^{[L]} \cdots W^{[1]} x`. Weights a little larger than the
# identity make the activations grow like :math:`1.5^l`; a little smaller,
# shrink like :math:`0.5^l`. ``init`` accepts any callable
# ``init(fan_in, fan_out, rng)``.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sk_dlsetup import InputNormalizer, MLPFromScratch
from sk_dlsetup.diagnostics import (
    LayerHistoryDisplay,
    LayerStatisticsDisplay,
    layer_statistics,
)

X, y = make_classification(400, 32, n_informative=8, random_state=0)
X = InputNormalizer().fit_transform(X)
depth, width = 30, 32


def scaled_identity(scale):
    def init(fan_in, fan_out, rng):
        return scale * np.eye(fan_in, fan_out)

    return init


fig, ax = plt.subplots(figsize=(7, 4))
for scale in (1.5, 1.0, 0.5):
    linear = MLPFromScratch(
        (width,) * depth, activation="identity", init=scaled_identity(scale)
    ).initialize(X, y)
    LayerStatisticsDisplay.from_estimator(
        linear, X, statistics="preactivation_std", name=f"W = {scale} I", ax=ax
    )
ax.set_title("A linear network: the signal scales like 1.5^l, 1^l, 0.5^l")
fig.tight_layout()

# %%
# Signal and gradient per layer at initialization
# -----------------------------------------------
# The same 30 hidden layers of 32 units, with ReLU and with tanh, under the
# three schemes. Top: the standard deviation of each layer's activations on
# the data. Bottom: the norm of each layer's weight gradient.
inits = ("he", "xavier", "random")
activations = ("relu", "tanh")
networks = {
    (activation, init): MLPFromScratch(
        (width,) * depth, activation=activation, init=init, random_state=0
    )
    for activation in activations
    for init in inits
}

fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
for column, activation in enumerate(activations):
    for init in inits:
        net = networks[activation, init]
        display = LayerStatisticsDisplay.from_estimator(
            net.initialize(X, y),
            X,
            y,
            statistics="activation_std",
            name=init,
            ax=axes[0, column],
        )
        display.plot(ax=axes[1, column], statistics="dW_norm", name=init)
    axes[0, column].set_title(f"{activation}: activation scale per layer")
    axes[1, column].set_title(f"{activation}: gradient norm per layer")
fig.suptitle(f"At initialization, {depth} hidden layers: he, xavier, random")
fig.tight_layout()

# %%
# The numbers behind the picture, for layers 1, 10, 20 and 30:
print(f"{'':16}std of A[l] at l = 1, 10, 20, 30")
for (activation, init), net in networks.items():
    stats = layer_statistics(net, X)
    scales = "  ".join(
        f"{stats[layer - 1]['activation_std']:8.1e}" for layer in (1, 10, 20, 30)
    )
    print(f"{activation:>5} {init:>8}:  {scales}")

# %%
# - ReLU halves the variance (half the units are 0), so it needs
#   :math:`c = 2`: He keeps the scale, Xavier loses a factor
#   :math:`\sqrt 2` per layer (about :math:`3 \cdot 10^{-5}` after 30 layers).
# - tanh has slope 1 around 0, so Xavier's :math:`c = 1` keeps the scale
#   (slowly shrinking, as tanh compresses large values); He's :math:`c = 2`
#   keeps it too, with more units near saturation.
# - Small random weights shrink the signal by about
#   :math:`0.01 \sqrt{32} \approx 0.06` per layer: after 30 layers nothing
#   is left, and every gradient is tiny.
#
# What it does to training
# ------------------------
# The same networks trained for up to 30 epochs with Adam. Where the signal
# vanished (ReLU with Xavier or small random weights, tanh with small random
# weights) the loss stays at :math:`\log 2` and training stops early for lack
# of improvement; where the scale was kept, the network learns.
# ``record_layer_stats=True`` keeps every layer's gradient norm per epoch,
# for the next plot.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
# Curves that coincide (stuck at log 2) stay visible: each init its own line
# style, the wider ones drawn first.
styles = {"he": ("-", 2.0), "xavier": ("--", 3.5), "random": (":", 2.0)}
for ax, activation in zip(axes, activations):
    for init in inits:
        net = networks[activation, init].set_params(
            max_iter=30, record_layer_stats=True
        )
        with warnings.catch_warnings():  # 30 epochs is short on purpose
            warnings.simplefilter("ignore", ConvergenceWarning)
            net.fit(X, y)
        linestyle, width = styles[init]
        ax.plot(
            net.loss_curve_,
            linestyle=linestyle,
            linewidth=width,
            label=f"{init}: accuracy {net.score(X, y):.2f}",
        )
    ax.set_title(f"{activation}, {depth} hidden layers")
    ax.set_xlabel("epoch")
    ax.set_yscale("log")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize="small")
axes[0].set_ylabel("training loss")
fig.suptitle("Training loss: only the inits that kept the signal's scale learn")
fig.tight_layout()

# %%
# Watching the gradients while it trains
# --------------------------------------
# ``layer_stats_`` holds, per epoch (rows) and layer (columns), the mean
# mini-batch gradient norms ``dW_norm`` and ``db_norm`` and the weight norm
# ``W_norm``. Compare the first layer's gradient (solid), the last one
# backpropagation reaches, with the output layer's (dotted, layer 31). Where the
# initialization kept the scale they are of the same order from the first
# epoch, and the first layer's grows as the network learns. Where the signal
# vanished, the first layer's stays flat and orders of magnitude smaller for
# the whole run: with small random weights it is only the L2 penalty's pull,
# ``alpha * W`` over the batch size; no data gradient reaches the early layers.
# :class:`~sk_dlsetup.diagnostics.LayerHistoryDisplay` draws them, one line
# per chosen layer.
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, activation in zip(axes, activations):
    for init, color in zip(inits, ["C0", "C1", "C2"]):
        net = networks[activation, init]
        LayerHistoryDisplay.from_estimator(net, layers=1, name=init, ax=ax, color=color)
        LayerHistoryDisplay.from_estimator(
            net, layers=depth + 1, name=init, ax=ax, color=color, linestyle=":"
        )
    ax.set_title(f"{activation}: gradient norm during training")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize="small")
axes[0].set_ylabel("mean mini-batch ||dW[l]||")
axes[1].set_ylabel("")
fig.suptitle("First layer (solid) against output layer (dotted), per epoch")
fig.tight_layout()

# %%
# Every layer at once
# -------------------
# Drawn without a colour of its own, the display colours each layer by its
# depth (the colour bar): all 31 layers of the ReLU network, under He and
# under Xavier. Under He the layers' gradients stay within a narrow band;
# under Xavier the early layers (dark) sit below the late ones (light), the
# signal's shrinking with depth seen from the gradient side.
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, init in zip(axes, ("he", "xavier")):
    LayerHistoryDisplay.from_estimator(networks["relu", init], name=init, ax=ax)
fig.suptitle("ReLU: every layer's gradient norm per epoch, coloured by depth")
fig.tight_layout()

print(f"{'':16}||dW[1]||, ||dW[L]|| in the first epoch;  in the last")
for (activation, init), net in networks.items():
    dW_norm = net.layer_stats_["dW_norm"]
    first, last = dW_norm[0, [0, -1]], dW_norm[-1, [0, -1]]
    print(
        f"{activation:>5} {init:>8}:  {first[0]:8.1e} {first[1]:8.1e};"
        f"  {last[0]:8.1e} {last[1]:8.1e}"
    )
plt.show()
