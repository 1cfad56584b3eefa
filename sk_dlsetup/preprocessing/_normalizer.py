"""Input normalization: standardize each feature to zero mean and unit variance.

:class:`InputNormalizer` is a drop-in replacement for
:class:`sklearn.preprocessing.StandardScaler` that gives the same numbers, to
floating-point accuracy (the sums run in another order), with fewer passes over
the data and no full-size temporaries.
"""

# Authors: The sk_dlsetup developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    check_array,
    check_is_fitted,
    validate_data,
)

# ``_fit_context`` runs the ``_parameter_constraints`` validation and
# ``_check_sample_weight`` validates sample weights with scikit-learn's own
# errors, exactly as StandardScaler uses them.
from .._callbacks import CallbackSupportMixin, fit_task
from .._compat import (
    _check_sample_weight,
    _fit_context,
    supported_float_dtypes,
)
from .._namespaces import (
    attributes_to_namespace,
    attributes_to_numpy,
    check_same_namespace_as,
    is_numpy,
    namespace_of,
    to_numpy,
)
from ._affine import _affine_dense
from ._moments import (
    _constant_mask,
    _dense_stats,
    _merge_stats,
    _sparse_stats,
)

_CENTER_SPARSE_MSG = (
    "Cannot center sparse matrices: pass `with_mean=False` "
    "instead. See docstring for motivation and alternatives."
)
_UNCENTER_SPARSE_MSG = (
    "Cannot uncenter sparse matrices: pass `with_mean=False` "
    "instead See docstring for motivation and alternatives."
)


# --------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------


class InputNormalizer(
    CallbackSupportMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Standardize features by removing the mean and scaling to unit variance.

    Each feature ``x`` is normalized as ``x := (x - mu) / sigma`` where ``mu``
    is its mean and ``sigma`` its standard deviation over the training set.
    The same ``mu`` and ``sigma``, learned once by :meth:`fit` (or over a
    stream by :meth:`partial_fit`), are used to transform test data, so that
    training and test inputs go through exactly the same map. Normalized
    inputs make gradient descent better conditioned.

    A drop-in replacement for :class:`sklearn.preprocessing.StandardScaler`:
    same parameters, methods and fitted attributes, the same numbers to
    floating-point accuracy, and faster (fewer passes over the data, no
    full-size temporary arrays). It also exposes the mask of the features
    treated as constant.

    Sparse CSR or CSC input is accepted with ``with_mean=False`` (centering
    would destroy its sparsity).

    Parameters
    ----------
    copy : bool, default=True
        If False, transform in place when the input is already a float NumPy
        array or a CSR matrix (otherwise a copy is still made).

    with_mean : bool, default=True
        If True, subtract the mean. Raises an error on sparse input.

    with_std : bool, default=True
        If True, divide by the standard deviation.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
        Mean of each feature in the training set (float64), also computed
        when ``with_mean=False``. None when ``with_mean=False`` and
        ``with_std=False``.

    var_ : ndarray of shape (n_features,) or None
        Variance of each feature in the training set (biased, ``ddof=0``;
        float64). None when ``with_std=False``.

    scale_ : ndarray of shape (n_features,) or None
        Standard deviation ``sqrt(var_)`` of each feature, by which it is
        divided; 1 for the features treated as constant. None when
        ``with_std=False``.

    constant_features_ : ndarray of shape (n_features,), dtype=bool, or None
        Features treated as constant: a variance within the rounding error of
        its computation, ``var_ <= n * eps * var_ + (n * mean_ * eps) ** 2``
        (the criterion StandardScaler applies internally). Their ``scale_`` is
        1, so they are only centred. None when ``with_std=False``.

    n_samples_seen_ : int or ndarray of shape (n_features,)
        Number of samples processed for each feature: an int when it is the
        same for all features, else an int array (features with NaNs have
        fewer). With ``sample_weight``, the sum of the weights instead
        (float, or float array). Reset by :meth:`fit`, accumulated by
        :meth:`partial_fit`.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The estimator this one replaces.
    sklearn.preprocessing.scale : Equivalent function without the estimator API.
    sklearn.preprocessing.RobustScaler : Median and quantile range, robust to
        outliers.

    Notes
    -----
    The normalization is ``x := (x - mu) / sigma``, per feature, with ``mu`` and
    ``sigma`` (the standard deviation, never the variance ``sigma**2``)
    computed on the training set and reused unchanged on test data.

    NaNs are treated as missing values: ignored by :meth:`fit` and
    :meth:`partial_fit`, kept as NaN by :meth:`transform`.

    The statistics are accumulated in float64 whatever the input dtype; the
    output of :meth:`transform` keeps the input dtype (float32 stays float32).
    They use the corrected two-pass algorithm within each batch and the
    pairwise update of Chan, Golub and LeVeque [1]_ across
    :meth:`partial_fit` batches, which stays accurate for features with a large
    offset and a small spread: each mean is also kept with its rounding error
    (privately), so the difference of two batch means is not lost to the
    offset, and the results are at least as accurate as StandardScaler's.
    The data is processed in blocks of rows, read twice by :meth:`fit` and
    once by :meth:`transform`, with no temporary array of its size.

    One deliberate difference from StandardScaler: if a :meth:`partial_fit`
    batch has only NaNs in some feature, that feature's ``mean_``, ``var_``
    and ``n_samples_seen_`` are left unchanged (StandardScaler makes its
    ``var_`` NaN). A feature that has had no value at all has ``mean_`` and
    ``var_`` NaN and ``n_samples_seen_`` 0, as with StandardScaler, and its
    statistics start with the first batch that has values for it.

    ``n_samples_seen_`` follows StandardScaler's documentation: an int (or an
    int array with NaNs) when unweighted, where StandardScaler itself returns
    the same counts as floats; the sum of the weights with ``sample_weight``,
    also when ``with_mean=False`` and ``with_std=False``, where StandardScaler
    counts the samples of dense input (but sums the weights of sparse input).

    References
    ----------
    .. [1] T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for
       computing the sample variance: analysis and recommendations", The
       American Statistician 37(3), 242-247, 1983.

    Examples
    --------
    >>> from sk_dlsetup import InputNormalizer
    >>> X = [[0.0, 10.0], [2.0, 10.0], [4.0, 10.0], [6.0, 10.0]]
    >>> normalizer = InputNormalizer().fit(X)
    >>> normalizer.mean_
    array([ 3., 10.])
    >>> normalizer.var_
    array([5., 0.])
    >>> normalizer.scale_
    array([2.236, 1.   ])
    >>> normalizer.constant_features_
    array([False,  True])
    >>> normalizer.transform([[3.0, 10.0], [8.0, 11.0]])
    array([[0.   , 0.   ],
           [2.236, 1.   ]])
    """

    _parameter_constraints: dict = {
        "copy": ["boolean"],
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, copy=True, with_mean=True, with_std=True):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std

    def _reset(self):
        """Forget the fitted statistics (parameters are untouched)."""
        for name in (
            "n_samples_seen_",
            "mean_",
            "_mean_residual",
            "var_",
            "scale_",
            "constant_features_",
        ):
            if hasattr(self, name):
                delattr(self, name)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "n_samples_seen_")

    def fit(self, X, y=None, sample_weight=None):
        """Compute the mean and standard deviation of each feature.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. NaNs are ignored.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Individual weights for each sample.

        Returns
        -------
        self : object
            Fitted normalizer.
        """
        self._reset()
        return self.partial_fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the mean and standard deviation with a batch of samples.

        For data that does not fit in memory or arrives as a stream; any
        sequence of batches gives the statistics of their concatenation (to
        floating-point accuracy), merged with the update of Chan, Golub and
        LeVeque.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of training data. NaNs are ignored.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Individual weights for each sample.

        Returns
        -------
        self : object
            Fitted normalizer.
        """
        first_call = not hasattr(self, "n_samples_seen_")
        xp, device = namespace_of(X)
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=FLOAT_DTYPES if is_numpy(xp) else supported_float_dtypes(xp, device),
            # Infinity is rejected by the statistics pass below, with the
            # same error, instead of by a separate pass over X.
            ensure_all_finite=False,
            reset=first_call,
        )
        with fit_task(self, X, y, {"sample_weight": sample_weight}):
            if not is_numpy(xp):
                # Another namespace (array_api_dispatch): the statistics are
                # the same compensated NumPy pass on the host, and the fitted
                # arrays go back to X's namespace and device, as
                # StandardScaler's live.
                X_host = to_numpy(X)
                attributes_to_numpy(self)
                try:
                    self._update_statistics(X_host, to_numpy(sample_weight), first_call)
                finally:
                    attributes_to_namespace(self, xp, device)
            else:
                self._update_statistics(X, sample_weight, first_call)
        return self

    def _update_statistics(self, X, sample_weight, first_call):
        """Merge the statistics of one validated NumPy batch into the fitted ones."""
        try:
            count, new = self._batch_stats(X, sample_weight)
        except ValueError:
            if first_call:  # as if validation had failed: not fitted at all
                for name in ("n_features_in_", "feature_names_in_"):
                    if hasattr(self, name):
                        delattr(self, name)
            raise

        n_features = X.shape[1]
        if first_call:
            n_old = np.zeros(n_features, dtype=new[0].dtype)
            nan = np.full(n_features, np.nan)
            old = (n_old, nan, nan, nan)
        else:
            n_old = np.broadcast_to(self.n_samples_seen_, (n_features,))
            old = (n_old, self.mean_, self._mean_residual, self.var_)
        if n_old.dtype != new[0].dtype:  # counts become weights for good
            old = (old[0].astype(np.float64),) + old[1:]
            new = (new[0].astype(np.float64),) + new[1:]

        if self.with_mean or self.with_std:
            n, mean, residual, var = _merge_stats(old, new, count)
        else:
            n = np.where(count == 0, old[0], old[0] + new[0])
            mean = residual = var = None

        # A scalar when the same for all features, like StandardScaler.
        self.n_samples_seen_ = n[0] if n.min() == n.max() else n
        self.mean_ = mean
        self._mean_residual = residual  # mean_ + this = the mean, more exactly
        self.var_ = var
        if self.with_std:
            self.constant_features_ = _constant_mask(var, mean, n)
            with np.errstate(invalid="ignore"):  # var may round to -tiny
                scale = np.sqrt(var)
            scale[self.constant_features_] = 1.0
            self.scale_ = scale
        else:
            self.constant_features_ = None
            self.scale_ = None

    def _batch_stats(self, X, sample_weight):
        """Statistics of one validated batch: ``count, (n, mean, residual, m2)``.

        ``count`` is the number of non-NaN values per feature and ``n`` the
        same count (int64) if unweighted, else the weight sum; ``m2`` is None
        unless ``with_std`` (see :func:`_dense_stats`).
        """
        is_sparse = sparse.issparse(X)
        if is_sparse:
            assert_all_finite(X.data, allow_nan=True, input_name="X")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
            sample_weight = sample_weight.astype(np.float64, copy=False)
        if is_sparse:
            if self.with_mean:
                raise ValueError(_CENTER_SPARSE_MSG)
            stats = _sparse_stats(X, sample_weight, self.with_std)
        else:
            stats = _dense_stats(X, sample_weight, self.with_std)
        count, weight, mean, residual, m2 = stats
        n = count if sample_weight is None else weight
        return count, (n, mean, residual, m2)

    def transform(self, X, copy=None):
        """Normalize X: ``(X - mean_) / scale_`` per feature.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to normalize. NaNs are kept.

        copy : bool, default=None
            Copy the input X or not; None means ``self.copy``.

        Returns
        -------
        X_tr : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Normalized data, in the dtype of X (float32 stays float32).
        """
        check_is_fitted(self)
        copy = self.copy if copy is None else copy
        is_sparse = sparse.issparse(X)
        xp, device = self._namespace_for(X, "transform")
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse="csr",
            # A dense copy is made while transforming (one pass, not two).
            copy=copy and is_sparse,
            dtype=FLOAT_DTYPES if is_numpy(xp) else supported_float_dtypes(xp, device),
            force_writeable=(not copy or is_sparse) and is_numpy(xp),
            ensure_all_finite=False,
        )
        return self._apply(X, copy, inverse=False, xp=xp)

    def inverse_transform(self, X, copy=None):
        """Scale back the data to the original representation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Normalized data.

        copy : bool, default=None
            Copy the input X or not; None means ``self.copy``.

        Returns
        -------
        X_original : {ndarray, sparse matrix} of shape (n_samples, n_features)
            ``X * scale_ + mean_``, in the dtype of X.
        """
        check_is_fitted(self)
        copy = self.copy if copy is None else copy
        is_sparse = sparse.issparse(X)
        xp, device = self._namespace_for(X, "inverse_transform")
        # Like StandardScaler, no feature-name check: the input is usually the
        # output of transform, a plain array.
        X = check_array(
            X,
            accept_sparse="csr",
            copy=copy and is_sparse,
            dtype=FLOAT_DTYPES if is_numpy(xp) else supported_float_dtypes(xp, device),
            force_writeable=(not copy or is_sparse) and is_numpy(xp),
            ensure_all_finite=False,
        )
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {self.__class__.__name__} "
                f"is expecting {self.n_features_in_} features as input."
            )
        return self._apply(X, copy, inverse=True, xp=xp)

    def _namespace_for(self, X, method):
        """X's namespace and device; an error if the statistics live elsewhere."""
        xp, device = namespace_of(X)
        fitted = self.mean_ if self.mean_ is not None else self.scale_
        if fitted is not None:
            check_same_namespace_as(X, fitted, self, method)
        return xp, device

    def _apply(self, X, copy, inverse, xp):
        """Shared body of transform and inverse_transform on validated X, in
        its namespace ``xp`` (statistics fitted there: cast to X's dtype)."""
        if sparse.issparse(X):
            assert_all_finite(X.data, allow_nan=True, input_name="X")
            if self.with_mean:
                if inverse:
                    raise ValueError(_UNCENTER_SPARSE_MSG)
                raise ValueError(_CENTER_SPARSE_MSG)
            if self.scale_ is not None:
                column_scale = self.scale_[X.indices]
                if inverse:
                    X.data *= column_scale
                else:
                    X.data /= column_scale
            return X
        return _affine_dense(
            X,
            self.mean_ if self.with_mean else None,
            self.scale_ if self.with_std else None,
            copy=copy,
            inverse=inverse,
            xp=xp,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = not self.with_mean
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.array_api_support = True
        return tags
