"""Scale: bounded memory, out-of-core training, searches beyond one process."""

import tracemalloc

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import gen_batches

from sk_dlsetup import InputNormalizer, MLPFromScratch
from sk_dlsetup.diagnostics import layer_statistics


def _peak_bytes(function):
    """Peak bytes numpy allocates while ``function`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        result = function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.fixture(scope="module")
def wide_model():
    X, y = make_classification(8_000, 10, n_classes=3, n_informative=5, random_state=0)
    model = MLPFromScratch((512,), random_state=0).initialize(X, y)
    return model, X, y


def test_predict_proba_memory_is_bounded_by_working_memory(wide_model):
    """predict_proba never holds the full hidden layer (8,000 x 512) at once.

    Chunks are GEMMs of other shapes, which OpenBLAS may block and sum
    differently (it does on AVX-512 kernels): equal to round-off, not bit-equal.
    """
    model, X, _ = wide_model
    full_hidden_bytes = X.shape[0] * 512 * 8
    with sklearn.config_context(working_memory=1):
        proba, peak = _peak_bytes(lambda: model.predict_proba(X))
    with sklearn.config_context(working_memory=1024):
        reference = model.predict_proba(X)
    np.testing.assert_allclose(proba, reference, rtol=1e-12, atol=1e-15)
    assert peak < full_hidden_bytes / 4, (peak, full_hidden_bytes)


def test_layer_statistics_memory_is_bounded_by_working_memory(wide_model):
    """layer_statistics (with gradients) streams X through the network in chunks."""
    model, X, y = wide_model
    full_hidden_bytes = X.shape[0] * 512 * 8
    with sklearn.config_context(working_memory=1):
        stats, peak = _peak_bytes(lambda: layer_statistics(model, X, y))
    with sklearn.config_context(working_memory=1024):
        reference = layer_statistics(model, X, y)
    for row, expected in zip(stats, reference):
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-15), key
    assert peak < full_hidden_bytes / 4, (peak, full_hidden_bytes)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_holds_one_copy_of_the_encoded_targets():
    """Training allocates the one-hot targets once, not int64 then float64 too."""
    n_samples, n_classes = 40_000, 50
    X = np.random.RandomState(0).standard_normal((n_samples, 2))
    y = np.arange(n_samples) % n_classes
    targets_bytes = n_samples * n_classes * 8
    model = MLPFromScratch((4,), max_iter=1, batch_size=1000, random_state=0)
    _, peak = _peak_bytes(lambda: model.fit(X, y))
    # One float64 copy of the targets plus small change: the data, a batch,
    # the weights. Casting LabelBinarizer's int64 output would need two.
    assert peak < 1.3 * targets_bytes, (peak, targets_bytes)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_out_of_core_training_from_memmap(tmp_path):
    """InputNormalizer then MLPFromScratch partial_fit over chunks of a memmap.

    The file is larger than the memory the training may allocate; the
    normalizer's statistics equal StandardScaler's on the whole data, and the
    streamed model learns the task.
    """
    n_samples, n_features, chunk_rows = 60_000, 40, 2_000
    X_full, y_full = make_classification(
        n_samples, n_features, n_informative=10, n_classes=3, random_state=0
    )
    X_full = X_full * 50 + 1000  # unnormalized on purpose
    path = tmp_path / "X.float64"
    X_map = np.memmap(path, dtype=np.float64, mode="w+", shape=X_full.shape)
    X_map[:] = X_full
    X_map.flush()
    del X_map
    data_bytes = X_full.nbytes
    budget = data_bytes // 4

    def stream():
        X = np.memmap(path, dtype=np.float64, mode="r", shape=X_full.shape)
        normalizer = InputNormalizer()
        for rows in gen_batches(n_samples, chunk_rows):
            normalizer.partial_fit(X[rows])
        model = MLPFromScratch((32,), random_state=0, learning_rate_init=0.01)
        classes = np.unique(y_full)
        for _ in range(3):
            for rows in gen_batches(n_samples, chunk_rows):
                model.partial_fit(
                    normalizer.transform(X[rows]), y_full[rows], classes=classes
                )
        return normalizer, model

    (normalizer, model), peak = _peak_bytes(stream)
    assert peak < budget, (peak, budget)
    reference = StandardScaler().fit(X_full)
    np.testing.assert_allclose(normalizer.mean_, reference.mean_, rtol=1e-12)
    np.testing.assert_allclose(normalizer.var_, reference.var_, rtol=1e-9)
    accuracy = model.score(reference.transform(X_full[:5000]), y_full[:5000])
    assert accuracy > 0.8


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_grid_search_on_dask_local_cluster_matches_loky():
    """GridSearchCV over init schemes on a dask LocalCluster equals the loky run."""
    distributed = pytest.importorskip("distributed")
    X, y = make_classification(300, 8, random_state=0)
    pipe = make_pipeline(
        InputNormalizer(), MLPFromScratch((8,), max_iter=5, random_state=0)
    )
    grid = {"mlpfromscratch__init": ["he", "xavier", "random"]}
    search = dict(cv=3, scoring="neg_log_loss")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        on_dask = GridSearchCV(pipe, grid, **search).fit(X, y)
    on_loky = GridSearchCV(pipe, grid, n_jobs=2, **search).fit(X, y)
    # Threads against processes: other BLAS thread counts, so round-off may differ.
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"],
        on_loky.cv_results_["mean_test_score"],
        rtol=1e-9,
    )
    assert on_dask.best_params_ == on_loky.best_params_
