"""
Training out of core: a dataset larger than the memory you allow yourself
=========================================================================

When the training set does not fit in memory, keep it on disk as a
:class:`numpy.memmap` and stream it in chunks: one pass of
:meth:`~sk_dlsetup.InputNormalizer.partial_fit` accumulates the *training* mean
and standard deviation (merged chunk by chunk, numerically stable), then each
epoch of :meth:`~sk_dlsetup.MLPFromScratch.partial_fit` sees every chunk once,
normalized with those statistics. Only one chunk is ever in memory.
"""

# %%
# A dataset on disk
# -----------------
# We write 30,000 x 40 unnormalized features to a memory-mapped file and allow
# ourselves a quarter of its size in memory.
import tempfile
import tracemalloc
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.utils import gen_batches

from sk_dlsetup import InputNormalizer, MLPFromScratch

X_all, y_all = make_classification(
    40_000, 40, n_informative=10, n_classes=3, random_state=0
)
X_all = X_all * 50 + 1000  # features far from zero mean / unit variance
n_test = 10_000
workdir = Path(tempfile.mkdtemp())
path = workdir / "train.float64"
train = np.memmap(path, dtype=np.float64, mode="w+", shape=(30_000, 40))
train[:] = X_all[n_test:]
train.flush()
y_train, X_test, y_test = y_all[n_test:], X_all[:n_test], y_all[:n_test]
del train, X_all

budget = 30_000 * 40 * 8 // 4
print(f"data on disk: {path.stat().st_size / 2**20:.1f} MiB")
print(f"memory budget: {budget / 2**20:.1f} MiB")

# %%
# Stream it: statistics first, then epochs over chunks
# ----------------------------------------------------
chunk_rows = 1_000
classes = np.unique(y_train)
tracemalloc.start()
X_disk = np.memmap(path, dtype=np.float64, mode="r", shape=(30_000, 40))
normalizer = InputNormalizer()
for rows in gen_batches(len(X_disk), chunk_rows):
    normalizer.partial_fit(X_disk[rows])

model = MLPFromScratch((64,), init="he", learning_rate_init=0.01, random_state=0)
peak, test_accuracy = 0, []
for _ in range(4):
    for rows in gen_batches(len(X_disk), chunk_rows):
        X_chunk = normalizer.transform(X_disk[rows])
        model.partial_fit(X_chunk, y_train[rows], classes=classes)
    peak = max(peak, tracemalloc.get_traced_memory()[1])
    # Evaluation is outside the budget: the test set is held in memory.
    test_accuracy.append(model.score(normalizer.transform(X_test), y_test))
    tracemalloc.reset_peak()
tracemalloc.stop()
print(f"peak memory allocated while training: {peak / 2**20:.1f} MiB")
print(f"test accuracy per epoch: {np.round(test_accuracy, 3)}")
assert peak < budget

# %%
# What to look at: the test accuracy rises epoch after epoch although no epoch
# ever held more than one chunk in memory (the peak printed above). The test set
# is transformed with the *training* statistics, never its own.
fig, ax = plt.subplots(figsize=(5, 3))
epochs = np.arange(1, len(test_accuracy) + 1)
ax.plot(epochs, test_accuracy, marker="o")
ax.set_xticks(epochs)  # whole epochs only
ax.set_xlabel("epoch over the memmap")
ax.set_ylabel("test accuracy")
ax.set_title("MLPFromScratch trained chunk by chunk")
fig.tight_layout()
plt.show()
