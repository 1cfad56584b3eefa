"""InputNormalizer on arrays of other libraries (array_api_dispatch=True).

The reference is scikit-learn's own: its StandardScaler array-API tests, run
with InputNormalizer in StandardScaler's place, and StandardScaler's results.
"""

import contextlib

import numpy as np
import pytest
import sklearn
from _versions import requires_array_api_dispatch
from numpy.testing import assert_allclose
from sklearn.preprocessing import StandardScaler

from sk_dlsetup import InputNormalizer

pytestmark = requires_array_api_dispatch

test_data = pytest.importorskip("sklearn.preprocessing.tests.test_data")
array_api_strict = pytest.importorskip("array_api_strict")

# scikit-learn's tests, collected here with InputNormalizer swapped in below
# (where this scikit-learn has them).
with contextlib.suppress(ImportError):  # an older scikit-learn lacks them
    from sklearn.preprocessing.tests.test_data import (  # noqa: F401
        test_standard_scaler_array_api_compliance,
        test_standard_scaler_sample_weight_array_api,
    )


@pytest.fixture(autouse=True)
def input_normalizer_as_standard_scaler(monkeypatch):
    monkeypatch.setattr(test_data, "StandardScaler", InputNormalizer)


def _strict(array):
    return array_api_strict.asarray(array)


def test_batches_with_nan_stay_in_the_namespace_and_match_standard_scaler():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4) * [1.0, 10.0, 100.0, 1e-3] + [0.0, 5.0, -3.0, 1e6]
    X[rng.rand(*X.shape) < 0.1] = np.nan
    reference = StandardScaler()
    normalizer = InputNormalizer()
    with sklearn.config_context(array_api_dispatch=True):
        for batch in np.array_split(X, 3):
            reference.partial_fit(batch)
            normalizer.partial_fit(_strict(batch))
        Xt = normalizer.transform(_strict(X))
        X_back = normalizer.inverse_transform(Xt)
    # The exact two-pass statistics (StandardScaler's one-pass merge loses
    # digits on the column with a large offset, so it is only the reference
    # for the counts).
    mean, var = np.nanmean(X, axis=0), np.nanvar(X, axis=0)
    expected = {
        "mean_": mean,
        "var_": var,
        "scale_": np.sqrt(var),
        "n_samples_seen_": reference.n_samples_seen_,
    }
    for name, value in expected.items():
        fitted = getattr(normalizer, name)
        assert type(fitted).__module__.startswith("array_api_strict"), name
        assert_allclose(np.asarray(fitted), value, rtol=1e-12)
    assert type(Xt).__module__.startswith("array_api_strict")
    # Transforming is (X - mean_) / scale_ in either namespace; against the
    # exact statistics it agrees to the rounding of mean_ (1e6 * eps) / scale_.
    numpy_fit = InputNormalizer().fit(X)
    assert_allclose(np.asarray(Xt), numpy_fit.transform(X), rtol=1e-12)
    assert_allclose(np.asarray(Xt), (X - mean) / np.sqrt(var), atol=3e-7)
    assert_allclose(np.asarray(X_back), X, rtol=1e-12)


def test_float32_input_gives_float32_output():
    X = np.random.RandomState(0).rand(20, 3).astype(np.float32)
    with sklearn.config_context(array_api_dispatch=True):
        Xt = InputNormalizer().fit_transform(_strict(X))
    assert Xt.dtype == array_api_strict.float32
    assert_allclose(np.asarray(Xt), StandardScaler().fit_transform(X), rtol=1e-5)


def test_transform_in_another_namespace_is_an_error():
    X = np.random.RandomState(0).rand(20, 3)
    with sklearn.config_context(array_api_dispatch=True):
        normalizer = InputNormalizer().fit(_strict(X))
        with pytest.raises(ValueError, match="must use the same namespace"):
            normalizer.transform(X)


def test_without_dispatch_nothing_changes():
    torch = pytest.importorskip("torch")
    X = np.random.RandomState(0).rand(20, 3)
    Xt = InputNormalizer().fit_transform(torch.asarray(X))
    assert isinstance(Xt, np.ndarray)
    assert_allclose(Xt, StandardScaler().fit_transform(X), rtol=1e-12)


@pytest.mark.parametrize(
    "with_mean, with_std", [(False, True), (True, False), (False, False)]
)
def test_with_mean_and_with_std_are_honoured_in_the_namespace(with_mean, with_std):
    """with_mean=False does not center (nor with_std=False scale) on
    array-api-strict arrays: the same numbers as StandardScaler on NumPy, both
    ways (the one transform serves every namespace)."""
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3) * [2.0, 1.0, 0.5] + [7.0, 4.0, 2.0]
    params = dict(with_mean=with_mean, with_std=with_std)
    expected = StandardScaler(**params).fit_transform(X)
    with sklearn.config_context(array_api_dispatch=True):
        normalizer = InputNormalizer(**params)
        Xt = normalizer.fit_transform(_strict(X))
        assert isinstance(Xt, type(_strict(X)))
        back = normalizer.inverse_transform(Xt)
    assert_allclose(np.asarray(Xt), expected, rtol=1e-13)
    assert_allclose(np.asarray(back), X, rtol=1e-13)
