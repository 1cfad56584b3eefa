"""Tests of InputNormalizer, with scikit-learn's StandardScaler as the reference."""

import contextlib
import math
import warnings

import numpy as np
import pytest
from _versions import skip_unless_sklearn_1_7
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn import config_context
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

# StandardScaler's own constant-feature criterion, the reference for ours.
from sklearn.preprocessing._data import _is_constant_feature

import sk_dlsetup.preprocessing._moments as moments_module
from sk_dlsetup import InputNormalizer

EPS = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
OPTIONS = [
    {},
    {"with_mean": False},
    {"with_std": False},
    {"with_mean": False, "with_std": False},
]
SETTINGS = settings(max_examples=50, deadline=None)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


@contextlib.contextmanager
def block_elements(n):
    """Temporarily process dense data in blocks of about ``n`` values."""
    saved = moments_module._BLOCK_ELEMENTS
    moments_module._BLOCK_ELEMENTS = saved if n is None else n
    try:
        yield
    finally:
        moments_module._BLOCK_ELEMENTS = saved


def reference(method, *args, **kwargs):
    """Call a StandardScaler method, silencing its warnings on all-NaN columns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return method(*args, **kwargs)


def ours(method, *args, **kwargs):
    """Call an InputNormalizer method, turning any warning into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return method(*args, **kwargs)


def dense(X):
    return np.asarray(X.toarray() if sparse.issparse(X) else X, dtype=np.float64)


def tolerances(X, *, batches=1, float32_stats=False):
    """Per-feature absolute tolerances on mean_ and var_ of ours vs StandardScaler.

    Both compute in float64 from the same values and differ by rounding only:
    the column sums (about ``n * eps * max|x|``) and, across ``batches``, the
    difference of the batch means (about ``eps * max|x| * spread`` each).
    ``float32_stats`` adds float32 rounding for StandardScaler's paths that
    keep float32 intermediates (sparse float32 input; the weight sum in
    float32 weighted partial_fit).
    """
    x = dense(X)
    n = x.shape[0]
    nan = np.isnan(x)
    amax = np.where(nan, 0.0, np.abs(x)).max(axis=0)
    spread = np.where(nan, -np.inf, x).max(axis=0) - np.where(nan, np.inf, x).min(
        axis=0
    )
    spread = np.where(np.isfinite(spread), spread, 0.0)
    mean_tol = 4 * n * EPS * amax
    var_tol = 4 * n * EPS * spread**2 + 8 * batches * EPS * amax * spread + mean_tol**2
    if float32_stats:
        mean_tol = mean_tol + 4 * EPS32 * amax
        var_tol = var_tol + 8 * batches * EPS32 * (amax * spread + spread**2)
    return mean_tol, var_tol, amax


def assert_close(actual, desired, atol, name):
    """Same NaNs, and elementwise ``|actual - desired| <= atol`` elsewhere."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert_array_equal(np.isnan(actual), np.isnan(desired), err_msg=name)
    ok = ~np.isnan(desired)
    error = np.abs(actual - desired)[ok]
    bound = (np.broadcast_to(atol, desired.shape) + 4 * EPS * np.abs(desired))[ok]
    assert np.all(error <= bound), (name, actual, desired, error, bound)


def assert_matches(est, ref, X, *, weights=None, batches=1, float32_stats=False):
    """Every fitted attribute of ``est`` equals StandardScaler ``ref``'s."""
    mean_tol, var_tol, amax = tolerances(
        X, batches=batches, float32_stats=float32_stats
    )
    for name in ("mean_", "var_", "scale_"):
        assert (getattr(est, name) is None) == (getattr(ref, name) is None), name
    assert (est.constant_features_ is None) == (ref.scale_ is None)
    assert est.n_features_in_ == ref.n_features_in_

    n, n_ref = est.n_samples_seen_, ref.n_samples_seen_
    if weights is not None and ref.mean_ is None and not sparse.issparse(X):
        # Dense StandardScaler(with_mean=False, with_std=False) counts samples
        # and ignores the weights (unlike its sparse path and its
        # documentation); ours sums the weights in both cases.
        w = weights.astype(X.dtype).astype(np.float64)
        n_ref = np.array([math.fsum(w[~np.isnan(col)]) for col in X.T])
        n_ref = n_ref[0] if n_ref.min() == n_ref.max() else n_ref
    assert np.shape(n) == np.shape(n_ref)
    if weights is None:
        assert np.asarray(n).dtype.kind == "i"
        assert_array_equal(n, n_ref)
    else:
        assert np.asarray(n).dtype.kind == "f"
        assert_allclose(n, n_ref, rtol=1e-6 if float32_stats else 1e-12)

    if ref.mean_ is not None:
        assert est.mean_.dtype == np.float64
        assert_close(est.mean_, ref.mean_, mean_tol, "mean_")
    scale_tol = None
    if ref.var_ is not None:
        assert est.var_.dtype == est.scale_.dtype == np.float64
        assert_close(est.var_, ref.var_, var_tol, "var_")
        scale_ref = np.where(np.isnan(ref.scale_), 1.0, ref.scale_)
        scale_tol = np.minimum(var_tol / scale_ref, np.sqrt(var_tol))
        assert_close(est.scale_, ref.scale_, scale_tol, "scale_")
        expected = _is_constant_feature(ref.var_, ref.mean_, ref.n_samples_seen_)
        assert_array_equal(est.constant_features_, expected)
        assert_array_equal(
            est.constant_features_,
            _is_constant_feature(est.var_, est.mean_, est.n_samples_seen_),
        )
        assert np.all(est.scale_[est.constant_features_] == 1.0)
    return mean_tol, scale_tol, amax


def assert_transforms_match(est, ref, X, mean_tol, scale_tol, amax):
    """transform, inverse_transform and their round trip agree with ``ref``."""
    dtype = X.dtype
    eps = np.finfo(dtype).eps
    out = ours(est.transform, X)
    out_ref = reference(ref.transform, X)
    assert out.dtype == out_ref.dtype == dtype
    assert sparse.issparse(out) == sparse.issparse(out_ref)
    if sparse.issparse(out):
        assert out.format == out_ref.format == "csr"
    out, out_ref = dense(out), dense(out_ref)

    with_mean = ref.mean_ is not None and est.with_mean
    mean_abs = np.nan_to_num(np.abs(ref.mean_)) if with_mean else 0.0
    m_tol = np.nan_to_num(mean_tol) if with_mean else 0.0
    if scale_tol is None:
        s, s_tol = 1.0, 0.0
    else:
        s, s_tol = np.nan_to_num(ref.scale_, nan=1.0), scale_tol
    tol = (m_tol + 2 * eps * (amax + mean_abs)) / s + np.abs(np.nan_to_num(out_ref)) * (
        s_tol / s + 4 * eps
    )
    assert_close(out, out_ref, tol, "transform")

    Z = out_ref.astype(dtype)
    if sparse.issparse(X):
        Z = sparse.csr_matrix(Z)
    back = dense(ours(est.inverse_transform, Z))
    back_ref = dense(reference(ref.inverse_transform, Z))
    tol = np.abs(np.nan_to_num(dense(Z))) * (s_tol + 2 * eps * s) + m_tol
    assert_close(back, back_ref, tol + 4 * eps * (amax + mean_abs), "inverse")

    round_trip = dense(ours(est.inverse_transform, ours(est.transform, X)))
    tol = 8 * eps * (amax + mean_abs) + 8 * eps * np.abs(np.nan_to_num(dense(X)))
    assert_close(round_trip, dense(X), tol, "round trip")


def split_points(draw, n_rows, max_batches=5):
    """Sorted distinct cut points in (0, n_rows) for partial_fit batches."""
    if n_rows < 2:
        return []
    cuts = draw(
        st.lists(st.integers(1, n_rows - 1), max_size=max_batches - 1, unique=True)
    )
    return sorted(cuts)


@st.composite
def dense_problems(draw, max_rows=40, max_cols=5, batches=False):
    """Dense data with varied offsets, spreads, constant columns and NaNs."""
    n_rows = draw(st.integers(1, max_rows))
    n_cols = draw(st.integers(1, max_cols))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    kinds = draw(
        st.lists(
            st.sampled_from(["normal", "offset", "constant", "tiny"]),
            min_size=n_cols,
            max_size=n_cols,
        )
    )
    nan_fraction = draw(st.sampled_from([0.0, 0.0, 0.1, 0.4]))
    weighted = draw(st.booleans())
    cuts = split_points(draw, n_rows) if batches else []
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    columns = []
    for kind in kinds:
        if kind == "normal":
            loc, scale = rng.uniform(-100, 100), 10 ** rng.uniform(-2, 3)
        elif kind == "offset":  # around 1e8 with a small spread
            loc = rng.choice([-1.0, 1.0]) * 1e8 * rng.uniform(1, 2)
            scale = 10 ** rng.uniform(-3, 1)
        elif kind == "constant":
            loc, scale = rng.uniform(-1e3, 1e3), 0.0
        else:  # tiny values around zero
            loc, scale = 0.0, 10 ** rng.uniform(-8, -4)
        columns.append(loc + scale * rng.standard_normal(n_rows))
    X = np.column_stack(columns).astype(dtype)
    if nan_fraction:
        nan = rng.random(X.shape) < nan_fraction
        if batches:  # every batch keeps a value in every feature
            nan[[0, *cuts]] = False
        X[nan] = np.nan
    weights = rng.uniform(0.1, 3.0, n_rows) if weighted else None
    return X, weights, cuts


def batches_of(X, weights, cuts):
    """(X, sample_weight) batches cut at ``cuts``."""
    bounds = [0, *cuts, X.shape[0]]
    for start, stop in zip(bounds[:-1], bounds[1:]):
        w = None if weights is None else weights[start:stop]
        yield X[start:stop], w


def partial_fit_both(est, ref, X, weights, cuts):
    """Feed the same batches to our normalizer and scikit-learn's scaler."""
    for X_batch, w_batch in batches_of(X, weights, cuts):
        ours(est.partial_fit, X_batch, sample_weight=w_batch)
        reference(ref.partial_fit, X_batch, sample_weight=w_batch)


def layout(X, kind):
    """X as C-ordered, Fortran-ordered or non-contiguous array."""
    if kind == "F":
        return np.asfortranarray(X)
    if kind == "strided":
        return np.repeat(X, 2, axis=1)[:, ::2]
    return X


# --------------------------------------------------------------------------
# Property-based comparisons with StandardScaler
# --------------------------------------------------------------------------


@SETTINGS
@given(
    problem=dense_problems(),
    options=st.sampled_from(OPTIONS),
    memory_layout=st.sampled_from(["C", "F", "strided"]),
    block=st.sampled_from([None, 1, 7, 24]),
)
def test_input_normalizer_fit_matches_standard_scaler(
    problem, options, memory_layout, block
):
    """fit gives StandardScaler's attributes, transform and inverse_transform."""
    X, weights, _ = problem
    X = layout(X, memory_layout)
    with block_elements(block):
        est = ours(InputNormalizer(**options).fit, X, sample_weight=weights)
        ref = reference(StandardScaler(**options).fit, X, sample_weight=weights)
        tols = assert_matches(est, ref, X, weights=weights)
        assert_transforms_match(est, ref, X, *tols)


@SETTINGS
@given(
    problem=dense_problems(batches=True),
    options=st.sampled_from(OPTIONS),
    block=st.sampled_from([None, 5]),
)
def test_input_normalizer_partial_fit_matches_standard_scaler(problem, options, block):
    """Any sequence of partial_fit batches gives StandardScaler's numbers."""
    X, weights, cuts = problem
    est, ref = InputNormalizer(**options), StandardScaler(**options)
    with block_elements(block):
        partial_fit_both(est, ref, X, weights, cuts)
        tols = assert_matches(
            est,
            ref,
            X,
            weights=weights,
            batches=len(cuts) + 1,
            float32_stats=weights is not None and X.dtype == np.float32,
        )
        assert_transforms_match(est, ref, X, *tols)


@SETTINGS
@given(
    n_rows=st.integers(2, 200),
    offset_sign=st.sampled_from([-1.0, 1.0]),
    log_spread=st.floats(-3, 2),
    weighted=st.booleans(),
    data=st.data(),
)
def test_input_normalizer_partial_fit_exact_with_large_offset(
    n_rows, offset_sign, log_spread, weighted, data
):
    """Values ~1e8 with a small spread: mean_/var_ exact to ~1e-12 for any batches."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    X = offset_sign * 1e8 + 10**log_spread * rng.standard_normal((n_rows, 3))
    weights = rng.uniform(0.1, 3.0, n_rows) if weighted else None
    cuts = split_points(data.draw, n_rows, max_batches=8)

    w = np.ones(n_rows) if weights is None else weights
    Xl, wl = X.astype(np.longdouble), w.astype(np.longdouble)[:, None]
    exact_mean = (wl * Xl).sum(axis=0) / wl.sum()
    exact_var = (wl * (Xl - exact_mean) ** 2).sum(axis=0) / wl.sum()

    est = InputNormalizer()
    for X_batch, w_batch in batches_of(X, weights, cuts):
        est.partial_fit(X_batch, sample_weight=w_batch)
    assert_allclose(est.mean_, exact_mean.astype(np.float64), rtol=4 * EPS, atol=0)
    assert_allclose(est.var_, exact_var.astype(np.float64), rtol=1e-12)

    fitted = InputNormalizer().fit(X, sample_weight=weights)
    assert_allclose(fitted.var_, exact_var.astype(np.float64), rtol=1e-12)


@st.composite
def sparse_problems(draw):
    """Sparse CSR/CSC data, with stored NaNs, weights and batch cut points."""
    n_rows = draw(st.integers(1, 40))
    n_cols = draw(st.integers(1, 6))
    density = draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]))
    fmt = draw(st.sampled_from(["csr", "csc"]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    nan_fraction = draw(st.sampled_from([0.0, 0.2]))
    weighted = draw(st.booleans())
    cuts = split_points(draw, n_rows)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = sparse.random(
        n_rows,
        n_cols,
        density=density,
        format="coo",
        random_state=rng,
        data_rvs=lambda k: rng.normal(5.0, 3.0, k),
    )
    # NaNs, but none in the first row of a batch: no batch has an all-NaN
    # feature (that case is the deliberate difference, tested separately).
    batch_start = np.isin(X.row, [0, *cuts])
    X.data[(rng.random(X.nnz) < nan_fraction) & ~batch_start] = np.nan
    X = X.asformat(fmt).astype(dtype)
    weights = rng.uniform(0.1, 3.0, n_rows) if weighted else None
    return X, weights, cuts


@SETTINGS
@given(
    problem=sparse_problems(),
    with_std=st.booleans(),
    use_batches=st.booleans(),
)
def test_input_normalizer_sparse_matches_standard_scaler(
    problem, with_std, use_batches
):
    """Sparse CSR/CSC input (with_mean=False) gives StandardScaler's numbers."""
    X, weights, cuts = problem
    cuts = cuts if use_batches else []
    est = InputNormalizer(with_mean=False, with_std=with_std)
    ref = StandardScaler(with_mean=False, with_std=with_std)
    partial_fit_both(est, ref, X, weights, cuts)
    tols = assert_matches(
        est,
        ref,
        X,
        weights=weights,
        batches=len(cuts) + 1,
        float32_stats=X.dtype == np.float32,
    )
    assert_transforms_match(est, ref, X, *tols)


def test_input_normalizer_many_blocks_matches_standard_scaler():
    """Data spanning many row blocks, with NaNs and weights, matches StandardScaler."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 30)) * rng.uniform(0.1, 10, 30) + rng.uniform(
        -50, 50, 30
    )
    X[rng.random(X.shape) < 0.01] = np.nan
    weights = rng.uniform(0.5, 2.0, 5000)
    for sample_weight in (None, weights):
        est = InputNormalizer().fit(X, sample_weight=sample_weight)
        ref = StandardScaler().fit(X, sample_weight=sample_weight)
        assert_allclose(est.mean_, ref.mean_, rtol=1e-12)
        assert_allclose(est.var_, ref.var_, rtol=1e-12)
        assert_allclose(est.n_samples_seen_, ref.n_samples_seen_, rtol=1e-12)
        assert_allclose(est.transform(X), ref.transform(X), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------
# Specific behaviours
# --------------------------------------------------------------------------


def test_input_normalizer_divides_by_std_not_variance():
    """[0, 2, 4, 6] has mean 3, variance 5, and is divided by sqrt(5)."""
    X = np.array([[0.0], [2.0], [4.0], [6.0]])
    est = InputNormalizer().fit(X)
    assert_allclose(est.mean_, [3.0])
    assert_allclose(est.var_, [5.0])
    assert_allclose(est.scale_, [np.sqrt(5.0)])
    expected = (X - 3.0) / np.sqrt(5.0)
    assert_allclose(est.transform(X), expected, rtol=1e-15)
    assert_allclose(est.transform([[8.0]]), [[5.0 / np.sqrt(5.0)]], rtol=1e-15)
    assert_allclose(np.std(est.transform(X)), 1.0, rtol=1e-15)


def test_input_normalizer_all_nan_batch_keeps_statistics():
    """A partial_fit batch with an all-NaN feature leaves that feature's stats."""
    rng = np.random.default_rng(1)
    X1 = rng.normal(3.0, 2.0, size=(20, 3))
    X2 = rng.normal(3.0, 2.0, size=(10, 3))
    X2[:, 1] = np.nan
    est = InputNormalizer().partial_fit(X1)
    mean_before, var_before = est.mean_.copy(), est.var_.copy()
    ours(est.partial_fit, X2)
    ref = StandardScaler().partial_fit(X1)
    reference(ref.partial_fit, X2)

    assert np.isnan(ref.var_[1])  # StandardScaler loses the feature
    assert est.mean_[1] == mean_before[1]
    assert est.var_[1] == var_before[1]
    assert est.scale_[1] == np.sqrt(var_before[1])
    assert_array_equal(est.n_samples_seen_, [30, 20, 30])
    for j in (0, 2):
        assert_allclose(est.mean_[j], ref.mean_[j], rtol=1e-12)
        assert_allclose(est.var_[j], ref.var_[j], rtol=1e-12)
    assert_allclose(est.transform(X1)[:, [0, 2]], ref.transform(X1)[:, [0, 2]])


def test_input_normalizer_all_nan_first_batch_starts_later():
    """A feature with no value yet is NaN like StandardScaler, then starts afresh."""
    X1 = np.array([[1.0, np.nan], [3.0, np.nan]])
    X2 = np.array([[5.0, 10.0], [7.0, 14.0], [9.0, 15.0]])
    est = ours(InputNormalizer().fit, X1)
    ref = reference(StandardScaler().fit, X1)
    assert_array_equal(est.mean_, ref.mean_)
    assert_array_equal(est.var_, ref.var_)
    assert_array_equal(est.scale_, ref.scale_)
    assert_array_equal(est.n_samples_seen_, ref.n_samples_seen_)

    ours(est.partial_fit, X2)
    alone = StandardScaler().fit(X2[:, 1:])
    assert_allclose(est.mean_, [5.0, alone.mean_[0]])
    assert_allclose(est.var_, [8.0, alone.var_[0]])
    assert_array_equal(est.n_samples_seen_, [5, 3])


def test_input_normalizer_constant_features_mask():
    """Constant and near-constant features are flagged exactly like StandardScaler."""
    X = np.column_stack(
        [
            np.full(7, 0.1),  # rounding makes var tiny but non-zero
            np.full(7, 1e8 + 0.3),
            np.arange(7.0),
            1e8 + np.arange(7.0) * 1e-3,
        ]
    )
    est = InputNormalizer().fit(X)
    ref = StandardScaler().fit(X)
    expected = _is_constant_feature(ref.var_, ref.mean_, ref.n_samples_seen_)
    assert_array_equal(expected, [True, True, False, False])
    assert_array_equal(est.constant_features_, expected)
    assert_array_equal(est.scale_[:2], [1.0, 1.0])
    assert_allclose(est.transform(X)[:, :2], ref.transform(X)[:, :2], atol=1e-7)


@pytest.mark.parametrize("options", OPTIONS)
def test_input_normalizer_none_attributes_like_standard_scaler(options):
    """mean_, var_, scale_ are None exactly when StandardScaler's are."""
    X = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 9.0]])
    est = InputNormalizer(**options).fit(X)
    ref = StandardScaler(**options).fit(X)
    for name in ("mean_", "var_", "scale_"):
        assert (getattr(est, name) is None) == (getattr(ref, name) is None), name
    assert (est.constant_features_ is None) == (est.scale_ is None)
    assert_allclose(est.transform(X), ref.transform(X))
    assert_allclose(est.inverse_transform(est.transform(X)), X)


def test_input_normalizer_n_samples_seen_types():
    """n_samples_seen_: int, int array with NaNs, float (array) with weights."""
    X = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 9.0]])
    X_nan = X.copy()
    X_nan[0, 1] = np.nan
    w = np.array([0.5, 1.0, 2.0])

    n = InputNormalizer().fit(X).n_samples_seen_
    assert np.ndim(n) == 0 and isinstance(n, np.integer) and n == 3
    n = InputNormalizer().fit(X_nan).n_samples_seen_
    assert n.dtype.kind == "i"
    assert_array_equal(n, [3, 2])
    n = InputNormalizer().fit(X, sample_weight=w).n_samples_seen_
    assert np.ndim(n) == 0 and isinstance(n, np.floating) and n == 3.5
    n = InputNormalizer().fit(X_nan, sample_weight=w).n_samples_seen_
    assert n.dtype.kind == "f"
    assert_array_equal(n, [3.5, 3.0])
    # Counts become weight sums once weights appear, and accumulate.
    est = InputNormalizer().partial_fit(X).partial_fit(X, sample_weight=w)
    assert isinstance(est.n_samples_seen_, np.floating) and est.n_samples_seen_ == 6.5


def test_input_normalizer_weighted_counts_without_mean_and_std():
    """with_mean=with_std=False sums the weights, like StandardScaler on sparse."""
    X = np.array([[1.0, np.nan], [3.0, 5.0], [4.0, 9.0]])
    w = np.array([0.5, 1.0, 2.0])
    options = {"with_mean": False, "with_std": False}
    est = InputNormalizer(**options).fit(X, sample_weight=w)
    ref = StandardScaler(**options).fit(sparse.csr_matrix(X), sample_weight=w)
    assert_allclose(est.n_samples_seen_, [3.5, 3.0])
    assert_allclose(est.n_samples_seen_, ref.n_samples_seen_)


def test_input_normalizer_zero_weight_hides_neither_nan_nor_infinity():
    """Rows of weight 0 still have their NaNs ignored and infinities rejected."""
    X = np.array([[1.0, 2.0], [np.nan, 5.0], [4.0, 9.0], [0.0, 1.0]])
    w = np.array([1.0, 0.0, 2.0, 1.0])
    est = ours(InputNormalizer().fit, X, sample_weight=w)
    ref = StandardScaler().fit(X, sample_weight=w)
    assert_allclose(est.mean_, ref.mean_, rtol=1e-12)
    assert_allclose(est.var_, ref.var_, rtol=1e-12)
    assert_allclose(est.n_samples_seen_, ref.n_samples_seen_)
    bad = np.nan_to_num(X)
    bad[1, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        InputNormalizer().fit(bad, sample_weight=w)


def test_input_normalizer_negative_sample_weight_like_standard_scaler():
    """Negative weights are accepted, as by StandardScaler, with its numbers."""
    X = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 9.0], [0.0, 1.0]])
    w = np.array([2.0, -0.5, 1.0, 1.5])
    est = InputNormalizer().fit(X, sample_weight=w)
    ref = StandardScaler().fit(X, sample_weight=w)
    assert_allclose(est.mean_, ref.mean_, rtol=1e-12)
    assert_allclose(est.var_, ref.var_, rtol=1e-12)
    assert_allclose(est.n_samples_seen_, ref.n_samples_seen_)


def test_input_normalizer_fit_resets_partial_fit():
    """fit forgets earlier partial_fit batches."""
    rng = np.random.default_rng(2)
    X1, X2 = rng.normal(size=(10, 3)), rng.normal(5, 2, size=(12, 3))
    est = InputNormalizer().partial_fit(X1, sample_weight=np.ones(10)).fit(X2)
    fresh = InputNormalizer().fit(X2)
    assert_array_equal(est.mean_, fresh.mean_)
    assert_array_equal(est.var_, fresh.var_)
    assert est.n_samples_seen_ == 12 and isinstance(est.n_samples_seen_, np.integer)


def test_input_normalizer_partial_fit_equals_fit():
    """partial_fit over batches gives fit's numbers on the concatenation."""
    rng = np.random.default_rng(3)
    X = rng.normal(-4.0, 7.0, size=(300, 4))
    est = InputNormalizer()
    for batch in np.array_split(X, 7):
        est.partial_fit(batch)
    fitted = InputNormalizer().fit(X)
    assert_allclose(est.mean_, fitted.mean_, rtol=1e-14)
    assert_allclose(est.var_, fitted.var_, rtol=1e-13)
    assert est.n_samples_seen_ == fitted.n_samples_seen_ == 300


# --------------------------------------------------------------------------
# dtypes and copies
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_normalizer_keeps_dtype_with_float64_statistics(dtype):
    """Output keeps the input dtype; the statistics are float64."""
    rng = np.random.default_rng(4)
    X = rng.normal(2.0, 3.0, size=(50, 3)).astype(dtype)
    est = InputNormalizer()
    Xt = est.fit_transform(X)
    assert Xt.dtype == dtype
    assert est.inverse_transform(Xt).dtype == dtype
    assert est.mean_.dtype == est.var_.dtype == est.scale_.dtype == np.float64
    ref = StandardScaler().fit(X)
    assert_allclose(Xt, ref.transform(X), rtol=1e-5 if dtype == np.float32 else 1e-12)
    Xs = sparse.csr_matrix(X)
    assert InputNormalizer(with_mean=False).fit_transform(Xs).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_input_normalizer_copy_false_transforms_in_place(dtype, order):
    """copy=False writes the result into the input array itself."""
    rng = np.random.default_rng(5)
    X = np.asarray(rng.normal(1.0, 2.0, size=(40, 3)), dtype=dtype, order=order)
    expected = InputNormalizer().fit(X).transform(X)
    est = InputNormalizer(copy=False).fit(X)
    Xt = est.transform(X)
    assert Xt is X or np.shares_memory(Xt, X)
    assert_array_equal(X, expected)
    back = est.inverse_transform(X, copy=False)
    assert np.shares_memory(back, X)
    X2 = X.copy()
    assert np.shares_memory(InputNormalizer().fit(X2).transform(X2, copy=False), X2)


def test_input_normalizer_copy_false_sparse_in_place():
    """copy=False scales the data of a CSR matrix in place."""
    X = sparse.csr_matrix(np.array([[0.0, 2.0], [4.0, 0.0], [1.0, 3.0]]))
    est = InputNormalizer(with_mean=False, copy=False).fit(X)
    data = X.data
    Xt = est.transform(X)
    assert np.shares_memory(Xt.data, data)
    assert_allclose(Xt.toarray(), X.toarray())
    assert_allclose(X.data, [2.0, 4.0, 1.0, 3.0] / est.scale_[[1, 0, 0, 1]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_normalizer_copy_true_leaves_input_unchanged(dtype):
    """copy=True (the default) never modifies the input."""
    rng = np.random.default_rng(6)
    X = rng.normal(1.0, 2.0, size=(30, 3)).astype(dtype)
    X[3, 1] = np.nan
    saved = X.copy()
    est = InputNormalizer().fit(X)
    Xt = est.transform(X)
    back = est.inverse_transform(Xt)
    assert not np.shares_memory(Xt, X) and not np.shares_memory(back, Xt)
    assert_array_equal(X, saved)
    assert np.isnan(Xt[3, 1])  # NaN kept by transform
    Xs = sparse.csr_matrix(np.nan_to_num(saved))
    data = Xs.data.copy()
    InputNormalizer(with_mean=False).fit(Xs).transform(Xs)
    assert_array_equal(Xs.data, data)


def test_input_normalizer_read_only_input_with_copy_false():
    """copy=False on read-only data copies instead of failing."""
    X = np.arange(12.0).reshape(4, 3)
    X.flags.writeable = False
    Xt = InputNormalizer(copy=False).fit_transform(X)
    assert_allclose(Xt, StandardScaler().fit_transform(X))
    assert_array_equal(X, np.arange(12.0).reshape(4, 3))


# --------------------------------------------------------------------------
# pandas and feature names
# --------------------------------------------------------------------------


def test_input_normalizer_pandas_output():
    """set_output(transform="pandas") returns a DataFrame with the same columns."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {"a": [0.0, 2.0, 4.0, 6.0], "b": [1.0, 1.0, 2.0, 2.0]}, index=[5, 6, 7, 8]
    )
    est = InputNormalizer().set_output(transform="pandas")
    out = est.fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["a", "b"]
    assert list(out.index) == [5, 6, 7, 8]
    assert_allclose(out.to_numpy(), StandardScaler().fit_transform(df))
    assert isinstance(est.transform(df), pd.DataFrame)


def test_input_normalizer_feature_names():
    """feature_names_in_ comes from a DataFrame; get_feature_names_out is one-to-one."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"height": [1.0, 2.0, 3.0], "weight": [4.0, 6.0, 9.0]})
    est = InputNormalizer().fit(df)
    assert_array_equal(est.feature_names_in_, ["height", "weight"])
    assert_array_equal(est.get_feature_names_out(), ["height", "weight"])
    plain = InputNormalizer().fit(df.to_numpy())
    assert not hasattr(plain, "feature_names_in_")
    assert_array_equal(plain.get_feature_names_out(), ["x0", "x1"])
    with pytest.raises(ValueError, match="feature names should match"):
        est.transform(df.rename(columns={"weight": "mass"}))


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_input_normalizer_wrong_number_of_features():
    """transform and inverse_transform reject a different number of features."""
    est = InputNormalizer().fit(np.ones((3, 2)))
    message = "X has 3 features, but InputNormalizer is expecting 2 features"
    with pytest.raises(ValueError, match=message):
        est.transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match=message):
        est.inverse_transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match=message):
        est.partial_fit(np.ones((2, 3)))


@pytest.mark.parametrize("method", ["fit", "partial_fit", "transform"])
def test_input_normalizer_rejects_1d_input(method):
    """1-D input is rejected with scikit-learn's message."""
    est = InputNormalizer().fit(np.ones((3, 1)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        getattr(est, method)(np.arange(3.0))


@pytest.mark.parametrize("copy", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_normalizer_rejects_infinity(copy, dtype):
    """Infinite values are rejected by every method, leaving X untouched."""
    good = np.arange(12.0, dtype=dtype).reshape(6, 2)
    bad = good.copy()
    bad[4, 1] = np.inf
    est = InputNormalizer(copy=copy)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        est.fit(bad)
    with pytest.raises(NotFittedError):  # a failed first fit fits nothing
        est.transform(good)
    est.fit(good)
    saved = bad.copy()
    for method in (est.partial_fit, est.transform, est.inverse_transform):
        with pytest.raises(ValueError, match="Input X contains infinity"):
            method(bad)
        assert_array_equal(bad, saved)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        InputNormalizer(with_mean=False).fit(sparse.csr_matrix(bad))


def test_input_normalizer_rejects_infinity_in_later_block():
    """Infinity in a later row block is caught before anything is written."""
    X = np.ones((50, 2))
    X[:, 0] = np.arange(50.0)
    bad = X.copy()
    bad[45, 0] = -np.inf
    with block_elements(4):
        est = InputNormalizer(copy=False).fit(X)
        with pytest.raises(ValueError, match="Input X contains infinity"):
            InputNormalizer().fit(bad)
        saved = bad.copy()
        with pytest.raises(ValueError, match="Input X contains infinity"):
            est.transform(bad)
        assert_array_equal(bad, saved)
        with pytest.raises(ValueError, match="Input X contains infinity"):
            est.transform(bad, copy=True)


def test_input_normalizer_cannot_center_sparse():
    """Centering sparse input is an error, as in scikit-learn."""
    Xs = sparse.csr_matrix(np.array([[0.0, 1.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match="Cannot center sparse matrices"):
        InputNormalizer().fit(Xs)
    with pytest.raises(ValueError, match="Cannot center sparse matrices"):
        InputNormalizer().partial_fit(Xs.tocsc())
    est = InputNormalizer().fit(Xs.toarray())
    with pytest.raises(ValueError, match="Cannot center sparse matrices"):
        est.transform(Xs)
    with pytest.raises(ValueError, match="Cannot uncenter sparse matrices"):
        est.inverse_transform(Xs)


@pytest.mark.parametrize(
    "sample_weight",
    [np.ones(4), np.ones((5, 1)), np.zeros(5)],
    ids=["wrong-length", "2d", "all-zero"],
)
def test_input_normalizer_rejects_bad_sample_weight_like_standard_scaler(
    sample_weight,
):
    """Invalid sample_weight raises StandardScaler's own error."""
    if not sample_weight.any():
        skip_unless_sklearn_1_7("error for all-zero sample weights in StandardScaler")
    X = np.arange(10.0).reshape(5, 2)
    with pytest.raises(ValueError) as expected:
        StandardScaler().fit(X, sample_weight=sample_weight)
    with pytest.raises(ValueError, match=r"(?i)sample.weight") as raised:
        InputNormalizer().fit(X, sample_weight=sample_weight)
    assert str(raised.value) == str(expected.value)


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_input_normalizer_not_fitted(method):
    """transform and inverse_transform before fit raise NotFittedError."""
    with pytest.raises(NotFittedError):
        getattr(InputNormalizer(), method)(np.ones((2, 2)))


def test_input_normalizer_invalid_parameter():
    """Parameters are validated like scikit-learn's (InvalidParameterError)."""
    with pytest.raises(ValueError, match="The 'with_mean' parameter"):
        InputNormalizer(with_mean="yes").fit(np.ones((2, 2)))


def test_input_normalizer_tags_like_standard_scaler():
    """Tags: NaN allowed, sparse only without centering, float32/64 preserved."""
    for with_mean in (True, False):
        tags = InputNormalizer(with_mean=with_mean).__sklearn_tags__()
        ref = StandardScaler(with_mean=with_mean).__sklearn_tags__()
        assert tags.input_tags.allow_nan is True
        assert tags.input_tags.sparse == ref.input_tags.sparse == (not with_mean)
        assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]


def test_input_normalizer_assume_finite_skips_check():
    """With assume_finite=True, like scikit-learn, infinity is not checked."""
    X = np.array([[1.0], [np.inf], [3.0]])
    est = InputNormalizer().fit(np.array([[1.0], [3.0]]))
    with config_context(assume_finite=True):
        out = est.transform(X)
    assert np.isinf(out[1, 0])
