"""
Text features: a sparse X straight into the network
===================================================

Text turned into features (``HashingVectorizer``, ``TfidfVectorizer``) gives a
sparse matrix with many columns and few non-zeros per row. Densifying it would
cost ``n_samples x n_features`` floats; :class:`~sk_dlsetup.MLPFromScratch`
takes it as it is (CSR or CSC), as scikit-learn's MLP does: the first layer is
a sparse-dense product, and its gradient ``X.T @ delta`` too. The numbers are
those of the dense fit, to floating-point accuracy.
"""

# %%
# Generated documents
# -------------------
# Two topics, each with its own vocabulary plus shared filler words; every
# document draws 12 words.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sk_dlsetup import InputNormalizer, MLPFromScratch

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # short demo fits
rng = np.random.RandomState(0)
topics = {
    "sport": [
        "match",
        "goal",
        "team",
        "score",
        "league",
        "coach",
        "player",
        "season",
        "win",
        "cup",
    ],
    "cooking": [
        "recipe",
        "oven",
        "flour",
        "butter",
        "sauce",
        "taste",
        "bake",
        "salt",
        "pan",
        "dish",
    ],
}
filler = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "on",
    "with",
    "it",
    "this",
    "that",
    "day",
]
documents, labels = [], []
for label, words in topics.items():
    for _ in range(300):
        mix = rng.choice(words, 5).tolist() + rng.choice(filler, 7).tolist()
        rng.shuffle(mix)
        documents.append(" ".join(mix))
        labels.append(label)
labels = np.array(labels)
docs_train, docs_test, y_train, y_test = train_test_split(
    documents, labels, random_state=0, stratify=labels
)
vectorizer = HashingVectorizer(n_features=2**16)
X_train = vectorizer.transform(docs_train)
print(
    f"X: {X_train.shape[0]} x {X_train.shape[1]} {X_train.format}, "
    f"{X_train.nnz} stored values; dense it would hold "
    f"{X_train.shape[0] * X_train.shape[1] * 8 / 2**20:.0f} MiB, sparse it holds "
    f"{(X_train.data.nbytes + X_train.indices.nbytes) / 2**20:.2f} MiB"
)

# %%
# A pipeline on the sparse features
# ---------------------------------
# ``InputNormalizer(with_mean=False)`` scales the columns without centering
# them (centering would fill in every zero), as StandardScaler does.
model = make_pipeline(
    HashingVectorizer(n_features=2**16),
    InputNormalizer(with_mean=False),
    MLPFromScratch((16,), max_iter=30, random_state=0),
).fit(docs_train, y_train)
accuracy = model.score(docs_test, y_test)
print(f"held-out accuracy: {accuracy:.3f}")

# %%
# The same numbers as the dense fit
# ---------------------------------
# On a slice small enough to densify, the sparse and the dense fits end at the
# same weights, to floating-point accuracy.
X_small = X_train[:200, :2000]
y_small = y_train[:200]
params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
from_sparse = MLPFromScratch(**params).fit(X_small, y_small)
from_dense = MLPFromScratch(**params).fit(X_small.toarray(), y_small)
weight_gap = max(
    float(np.max(np.abs(a - b))) for a, b in zip(from_sparse.coefs_, from_dense.coefs_)
)
print(f"largest weight difference, sparse vs dense fit: {weight_gap:.1e}")
assert sparse.issparse(X_small)

# %%
# The training loss per epoch. What to look at: it falls steadily on features
# that were never densified, and the sparse fit's weights equal the dense
# fit's to round-off (printed above): sparsity changes the memory, not the
# result.
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(np.arange(1, model[-1].n_iter_ + 1), model[-1].loss_curve_, marker="o")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_yscale("log")
ax.set_title(f"Sparse text features, held-out accuracy {accuracy:.2f}")
fig.tight_layout()
