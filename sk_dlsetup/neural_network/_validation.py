"""Input validation of both MLP estimators, at the public boundary.

Data is validated once, where it enters (``fit``, ``partial_fit``,
``initialize``, ``objective``, ``predict``); the network's functions trust
what they are given. Arrays of other libraries are validated in their
namespace; targets are encoded on the host and moved to X's device.
"""

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import _check_sample_weight, supported_float_dtypes
from .._namespaces import (
    astype,
    check_same_namespace_as,
    is_numpy,
    namespace_of,
    numpy_dtype,
    to_namespace,
    to_numpy,
)

#: Sparse X as scikit-learn's MLP takes it; the network works on CSR rows.
SPARSE_FORMATS = ("csr", "csc")


def as_csr(X):
    """A sparse X as CSR (mini-batches are rows), dense X as it is.

    Examples
    --------
    >>> from scipy import sparse
    >>> as_csr(sparse.csc_matrix(np.eye(2))).format
    'csr'
    """
    return X.tocsr() if sparse.issparse(X) and X.format != "csr" else X


def float_dtypes(X):
    """The float dtypes validation may keep X in: NumPy's, or its namespace's."""
    xp, device = namespace_of(X)
    if is_numpy(xp):
        return (np.float64, np.float32)
    return supported_float_dtypes(xp, device)


class MLPValidationMixin:
    """The validation methods of :class:`~._mlp._BaseMLPFromScratch`."""

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(int(size) != size or size <= 0 for size in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {sizes}."
            )
        return [int(size) for size in sizes]

    def _check_sample_weight(self, sample_weight, X):
        if sample_weight is None:
            return None
        xp, device = namespace_of(X)
        # Checked on the host (a vector), then moved to where X lives.
        host_X = X if is_numpy(xp) else np.empty((X.shape[0], 0), numpy_dtype(X))
        sample_weight = _check_sample_weight(
            to_numpy(sample_weight), host_X, dtype=host_X.dtype
        )
        if np.any(sample_weight < 0):
            raise ValueError("Negative values in data passed to `sample_weight`.")
        if not sample_weight.sum() > 0:
            raise ValueError("The sum of `sample_weight` must be positive.")
        return to_namespace(sample_weight, xp, device, dtype=X.dtype)

    def _validate_training_data(self, X, y, sample_weight, incremental, reset):
        if self.dropout > 0 and self.solver == "lbfgs":
            raise ValueError(
                "dropout > 0 needs a stochastic solver ('sgd' or 'adam'): L-BFGS "
                "requires a deterministic objective."
            )
        self._hidden_layer_sizes()
        X, Y = self._validate_input(X, to_numpy(y), incremental, reset)
        xp, device = namespace_of(X)
        if not is_numpy(xp):  # targets are encoded on the host, trained on X's device
            Y = to_namespace(Y, xp, device, dtype=X.dtype)
        if not reset:  # continued training: X where and as the weights are
            self._check_n_outputs(Y)
            check_same_namespace_as(X, self.coefs_[0], self, "fit")
            X = astype(xp, X, self.coefs_[0].dtype)
            Y = astype(xp, Y, X.dtype)
        return X, Y, self._check_sample_weight(sample_weight, X)

    def _check_n_outputs(self, Y):
        """Encoded targets must match the output layer (else numpy broadcasts)."""
        if Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} output(s) but the model has {self.n_outputs_}: "
                "continued training and objective() need the targets it was "
                "initialized for."
            )

    def _layer_units_for(self, X, Y):
        return [X.shape[1], *self._hidden_layer_sizes(), Y.shape[1]]

    def _validate_X(self, X, method="predict"):
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            dtype=float_dtypes(X),
            accept_sparse=SPARSE_FORMATS,
            reset=False,
        )
        check_same_namespace_as(X, self.coefs_[0], self, method)
        return as_csr(X)
