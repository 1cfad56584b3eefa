"""The MLP objective J(theta) on fixed data: the objective protocol.

Any model exposing ``objective(X, y)`` returning an object with ``theta0``,
``blocks``, ``loss(theta)`` and ``gradient(theta)`` can be checked by
:func:`sk_dlsetup.check_gradients`; :class:`MLPObjective` is ours.
"""

import numpy as np
from scipy import sparse

from ._layout import layer_views, pack, parameter_blocks, transposed_rows, unpack
from ._network import allocate_activations, backprop, forward, inplace_add_l2_gradient


class MLPObjective:
    """Deterministic ``J(theta)`` and backprop ``dJ/dtheta`` of an MLP on fixed data.

    ``J`` is scikit-learn's MLP objective: the (weighted) mean loss plus
    ``0.5 * alpha * sum ||W||_F^2 / sum(sample_weight)``. Dropout, if any, is
    frozen into ``keep_masks`` so that ``J`` is a fixed function of theta.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        The parameters at which ``theta0`` is taken (copied).
    X : ndarray of shape (n_samples, n_features)
        Input, float32 or float64: the dtype the network is evaluated in.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets already encoded for the output layer (one-hot, 0/1 or real).
    activation : str
        Hidden activation, a key of ``ACTIVATIONS``
        (:mod:`sk_dlsetup.neural_network._activations`).
    loss : str
        A key of ``LOSSES``: 'log_loss', 'binary_log_loss', 'squared_error'
        or 'poisson'.
    alpha : float
        L2 penalty strength.
    sample_weight : ndarray of shape (n_samples,) or None
    keep_masks : list of ndarray or None
        Frozen inverted-dropout masks, one per hidden layer.

    Attributes
    ----------
    theta0 : ndarray of shape (n_params,), float64
        ``W1, b1, ..., WL, bL`` flattened in C order.
    blocks : list of (name, slice, shape)
        Where each ``W[l]`` / ``b[l]`` lives in theta.
    layer_units : list of int
        ``[n_features, hidden..., n_outputs]``.
    X, Y, activation, loss_name, alpha, sample_weight, keep_masks
        The problem as given (``Y`` in X's dtype): what the fast gradient
        check (:mod:`sk_dlsetup.gradcheck._fast`) reads to take the network's
        finite differences layer by layer.
    sw_sum : float
        ``sum(sample_weight)``, or the number of samples.
    dtype : numpy dtype
        The dtype the network is evaluated in (X's).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import check_grad
    >>> rng = np.random.RandomState(0)
    >>> X, Y = rng.randn(5, 3), np.eye(2)[[0, 1, 0, 1, 1]]
    >>> coefs = [rng.randn(3, 4), rng.randn(4, 2)]
    >>> intercepts = [np.zeros(4), np.zeros(2)]
    >>> obj = MLPObjective(coefs, intercepts, X, Y, activation="tanh",
    ...                    loss="log_loss", alpha=0.1)
    >>> [name for name, _, _ in obj.blocks]
    ['W1', 'b1', 'W2', 'b2']
    >>> bool(check_grad(obj.loss, obj.gradient, obj.theta0) < 1e-6)
    True
    """

    def __init__(
        self,
        coefs,
        intercepts,
        X,
        Y,
        *,
        activation,
        loss,
        alpha,
        sample_weight=None,
        keep_masks=None,
    ):
        self.X = X
        self.dtype = X.dtype
        self.Y = np.asarray(Y, dtype=self.dtype)
        self.activation = activation
        self.loss_name = loss
        self.alpha = float(alpha)
        self.sample_weight = sample_weight
        self.keep_masks = keep_masks
        n_samples = X.shape[0]
        self.layer_units = [coefs[0].shape[0]] + [W.shape[1] for W in coefs]
        self.blocks = parameter_blocks(self.layer_units)
        self.theta0 = pack(coefs, intercepts, dtype=np.float64)
        if sample_weight is None:
            self.sw_sum = float(n_samples)
        else:
            self.sw_sum = float(np.sum(sample_weight, dtype=np.float64))
        self._theta = np.empty(self.theta0.size, dtype=self.dtype)
        self._layers = layer_views(self._theta, self.blocks)
        self._grad = np.empty_like(self._theta)
        self._grad_layers = layer_views(self._grad, self.blocks)
        sparse_input = sparse.issparse(X)
        self._buffers = allocate_activations(
            n_samples,
            self.layer_units,
            self.dtype,
            dropout=keep_masks is not None,
            sparse_input=sparse_input,
        )
        if sparse_input:  # the first layer multiplies the sparse rows directly
            self._X = X.tocsr()
        else:  # the data stay in the network's buffers, in the layout it works in
            self._buffers.load(X)
            self._X = self._buffers.batch(n_samples)
        self._Y = transposed_rows(self.Y)
        self._cached_theta = None
        self._complex = None

    def astype(self, dtype):
        """This objective evaluated in ``dtype`` (``self`` if it already is).

        Examples
        --------
        >>> import numpy as np
        >>> obj = MLPObjective([np.ones((2, 1), np.float32)], [np.zeros(1, np.float32)],
        ...                    np.ones((3, 2), np.float32), np.zeros((3, 1)),
        ...                    activation="relu", loss="squared_error", alpha=0.0)
        >>> obj.astype(np.float64).loss(obj.theta0)
        2.0
        """
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        # Complex (the complex step): real weights, sample weights and masks.
        real = dtype if dtype.kind == "f" else np.dtype(np.float64)
        theta = np.array(self.theta0, dtype=real)
        coefs, intercepts = unpack(theta, self.blocks)
        weights, masks = self.sample_weight, self.keep_masks
        return MLPObjective(
            coefs,
            intercepts,
            self.X.astype(dtype),
            self.Y.astype(dtype),
            activation=self.activation,
            loss=self.loss_name,
            alpha=self.alpha,
            sample_weight=None if weights is None else np.asarray(weights, real),
            keep_masks=None if masks is None else [M.astype(real) for M in masks],
        )

    @property
    def n_params(self):
        """Number of entries of theta."""
        return self.theta0.size

    def loss(self, theta):
        """``J(theta)``: mean loss plus the L2 penalty, a Python float.

        On complex ``theta`` (the complex-step gradient check) the same
        function continued analytically, a Python complex: every activation
        and loss evaluates there, ReLU on the real part's sign.
        """
        if np.iscomplexobj(theta) and self.dtype.kind != "c":
            if self._complex is None:
                self._complex = self.astype(np.complex128)
            return self._complex.loss(theta)
        return self._evaluate(theta, gradient=False)[0]

    def gradient(self, theta):
        """Backprop ``dJ/dtheta`` in theta's layout, a new float64 array."""
        return self._evaluate(theta, gradient=True)[1].astype(np.float64)

    def loss_and_gradient(self, theta):
        """``(J(theta), dJ/dtheta)`` from one forward and one backward pass."""
        loss, grad = self._evaluate(theta, gradient=True)
        return loss, grad.astype(np.float64)

    def _load(self, theta):
        theta = np.asarray(theta)
        if theta.shape != self._theta.shape:
            raise ValueError(
                f"theta has shape {theta.shape}; expected ({self._theta.size},)."
            )
        self._theta[...] = theta

    def _forward(self):
        return forward(
            self._X, self._layers, self.activation, self._buffers, self.keep_masks
        )

    def _evaluate(self, theta, gradient):
        # scipy calls loss(theta) then gradient(theta) at the same point: reuse it.
        cached = self._cached_theta
        if (
            cached is not None
            and (cached[2] or not gradient)
            and np.array_equal(cached[0], theta)
        ):
            return cached[1], self._grad
        self._load(theta)
        loss = backprop(
            self._X,
            self._Y,
            self._layers,
            self._grad_layers,
            self._buffers,
            activation=self.activation,
            loss=self.loss_name,
            alpha=self.alpha,
            sample_weight=self.sample_weight,
            keep_masks=self.keep_masks,
            gradient=gradient,
        )
        kept = np.complex128 if self.dtype.kind == "c" else np.float64
        self._cached_theta = (np.array(theta, dtype=kept), loss, gradient)
        return loss, self._grad

    # ------------------------------------------- optional gradient-check hooks

    def kink_signature(self, theta):
        """Which kept hidden units are active (pre-activation > 0) at ``theta``.

        An optional hook of the objective protocol: where the signature differs
        between ``theta + eps e`` and ``theta - eps e`` a ReLU kink was crossed,
        and :func:`sk_dlsetup.check_gradients` leaves that entry out. Empty for
        activations without a kink.

        Examples
        --------
        >>> import numpy as np
        >>> X, Y = np.array([[1.0], [-1.0]]), np.array([[0.0], [1.0]])
        >>> obj = MLPObjective([np.ones((1, 1)), np.ones((1, 1))],
        ...                    [np.zeros(1), np.zeros(1)], X, Y, activation="relu",
        ...                    loss="squared_error", alpha=0.0)
        >>> obj.kink_signature(obj.theta0)
        array([ True, False])
        """
        # The checker's rules (imported here: gradcheck builds on this module).
        from ..gradcheck._rules import ACTIVATION_CHECK_RULES

        if not ACTIVATION_CHECK_RULES[self.activation].has_kink:
            return np.zeros(0, dtype=bool)
        self._load(theta)
        self._forward()
        parts = []
        for layer in range(1, len(self.layer_units) - 1):
            active = self._buffers.hidden[layer].T > 0
            if self.keep_masks is not None:
                active &= self.keep_masks[layer - 1] != 0
            parts.append(active.ravel())
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)

    def penalty_gradient(self, theta):
        """Gradient of the L2 term alone: ``alpha / sum(sample_weight) * W``.

        An optional hook of the objective protocol (zeros in the bias blocks),
        from which :func:`sk_dlsetup.check_gradients` reports the L2 share of
        the gradient.

        Examples
        --------
        >>> import numpy as np
        >>> obj = MLPObjective([np.full((1, 2), 3.0)], [np.zeros(2)],
        ...                    np.ones((4, 1)), np.zeros((4, 2)),
        ...                    activation="relu", loss="squared_error", alpha=2.0)
        >>> obj.penalty_gradient(obj.theta0)
        array([1.5, 1.5, 0. , 0. ])
        """
        theta = np.asarray(theta, dtype=np.float64)
        out = np.zeros_like(theta)
        l2_scale = self.alpha / self.sw_sum
        for grad, Wb in zip(
            layer_views(out, self.blocks), layer_views(theta, self.blocks)
        ):
            inplace_add_l2_gradient(grad, Wb, l2_scale)
        return out
