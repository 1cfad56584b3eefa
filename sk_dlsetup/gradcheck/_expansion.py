"""The MLP around theta0: cached layers and how the loss changes from there.

Perturbing an entry of layer ``k`` changes only column ``j`` of ``Z[k]``. This
module holds what the fast gradient check (:mod:`._fast`) needs to turn such a
change into the change of every sample's loss, without cancellation:

* the *base pass*: one run of the network's own forward pass at theta0, whose
  pre-activations ``Z[k]``, layer inputs ``A[k]`` and per-layer bases (what the
  activation's rules need to know about ``Z``) are cached;
* *exact propagation* of batches of pre-activation changes through the layers
  above, each activation's change taken from its table rule;
* the *Taylor expansion* (jets) of the per-sample loss change as a function of
  one scalar per sample, once per perturbed column, with the nearest ReLU kink
  on each side (radii);
* the sizes of backprop's terms (:attr:`NetworkExpansion.magnitude`), which
  bound its round-off.

Every rule that depends on the activation or the loss comes from a table: the
network's own (``ACTIVATIONS``, ``LOSSES`` of :mod:`sk_dlsetup.neural_network`)
and the checker's (:mod:`._rules`).
"""

import numpy as np

from ..neural_network._layout import layer_views, unpack
from ..neural_network._losses import LOSSES
from ..neural_network._network import allocate_activations, forward
from ..neural_network._series import ORDER, jet_map, jet_powers, jet_series
from ._rules import ACTIVATION_CHECK_RULES, LOSS_CHECK_RULES


class NetworkExpansion:
    """An MLP objective's network at theta0, in float64, rows as samples.

    Parameters
    ----------
    objective : MLPObjective
        Read only: its data, targets, masks, weights ``theta0`` and settings.

    Attributes
    ----------
    X, Y : ndarray
        The data and the encoded targets.
    coefs, intercepts : list of ndarray
        The weights at theta0.
    Z, A : list of ndarray
        Per layer ``k``, the pre-activation and the layer's input (masked).
    base : list
        Per hidden layer, the activation's base (``ACTIVATION_CHECK_RULES[...].base``).
    out, slope : ndarray
        The output activations and the output delta ``dJ/dZ[L]`` per sample.
    scale : ndarray
        Each sample's weight in the mean loss (sums to 1).
    l2_scale : float
        ``alpha / sum(sample_weight)``.
    """

    def __init__(self, objective):
        X = objective.X
        X = X.toarray() if hasattr(X, "toarray") else X
        self.X = np.asarray(X, dtype=np.float64)
        self.Y = np.asarray(objective.Y, dtype=np.float64)
        self.blocks = list(objective.blocks)
        theta = np.array(objective.theta0, dtype=np.float64)
        self.coefs, self.intercepts = unpack(theta, self.blocks)
        self.n_layers = len(self.coefs)
        self._activation = ACTIVATION_CHECK_RULES[objective.activation]
        self._loss = LOSSES[objective.loss_name]
        self._loss_rules = LOSS_CHECK_RULES[objective.loss_name]
        self.l2_scale = objective.alpha / objective.sw_sum
        n_samples = self.X.shape[0]
        if objective.sample_weight is None:
            self.scale = np.full(n_samples, 1.0 / n_samples)
        else:
            weights = np.asarray(objective.sample_weight, dtype=np.float64)
            self.scale = weights / weights.sum()
        masks = objective.keep_masks
        self.masks = (
            None if masks is None else [np.asarray(M, np.float64) for M in masks]
        )
        self._taylor = None
        self._magnitude = None
        self._base_pass(theta, objective.activation, objective.layer_units)

    def _base_pass(self, theta, activation, layer_units):
        """Cache ``A[k]`` (inputs of layer k), ``Z[k]`` and per-layer bases.

        One run of the network's forward pass, in float64, rows as samples.
        """
        buffers = allocate_activations(
            self.X.shape[0],
            layer_units,
            np.float64,
            dropout=self.masks is not None,
            backward=False,
        )
        hidden_Z = []
        out_Z = forward(
            self.X,
            layer_views(theta, self.blocks),
            activation,
            buffers,
            keep_masks=self.masks,
            preactivations=hidden_Z,
        )
        self.Z = [np.ascontiguousarray(Z.T) for Z in (*hidden_Z, out_Z)]
        self.A = [self.X] + [np.ascontiguousarray(A[:-1].T) for A in buffers.acts[1:-1]]
        self.base = [self._activation.base(Z) for Z in self.Z[:-1]]
        Z = self.Z[-1]
        self.out = self._loss.output(Z.copy())
        # The output delta dJ/dZ per sample, by the loss's own rule.
        self.slope = Z.copy()
        self._loss.per_sample(self.slope, self.Y)
        magnitude = np.abs(self.A[-1]) @ np.abs(self.coefs[-1])
        magnitude += np.abs(self.intercepts[-1])
        self._output_magnitude = float(self.scale @ magnitude.sum(axis=1))

    @property
    def magnitude(self):
        """Per layer k, ``s[n] * B[k][n, j]``: sizes of what backprop sums.

        ``B[L]`` is the size of the output delta's terms (``|p| + |y|``, or
        ``(|z| + |y|) / k``); ``B[k] = (B[k + 1] |W[k + 1]|^T) (|g'(Z[k])| + 1)``
        (``1[Z > 0]`` for ReLU), masked. The ``+ 1`` covers derivatives computed
        from the activation's output (``1 - a^2``): exact to an absolute, not a
        relative, round-off, which matters for saturated units. Backprop's error
        in an entry is at most about ``u`` times the weighted sum of these sizes
        times the entry's input.
        """
        if self._magnitude is None:
            B = self._loss_rules.delta_size(self.Z[-1], self.Y, self.out)
            sizes = [B]
            for k in range(self.n_layers - 2, -1, -1):
                B = sizes[0] @ np.abs(self.coefs[k + 1]).T
                bound = self._activation.derivative_bound(self.base[k])
                if bound is not None:
                    B = B * bound
                if self.masks is not None:
                    B = B * np.abs(self.masks[k])
                sizes.insert(0, B)
            self._magnitude = [self.scale[:, None] * B for B in sizes]
        return self._magnitude

    @property
    def taylor(self):
        """Per hidden layer, the Taylor coefficients of the activation at Z."""
        if self._taylor is None:
            taylor = self._activation.taylor
            self._taylor = [taylor(Z, b) for Z, b in zip(self.Z, self.base)]
        return self._taylor

    def _mask(self, k, columns=None):
        if self.masks is None:
            return None
        return self.masks[k] if columns is None else self.masks[k][:, columns]

    def _loss_change(self, dZ):
        """Per-sample data-loss change for an output change ``dZ`` (..., n, k)."""
        return self._loss_rules.change(self.Z[-1], self.Y, self.out, dZ)

    def _loss_change_column(self, j, t):
        """Per-sample loss change when only output column ``j`` moves by ``t``.

        ``j`` has shape (m,), ``t`` shape (m, n); returns shape (m, n).
        """
        Z, Y, P = (M[:, j].T for M in (self.Z[-1], self.Y, self.out))
        return self._loss_rules.column_change(Z, Y, P, t, self.Z[-1].shape[1])

    def _loss_jet(self, dZ):
        """Taylor coefficients of the per-sample loss change (list of (..., n))."""
        return self._loss_rules.jet(self.Z[-1], self.Y, self.out, dZ)

    def _exact_from(self, layer, dZp, dZm):
        """Per-sample loss changes for pre-activation changes of ``layer``.

        ``dZp`` / ``dZm`` (m, n, units) are the changes of ``Z[layer]`` for the
        two signs. Returns the per-sample data-loss changes (m, n) for both and
        a kink flag (m,): a kept ReLU unit whose sign differs between the two.
        """
        change = self._activation.change
        kinks = np.zeros(dZp.shape[0], dtype=bool)
        for k in range(layer, self.n_layers - 1):
            Z, base = self.Z[k], self.base[k]
            if self._activation.has_kink:
                crossed = (Z + dZp > 0) != (Z + dZm > 0)
                if self.masks is not None:
                    crossed &= self.masks[k] != 0
                kinks |= crossed.any(axis=(1, 2))
            dAp, dAm = change(Z, base, dZp), change(Z, base, dZm)
            if self.masks is not None:
                dAp, dAm = dAp * self.masks[k], dAm * self.masks[k]
            dZp, dZm = dAp @ self.coefs[k + 1], dAm @ self.coefs[k + 1]
        return self._loss_change(dZp), self._loss_change(dZm), kinks

    def _column_base(self, k, j):
        base = self.base[k]
        if base is None:
            return None
        if isinstance(base, tuple):
            return tuple(part[:, j].T for part in base)
        return base[:, j].T

    def _polynomial(self, a, c):
        """``sum_p a[p] c**(p + 1)`` per sample (m, n), and two weighted sizes.

        Returns the values, the size of the last term and the size of all terms
        (both (m,)): the series is trusted when the last term is below
        round-off of the whole.
        """
        value = a[-1] if a[-1] is not None else np.zeros_like(c)
        for coef in reversed(a[:-1]):
            value = value * c
            if coef is not None:
                value = value + coef
        value = value * c
        size = np.zeros_like(c)
        power = np.ones_like(c)
        for coef in a:
            power = power * np.abs(c)
            if coef is not None:
                size += np.abs(coef) * power
        tail = (
            np.zeros(c.shape[0])
            if a[-1] is None
            else (np.abs(a[-1]) * power) @ self.scale
        )
        return value, tail, size @ self.scale

    @staticmethod
    def _beyond(radii, loc, c):
        r_plus, r_minus = radii[0][loc], radii[1][loc]
        return (((c > 0) & (c >= r_plus)) | ((c < 0) & (c <= r_minus))).any(axis=1)

    def _column_jets(self, k, cols):
        """Taylor coefficients of ``phi[n, j](c)`` for the columns ``cols``.

        Returns ``(coefs, radii)``: ``coefs`` a list of ``ORDER`` arrays of shape
        (len(cols), n) (None for zero), ``radii`` the nearest kink in ``c`` on
        each side, ``(r_plus, r_minus)`` of shape (len(cols), n), or None.
        """
        w = self.coefs[k + 1][cols][:, None, :]  # (nj, 1, units)
        dZ = [w] + [None] * (ORDER - 1)
        radii = None
        for u in range(k + 1, self.n_layers - 1):
            Z = self.Z[u]
            first = np.broadcast_to(dZ[0], (len(cols), *Z.shape))
            if self._activation.has_kink:
                radii = self._merge_radii(radii, self._radii(u, first))
            taylor = self.taylor[u]
            if u == k + 1:
                # dZ is exactly c * w here: its powers are monomials.
                dA = [
                    None if coef is None else coef * w**q
                    for q, coef in enumerate(taylor, start=1)
                ]
            else:
                dA = jet_series(taylor, jet_powers(dZ))
            if self.masks is not None:
                dA = jet_map(lambda term, M=self.masks[u]: term * M, dA)
            dZ = jet_map(lambda term, W=self.coefs[u + 1]: term @ W, dA)
        shape = (len(cols), *self.Z[-1].shape)
        dZ = [None if term is None else np.broadcast_to(term, shape) for term in dZ]
        return self._loss_jet(dZ), radii

    def _radii(self, u, first):
        """Nearest sign change of ``Z[u] + c * first`` for c > 0 and c < 0."""
        Z = self.Z[u]
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = -Z / first
        valid = first != 0
        if self.masks is not None:
            valid &= self.masks[u] != 0
        r_plus = np.where(valid & (crossing >= 0), crossing, np.inf).min(axis=-1)
        r_minus = np.where(valid & (crossing <= 0), crossing, -np.inf).max(axis=-1)
        return r_plus, r_minus

    @staticmethod
    def _merge_radii(old, new):
        if old is None:
            return new
        return np.minimum(old[0], new[0]), np.maximum(old[1], new[1])
