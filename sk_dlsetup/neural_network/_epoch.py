"""One pass over the training data in mini-batches: the stochastic solvers' step.

:class:`Epoch` is handed everything a batch step needs explicitly, allocates
its buffers once per ``fit`` call, and runs in the namespace ``xp`` of the
training arrays (NumPy, or PyTorch, CuPy, array-api-strict under
``array_api_dispatch``): the same code for all, NumPy's gathers writing into
preallocated buffers behind a branch. Randomness stays NumPy's: the shuffle
permutation and the dropout masks are drawn by the same ``RandomState`` calls
in every namespace and moved to the device, so the same ``random_state``
gives the same batches everywhere.
"""

import math

import numpy as np
from scipy import sparse
from sklearn.utils import gen_batches

from .._namespaces import empty, is_numpy, numpy_dtype
from ._layout import block_norms, layer_views, parameter_blocks, transposed_rows
from ._network import allocate_activations, backprop, draw_keep_masks


class Epoch:
    """One pass over ``(X, Y)`` in mini-batches, updating ``theta`` in place.

    Parameters
    ----------
    X, Y, sample_weight : arrays of namespace ``xp``
        The training data (``X`` may be a scipy CSR matrix in NumPy).
    theta : array of namespace ``xp``
        The flat parameters, updated in place by ``optimizer``.
    xp, device : namespace and device
        Where the arrays live and the arithmetic runs.
    layer_units, activation, loss, alpha : the network and its objective
    batch_size, shuffle, keep_prob : the epoch's settings
    rng : numpy.random.RandomState
        Shuffles and draws the dropout masks.
    optimizer : SGD or Adam
    record_norms : bool
        Keep the mean gradient norms per layer (:attr:`grad_norms`).

    Examples
    --------
    >>> from sk_dlsetup.neural_network._optimizers import SGD
    >>> rng = np.random.RandomState(0)
    >>> X, Y = rng.randn(8, 2), rng.randn(8, 1)
    >>> theta = rng.randn(2 * 3 + 3 + 3 + 1)
    >>> epoch = Epoch(X, Y, None, theta, xp=np, device="cpu", layer_units=[2, 3, 1],
    ...               activation="tanh", loss="squared_error", alpha=0.0,
    ...               batch_size=4, shuffle=True, keep_prob=1.0, rng=rng,
    ...               optimizer=SGD(theta.size, theta.dtype, 0.01),
    ...               record_norms=False)
    >>> loss = epoch.run()
    >>> bool(loss > 0)
    True
    """

    def __init__(
        self,
        X,
        Y,
        sample_weight,
        theta,
        *,
        xp,
        device,
        layer_units,
        activation,
        loss,
        alpha,
        batch_size,
        shuffle,
        keep_prob,
        rng,
        optimizer,
        record_norms,
    ):
        self.xp, self.device = xp, device
        self.X, self.sample_weight = X, sample_weight
        # Targets one column per sample, as the network's outputs.
        self.Y_columns = transposed_rows(Y, xp).T
        self.theta = theta
        self.grad = empty(xp, theta.shape, theta.dtype, device)
        blocks = parameter_blocks(layer_units)
        self.layers = layer_views(theta, blocks, xp)
        self.grad_layers = layer_views(self.grad, blocks, xp)
        self.hidden_units = layer_units[1:-1]
        self.activation, self.loss, self.alpha = activation, loss, alpha
        self.batch_size, self.shuffle = batch_size, shuffle
        self.keep_prob, self.rng, self.optimizer = keep_prob, rng, optimizer
        self.record_norms = record_norms
        self.sparse_input = sparse.issparse(X)
        self.buffers = allocate_activations(
            batch_size,
            layer_units,
            X.dtype,
            dropout=keep_prob < 1,
            sparse_input=self.sparse_input,
            xp=xp,
            device=device,
        )
        self.np_dtype = np.dtype(numpy_dtype(X))
        self.sample_idx = np.arange(X.shape[0])
        # Mean (over the last epoch's batches) gradient norms, when recording.
        self.grad_norms = None
        if shuffle and is_numpy(xp):
            if not self.sparse_input:
                self.X_batch = np.empty((batch_size, X.shape[1]), X.dtype)
            self.Y_batch = np.empty((Y.shape[1], batch_size), Y.dtype)

    def weight_norms(self):
        """Frobenius norms of each layer's ``W``."""
        return block_norms(self.layers, self.xp)[0]

    def run(self):
        """Train one epoch; return the sample-mean batch loss, NaN if it diverged.

        Divergence is a non-finite batch loss (the weights' finiteness is
        checked by the caller, once per epoch).
        """
        xp = self.xp
        n_samples = self.X.shape[0]
        if self.shuffle:
            self.rng.shuffle(self.sample_idx)
            if not is_numpy(xp):  # the permutation, moved to the device once
                self.order = xp.asarray(self.sample_idx, device=self.device)
        accumulated = 0.0
        grad_norms = np.zeros((2, len(self.layers))) if self.record_norms else None
        for rows in gen_batches(n_samples, self.batch_size):
            X_batch, Y_batch, sw_batch = self._batch(rows)
            keep_masks = None
            if self.keep_prob < 1:
                keep_masks = draw_keep_masks(
                    self.rng,
                    X_batch.shape[0],
                    self.hidden_units,
                    self.keep_prob,
                    self.np_dtype,
                    xp,
                    self.device,
                )
            loss = backprop(
                X_batch,
                Y_batch,
                self.layers,
                self.grad_layers,
                self.buffers,
                activation=self.activation,
                loss=self.loss,
                alpha=self.alpha,
                sample_weight=sw_batch,
                keep_masks=keep_masks,
            )
            if not math.isfinite(loss):  # a Python float: no array call per batch
                return np.nan
            if grad_norms is not None:
                grad_norms += X_batch.shape[0] * block_norms(self.grad_layers, xp)
            self.optimizer.update(self.theta, self.grad, xp)
            accumulated += loss * X_batch.shape[0]
        if grad_norms is not None:
            self.grad_norms = grad_norms / n_samples
        return accumulated / n_samples

    def _batch(self, rows):
        """``(X, Y, sample_weight)`` of a batch; X and Y in the network's buffers."""
        sw = self.sample_weight
        if not self.shuffle:
            Y_batch = self.Y_columns[:, rows].T
            X_batch = self.X[rows] if self.sparse_input else self.X[rows, ...]
            return X_batch, Y_batch, None if sw is None else sw[rows]
        if not is_numpy(self.xp):
            xp, idx = self.xp, self.order[rows]
            X_batch = xp.take(self.X, idx, axis=0)
            Y_batch = xp.take(self.Y_columns, idx, axis=1).T
            return X_batch, Y_batch, None if sw is None else xp.take(sw, idx)
        idx = self.sample_idx[rows]
        n_rows = idx.shape[0]
        # The indices are a permutation of range(n_samples), always in bounds;
        # mode='clip' spares numpy's bounds-checked, buffered copy (2.5x faster).
        # Gathering into contiguous rows and letting backprop copy them into
        # its buffers beats gathering into those (strided) buffers directly.
        if self.sparse_input:  # CSR rows: a gather of the stored entries only
            X_batch = self.X[idx]
        else:
            X_batch = self.X.take(idx, axis=0, out=self.X_batch[:n_rows], mode="clip")
        Y_batch = self.Y_batch[:, :n_rows]
        self.Y_columns.take(idx, axis=1, out=Y_batch, mode="clip")
        return X_batch, Y_batch.T, None if sw is None else sw[idx]
