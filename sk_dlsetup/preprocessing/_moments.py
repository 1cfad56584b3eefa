"""Streaming means and variances: per-feature moments, and Chan's merge of them.

Pure numpy with float64 accumulators. :func:`_dense_stats` and
:func:`_sparse_stats` give one batch's moments by the corrected two-pass
algorithm; :func:`_merge_stats` merges them into running statistics (Chan,
Golub and LeVeque), which is what ``InputNormalizer.partial_fit`` does and
what :class:`RunningMoments` does for the whole of an array at a time
(:func:`sk_dlsetup.diagnostics.layer_statistics`).
"""

import numpy as np
from sklearn.utils import assert_all_finite

# Rows are processed in blocks of about this many elements so that the float64
# working buffer (512 KiB) stays in cache: every statistic and every transform
# then costs one read of the data per pass, with no full-size temporary array.
_BLOCK_ELEMENTS = 1 << 16


def _block_rows(n_rows, n_cols):
    """Number of rows per block so a block holds about ``_BLOCK_ELEMENTS`` values."""
    return max(1, min(n_rows, _BLOCK_ELEMENTS // max(n_cols, 1)))


def _row_operand(vector, step, like):
    """``vector`` to combine with blocks of ``step`` rows laid out like ``like``.

    For C-ordered blocks, the vector repeated on ``step`` rows (sliced to a
    block's length by the caller), so that numpy runs one flat loop over the
    block instead of one short loop per row; otherwise a broadcast view, which
    is already efficient along contiguous columns.
    """
    if like.flags.c_contiguous:
        return np.tile(vector, (step, 1))
    return np.broadcast_to(vector, (step, vector.shape[0]))


def _dense_stats(X, sample_weight, with_var):
    """Per-feature count, weight, mean and centred sum of squares of dense X.

    The corrected two-pass algorithm of Chan, Golub and LeVeque, run over row
    blocks with float64 accumulators: a first pass sums each feature (from
    which the mean), a second sums the deviations from that mean and their
    squares; ``sum(d**2) - sum(d)**2 / n`` cancels the rounding error of the
    mean, so large offsets with a small spread stay accurate. NaNs are
    ignored. The first pass doubles as the check for infinite values: a block
    whose column sums are all finite has neither NaN nor infinity.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), floating dtype
    sample_weight : ndarray of shape (n_samples,), float64, or None
    with_var : bool
        Whether to run the second pass.

    Returns
    -------
    count : ndarray of int64
        Non-NaN values per feature.
    weight : ndarray of float64
        Sum of the weights of the non-NaN values (``count`` if unweighted).
    mean : ndarray of float64
        NaN for a feature without any value.
    residual : ndarray of float64
        The rounding error of ``mean``: the exact mean is ``mean + residual``
        to about twice float64 precision (zero unless ``with_var``). With
        ``with_var``, the second pass also corrects ``mean`` itself to the
        float64 nearest to the exact mean.
    m2 : ndarray of float64 or None
        Weighted sum of squared deviations from the mean; None unless
        ``with_var``.
    """
    n_rows, n_cols = X.shape
    step = _block_rows(n_rows, n_cols)
    f_order = X.flags.f_contiguous and not X.flags.c_contiguous
    buf = np.empty((step, n_cols), order="F" if f_order else "C")
    ones = np.ones(step)
    total = np.zeros(n_cols)
    nan_count = np.zeros(n_cols, dtype=np.int64)
    nan_weight = np.zeros(n_cols)
    nan_blocks = set()

    def blocks():
        """(start, block of X, float64 buffer and weights of its size)."""
        for start in range(0, n_rows, step):
            block = X[start : start + step]
            rows = block.shape[0]
            if sample_weight is None:
                w = ones[:rows]
            else:
                w = sample_weight[start : start + rows]
            yield start, block, buf[:rows], w

    # First pass: column sums as (weights) @ block, one BLAS call per block.
    with np.errstate(invalid="ignore", over="ignore"):
        for start, block, tmp, w in blocks():
            src = block
            if X.dtype != np.float64:  # accumulate in float64, via the buffer
                np.copyto(tmp, block)
                src = tmp
            sums = w @ src
            # Any NaN or infinity makes its sum non-finite. With weights, check
            # the plain sum: a zero weight could hide one (BLAS may skip it).
            finite = np.isfinite(sums).all() and (
                sample_weight is None or np.isfinite(src.sum())
            )
            if not finite:  # NaN, infinity or overflow in this block
                assert_all_finite(block, allow_nan=True, input_name="X")
                mask = np.isnan(block)
                np.copyto(tmp, block)
                np.copyto(tmp, 0.0, where=mask)
                sums = w @ tmp
                nan_count += mask.sum(axis=0)
                nan_weight += w @ mask
                nan_blocks.add(start)
            total += sums

    count = n_rows - nan_count
    if sample_weight is None:
        weight = count.astype(np.float64)
    else:
        weight = sample_weight.sum() - nan_weight
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / weight
    if not with_var:
        return count, weight, mean, np.zeros(n_cols), None

    # Second pass: deviations from the mean, in the cached buffer.
    correction = np.zeros(n_cols)
    squares = np.zeros(n_cols)
    mean_rows = _row_operand(mean, step, buf)
    for start, block, tmp, w in blocks():
        np.subtract(block, mean_rows[: block.shape[0]], out=tmp)
        if start in nan_blocks:
            np.copyto(tmp, 0.0, where=np.isnan(tmp))
        correction += w @ tmp
        np.multiply(tmp, tmp, out=tmp)
        squares += w @ tmp
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = correction / weight
        m2 = squares - correction * residual
    mean, residual = _two_sum(mean, residual)
    return count, weight, mean, residual, m2


def _column_sums(cols, values, n_cols):
    """Sum of ``values`` per column index in ``cols``, as float64."""
    return np.bincount(cols, weights=values, minlength=n_cols).astype(
        np.float64, copy=False
    )


def _sparse_stats(X, sample_weight, with_var):
    """Like :func:`_dense_stats` for a CSR or CSC matrix (implicit zeros count).

    Stored NaNs are ignored. Same corrected two-pass algorithm, the implicit
    zeros of a feature contributing ``w0 * mean**2`` to the sum of squares and
    ``-w0 * mean`` to the correction, where ``w0`` is their total weight.
    """
    n_rows, n_cols = X.shape
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    data = X.data
    lengths = np.diff(X.indptr)
    if X.format == "csr":
        cols = X.indices
        rows = np.repeat(np.arange(n_rows), lengths)
    else:
        cols = np.repeat(np.arange(n_cols), lengths)
        rows = X.indices
    weights = None if sample_weight is None else sample_weight[rows]

    nan = np.isnan(data)
    nan_count = np.bincount(cols[nan], minlength=n_cols)
    if sample_weight is None:
        total_weight = float(n_rows)
        nan_weight = nan_count.astype(np.float64)
    else:
        total_weight = sample_weight.sum()
        nan_weight = _column_sums(cols[nan], weights[nan], n_cols)
    if nan.any():
        keep = ~nan
        data, cols = data[keep], cols[keep]
        weights = None if weights is None else weights[keep]
    count = n_rows - nan_count.astype(np.int64)
    weight = total_weight - nan_weight

    data64 = data.astype(np.float64)
    weighted_data = data64 if weights is None else data64 * weights
    sums = _column_sums(cols, weighted_data, n_cols)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sums / weight
    if not with_var:
        return count, weight, mean, np.zeros(n_cols), None

    stored = np.bincount(cols, minlength=n_cols)
    stored_weight = (
        stored.astype(np.float64)
        if weights is None
        else _column_sums(cols, weights, n_cols)
    )
    diff = data64 - mean[cols]
    weighted_diff = diff if weights is None else diff * weights
    correction = _column_sums(cols, weighted_diff, n_cols)
    squares = _column_sums(cols, weighted_diff * diff, n_cols)
    # Implicit zeros, only where there are some (avoids cancellation to a tiny
    # non-zero weight when there are none).
    zeros = count != stored
    zero_weight = np.where(zeros, weight - stored_weight, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        correction -= np.where(zeros, zero_weight * mean, 0.0)
        squares += np.where(zeros, zero_weight * mean**2, 0.0)
        residual = correction / weight
        m2 = squares - correction * residual
    mean, residual = _two_sum(mean, residual)
    return count, weight, mean, residual, m2


def _two_sum(a, b):
    """``a + b`` as an unevaluated sum ``s + err`` of two floats (Knuth's TwoSum)."""
    s = a + b
    b_virtual = s - a
    err = (a - (s - b_virtual)) + (b - b_virtual)
    return s, err


def _merge_stats(old, new, count_new):
    """Merge running statistics with those of a new batch (Chan et al.).

    ``old`` and ``new`` are ``(n, mean, residual, var_or_m2)`` tuples: the
    weight (or count), the mean with its rounding error ``residual``, and the
    variance (old) or the sum of squared deviations (new), which may be None
    (mean only). With ``delta = new_mean - old_mean`` (the residuals
    included, so that a large common offset does not round it) and
    ``n = n_old + n_new``::

        mean = mean_old + delta * n_new / n
        n * var = n_old * var_old + m2_new + delta**2 * n_old * n_new / n

    A feature without data so far (``n_old == 0``) takes the batch's
    statistics; a feature without any non-NaN value in the batch
    (``count_new == 0``) keeps its running statistics unchanged.

    Returns ``n, mean, residual, var``.
    """
    n_a, mean_a, res_a, var_a = old
    n_b, mean_b, res_b, m2_b = new
    na = n_a.astype(np.float64)
    nb = n_b.astype(np.float64)
    empty = count_new == 0
    first = (na == 0) & ~empty
    with np.errstate(divide="ignore", invalid="ignore"):
        n = na + nb
        delta = (mean_b - mean_a) + (res_b - res_a)
        frac_b = nb / n
        mean, residual = _two_sum(mean_a, res_a + delta * frac_b)
        var = None
        if m2_b is not None:
            var = (na * var_a + m2_b + delta * delta * (na * frac_b)) / n
            var = np.where(empty, var_a, np.where(first, m2_b / nb, var))
    mean = np.where(empty, mean_a, np.where(first, mean_b, mean))
    residual = np.where(empty, res_a, np.where(first, res_b, residual))
    n = np.where(empty, n_a, n_a + n_b)
    return n, mean, residual, var


def _constant_mask(var, mean, n_samples):
    """Features whose variance is within the rounding error of the two-pass algorithm.

    The same bound as scikit-learn's ``_is_constant_feature`` (Chan, Golub and
    LeVeque): ``var <= n * eps * var + (n * mean * eps) ** 2`` with float64 eps.
    """
    eps = np.finfo(np.float64).eps
    return var <= n_samples * eps * var + (n_samples * mean * eps) ** 2


class RunningMoments:
    """Mean and standard deviation of all the values of the arrays added.

    Each array's moments are merged into the running ones with
    :func:`_merge_stats`, so the variance stays accurate when the mean is
    large compared with the spread.

    Examples
    --------
    >>> import numpy as np
    >>> moments = RunningMoments()
    >>> moments.add(np.array([[1e9 + 1.0, 1e9 + 3.0]]))
    >>> moments.add(np.array([1e9 + 2.0]))
    >>> moments.mean - 1e9, moments.std ** 2
    (2.0, 0.666...)
    """

    def __init__(self):
        self._stats = (np.zeros(1, np.int64), np.zeros(1), np.zeros(1), np.zeros(1))

    def add(self, values):
        """Merge the values of the array ``values`` (any shape)."""
        values = np.asarray(values, dtype=np.float64)
        if not values.size:
            return
        mean = values.mean()
        m2 = np.sum((values - mean) ** 2)
        count = np.array([values.size])
        batch = (count, np.array([mean]), np.zeros(1), np.array([m2]))
        self._stats = _merge_stats(self._stats, batch, count)

    @property
    def mean(self):
        """Mean of every value added (NaN before any)."""
        return float(self._stats[1][0]) if self._stats[0][0] else float("nan")

    @property
    def std(self):
        """Standard deviation of every value added (NaN before any)."""
        return float(np.sqrt(self._stats[3][0])) if self._stats[0][0] else float("nan")
