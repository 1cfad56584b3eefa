"""
Watch it learn: a progress bar and a score per epoch
====================================================

scikit-learn >= 1.9 has callbacks (``sklearn.callback``): objects set on an
estimator with ``set_callbacks`` that hear about each step of its fit.
:class:`~sk_dlsetup.MLPFromScratch` reports every epoch as a step (every
iteration with ``solver='lbfgs'``), so a ``ProgressBar`` counts epochs and a
``ScoringMonitor`` scores the model as it was at the end of each one. Set on a
Pipeline or a GridSearchCV, they follow into the network's fit, as for
scikit-learn's own estimators. ``ProgressBar`` needs ``rich``
(``pip install ".[progress]"``).
"""

# %%
# A progress bar over the epochs
# ------------------------------
# Digits (1,797 images of 8 x 8 pixels), normalized, into a network of two
# hidden layers. The bar shows the Pipeline, and below it the network's epochs.
import warnings

import matplotlib.pyplot as plt
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sk_dlsetup import InputNormalizer, MLPFromScratch

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # short demo fits
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)


def network(init, depth=2):
    return MLPFromScratch(
        hidden_layer_sizes=(64,) * depth,
        init=init,
        learning_rate_init=1e-3,
        max_iter=30,
        tol=0,
        random_state=0,
    )


model = make_pipeline(InputNormalizer(), network("he"))
model.set_callbacks(ProgressBar()).fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
print(f"\ntest accuracy after {model[-1].n_iter_} epochs: {accuracy:.3f}")

# %%
# A score per epoch
# -----------------
# ``ScoringMonitor`` scores the model at the end of every epoch, on the data
# the fit was given (here the normalized training set), and keeps one log per
# fit. It is not passed down from a Pipeline, so it goes on the network. Two
# initializations of a network eight ReLU layers deep: with He's scale the
# signal keeps its size through the layers and the accuracy climbs within a
# few epochs; with a small random init ('random', 0.01 * N(0, 1)) the signal
# shrinks about 18-fold per layer (a factor 0.01 * sqrt(64 / 2) = 0.057), the
# gradients with it, and the accuracy
# stays at chance (one digit in ten) for all 30 epochs.
fig, ax = plt.subplots(figsize=(6, 3.6))
for init, colour in (("he", "tab:blue"), ("random", "tab:red")):
    monitor = ScoringMonitor(scoring="accuracy")
    deep = network(init, depth=8).set_callbacks(monitor)
    make_pipeline(InputNormalizer(), deep).fit(X_train, y_train)
    rows = [
        row
        for row in monitor.get_logs().data
        if row["estimator_name"] == "MLPFromScratch" and row["task_name"] == "epoch"
    ]
    epochs = [row["task_id"] + 1 for row in rows]
    scores = [row["accuracy"] for row in rows]
    ax.plot(epochs, scores, color=colour, label=init)
    print(f"{init:>6}: training accuracy {scores[9]:.3f} after 10 epochs, ", end="")
    print(f"{scores[-1]:.3f} after {epochs[-1]}")
ax.axhline(0.1, color="grey", linestyle=":", label="chance")
ax.set_xlabel("epoch")
ax.set_ylabel("training accuracy")
ax.set_title("ScoringMonitor: 8 ReLU layers, accuracy after each epoch")
ax.set_ylim(0, 1.02)
ax.legend(loc="center right")
fig.tight_layout()
plt.show()
