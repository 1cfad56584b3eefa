"""Central differences of sk_dlsetup's MLP objective, many entries at once.

The plain way to check ``P`` parameters costs ``2P`` full forward passes. This
module gets the same numbers far cheaper from the structure of an MLP:

* Perturbing an entry of layer ``k`` (``W[k][i, j]`` or ``b[k][j]``) leaves the
  activations below layer ``k`` unchanged: they are computed once (the *base*
  pass) and cached.
* It changes only column ``j`` of ``Z[k]``, by ``±eps * A[k][:, i]`` (by ``±eps``
  for a bias). After the activation, the input of layer ``k + 1`` changes by the
  rank-1 term ``c ⊗ W[k + 1][j, :]``: for every sample ``n`` the rest of the
  network sees one scalar ``c[n]``. The loss change of sample ``n`` is therefore a
  function ``phi[n, j](c)`` of one variable, the same for every entry of column
  ``j``. Its Taylor polynomial of degree ``K = 4`` is computed once per column by
  pushing truncated Taylor series through the layers above (batched matmuls over
  chunks of columns), and then evaluated at every entry's ``c[n]``. For the tiny
  ``c`` of a finite-difference step the omitted terms lie far below round-off;
  any entry for which the last kept term is not negligible is evaluated by exact
  batched propagation of its perturbation instead (:meth:`_exact_from`), so large
  steps stay exact too.
* Changes are propagated, not values: every quantity is the *change* from the
  base pass, computed with formulas free of cancellation (``tanh(a + d) - tanh(a)
  = tanh(d) sech(a)^2 / (1 + tanh(a) tanh(d))``, log-sum-exp changes through
  ``log1p`` / ``expm1``). ``J(theta + eps e) - J(theta - eps e)`` is then accurate
  to a relative round-off of the *difference* instead of an absolute round-off of
  ``J``, and the central difference is limited by its truncation error
  ``eps^2 J''' / 6`` alone.

Every rule that depends on the activation or the loss comes from the tables
of :mod:`sk_dlsetup.neural_network` (``ACTIVATIONS``, ``LOSSES``: forward,
change, Taylor coefficients, beside their derivatives), and the base pass is
the network's own :func:`~sk_dlsetup.neural_network._network.forward`: this
module holds no second copy of the network's math, only the finite-difference
bookkeeping.

ReLU kinks are found on the way: an entry crosses a kink when a hidden
pre-activation (of a kept unit) has different signs at ``theta + eps e`` and
``theta - eps e``. Such entries are evaluated exactly (up to ``max_exact``) and
flagged.

Everything here works in float64 on copies; the objective itself is only read.
"""

import numpy as np

from ..neural_network._activations import ACTIVATIONS
from ..neural_network._losses import LOSSES
from ..neural_network._network import (
    allocate_activations,
    block_layer,
    forward,
    layer_views,
    unpack,
)
from ..neural_network._series import ORDER, jet_map, jet_powers, jet_series
from ._noise import UNIT_ROUNDOFF

#: Round-off of a sum over samples, relative to the sum of the sizes of its
#: terms, per layer: it bounds both this module's sums and backprop's.
ROUNDOFF_FACTOR = 4.0

#: Mode 'auto' checks every entry up to this many parameters on this path.
FULL_LIMIT = 300_000


class MLPFiniteDifferences:
    """Central differences of an MLP objective (:class:`MLPObjective`), fast.

    Parameters
    ----------
    objective : MLPObjective
        Read only: its data, targets, masks, weights ``theta0`` and settings,
        in float64.
    chunk_bytes : int, default=2**25
        Bound on the size of the largest temporary array of a batch.
    max_exact : int, default=20000
        At most this many kink-crossing entries are re-evaluated exactly (their
        numbers are reported but never judged); beyond it they keep the
        polynomial value.
    loss0 : float or None, default=None
        ``objective.loss(theta0)``, for :attr:`evaluation_noise`; None
        evaluates it.

    Notes
    -----
    :meth:`entries` and :meth:`directions` return ``(numeric, kinks, noise)``:
    the central differences, which of them crossed a kink, and per value the
    error a *correct* model's comparison may show (round-off of this module's
    and of backprop's sums over samples, plus the central difference's
    truncation error). :meth:`noise` bounds the round-off of one plain
    evaluation of ``J``, for the report.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dlsetup.neural_network._objective import MLPObjective
    >>> rng = np.random.RandomState(0)
    >>> X, Y = rng.randn(8, 3), np.eye(2)[rng.randint(0, 2, 8)]
    >>> obj = MLPObjective([rng.randn(3, 4), rng.randn(4, 2)],
    ...                    [np.zeros(4), np.zeros(2)], X, Y, activation="tanh",
    ...                    loss="log_loss", alpha=0.1)
    >>> engine = MLPFiniteDifferences(obj)
    >>> numeric, kinks, noise, _ = engine.entries(0, np.arange(12), 1e-7)
    >>> analytic = obj.gradient(obj.theta0)[:12]
    >>> bool(np.max(np.abs(numeric - analytic)) < 1e-13), bool(kinks.any())
    (True, False)
    """

    name = "mlp-fast"
    cheap_entries = True
    unit_roundoff = UNIT_ROUNDOFF

    def __init__(self, objective, chunk_bytes=2**25, max_exact=20000, loss0=None):
        self.chunk_bytes = int(chunk_bytes)
        self.max_exact = int(max_exact)
        X = objective.X
        X = X.toarray() if hasattr(X, "toarray") else X
        self.X = np.asarray(X, dtype=np.float64)
        self.Y = np.asarray(objective.Y, dtype=np.float64)
        self.blocks = list(objective.blocks)
        theta = np.array(objective.theta0, dtype=np.float64)
        self.coefs, self.intercepts = unpack(theta, self.blocks)
        self.n_layers = len(self.coefs)
        self._activation = ACTIVATIONS[objective.activation]
        self._loss = LOSSES[objective.loss_name]
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
        #: Relative round-off allowed on sums over samples (both engines' sums).
        self._roundoff = ROUNDOFF_FACTOR * self.n_layers * UNIT_ROUNDOFF
        self._taylor = None
        self._magnitude = None
        self._base_pass(theta, objective.activation, objective.layer_units)
        if loss0 is None:
            loss0 = objective.loss(objective.theta0)
        self.evaluation_noise = self.noise(loss0)

    @staticmethod
    def full_limit(n_entries):
        """Mode 'auto' checks every entry of models up to this size."""
        return FULL_LIMIT

    # ---------------------------------------------------------------- base

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
            B = self._loss.delta_size(self.Z[-1], self.Y, self.out)
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

    def noise(self, loss):
        """Forward error bound of one plain evaluation of ``J`` (= ``loss``).

        ``2 u L (|J| + sum_n s_n sum_k (|A[L-1]| |W[L]| + |b[L]|)[n, k])``: the
        round-off of the output pre-activations, each at most ``u`` times its
        absolute size per layer, moves the loss by at most that much (the loss
        has slope at most 1 in each output).
        """
        scale = abs(loss) + self._output_magnitude
        return 2.0 * UNIT_ROUNDOFF * self.n_layers * scale

    def _mask(self, k, columns=None):
        if self.masks is None:
            return None
        return self.masks[k] if columns is None else self.masks[k][:, columns]

    # ------------------------------------------------------------ loss changes

    def _loss_change(self, dZ):
        """Per-sample data-loss change for an output change ``dZ`` (..., n, k)."""
        return self._loss.change(self.Z[-1], self.Y, self.out, dZ)

    def _loss_change_column(self, j, t):
        """Per-sample loss change when only output column ``j`` moves by ``t``.

        ``j`` has shape (m,), ``t`` shape (m, n); returns shape (m, n).
        """
        Z, Y, P = (M[:, j].T for M in (self.Z[-1], self.Y, self.out))
        return self._loss.column_change(Z, Y, P, t, self.Z[-1].shape[1])

    def _loss_jet(self, dZ):
        """Taylor coefficients of the per-sample loss change (list of (..., n))."""
        return self._loss.jet(self.Z[-1], self.Y, self.out, dZ)

    # ------------------------------------------------------- exact propagation

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

    def _central(self, plus, minus, eps):
        """Central differences from per-sample changes, and their absolute size.

        ``size`` is the weighted sum of the absolute per-sample contributions:
        the scale of the round-off of both the difference and of backprop's
        sum over samples, even when the contributions cancel (after training).
        """
        diff = (plus - minus) / (2.0 * eps)
        return diff @ self.scale, np.abs(diff) @ self.scale

    def _rows_per_chunk(self, row_elements):
        return max(1, self.chunk_bytes // (8 * max(1, row_elements)))

    # ------------------------------------------------------------- directions

    def directions(self, block, D, eps, analytic=None):
        """Central differences along the rows of ``D`` (m, block size).

        Returns ``(numeric, kinks, noise, one_sided)``, each of shape (m,).
        ``noise`` estimates the error of a correct model's comparison: round-off
        of the per-sample sums plus the truncation error, from a second
        difference at ``2 eps`` (Richardson). ``one_sided`` is all NaN (kinks
        along directions are not re-checked).
        """
        k, is_bias = block_layer(block)
        shape = self.blocks[block][2]
        D = np.asarray(D, dtype=np.float64).reshape((-1, *shape))
        n, units = self.Z[k].shape
        numeric, noise = np.empty(D.shape[0]), np.empty(D.shape[0])
        kinks = np.zeros(D.shape[0], dtype=bool)
        widest = max(Z.shape[1] for Z in self.Z[k:])
        step = self._rows_per_chunk(6 * n * widest)
        for start in range(0, D.shape[0], step):
            rows = slice(start, start + step)
            Dc = D[rows]
            m = Dc.shape[0]
            if is_bias:
                dZ = np.broadcast_to(eps * Dc[:, None, :], (m, n, units))
            else:
                dZ = eps * (self.A[k] @ Dc)
            dZ = np.concatenate([dZ, 2.0 * dZ])  # steps eps and 2 eps at once
            if k == self.n_layers - 1:
                plus, minus = self._loss_change(dZ), self._loss_change(-dZ)
            else:
                plus, minus, crossed = self._exact_from(k, dZ, -dZ)
                kinks[rows] = crossed[:m]
            steps = np.repeat([eps, 2.0 * eps], m)[:, None]
            value, size = self._central(plus, minus, steps)
            value, size, double = value[:m], size[:m], value[m:]
            penalty = 0.0
            if not is_bias and self.l2_scale:
                penalty = self.l2_scale * np.einsum("ij,mij->m", self.coefs[k], Dc)
            numeric[rows] = value + penalty
            backprop = np.abs(Dc).reshape(Dc.shape[0], -1) @ self._block_sizes(
                k, is_bias
            )
            noise[rows] = self._roundoff * (size + backprop + np.abs(penalty))
            noise[rows] += np.abs(double - value) / 3.0
        return numeric, kinks, noise, np.full(D.shape[0], np.nan)

    def _block_sizes(self, k, is_bias):
        """Per entry of block (k, W or b), the size of backprop's sum (flat)."""
        magnitude = self.magnitude[k]
        if is_bias:
            return magnitude.sum(axis=0)
        return (np.abs(self.A[k]).T @ magnitude).ravel()

    def _entry_sizes(self, k, v, j):
        """Size of backprop's sum for entries with inputs ``v`` (m, n), columns j."""
        return np.einsum("mn,nm->m", np.abs(v), self.magnitude[k][:, j])

    # ---------------------------------------------------------------- entries

    def entries(self, block, flat, eps, analytic=None):
        """Central differences of the entries ``flat`` (indices in the block).

        Returns ``(numeric, kinks, noise, one_sided)``, each of shape
        (len(flat),). ``noise`` estimates the error of a correct model's
        comparison: the round-off of the per-sample sums (of the difference and
        of backprop) plus the truncation error, the distance to the exact
        derivative from the first Taylor coefficient. ``one_sided`` re-checks a
        kink-crossing entry with the one-sided difference on the side away from
        the kink (NaN elsewhere, and where both sides cross one).
        """
        k, is_bias = block_layer(block)
        flat = np.asarray(flat, dtype=np.intp)
        units = self.Z[k].shape[1]
        rows, columns = (None, flat) if is_bias else np.divmod(flat, units)
        numeric, noise = np.empty(flat.size), np.empty(flat.size)
        kinks = np.zeros(flat.size, dtype=bool)
        one_sided, side = np.full(flat.size, np.nan), np.zeros(flat.size)
        if k == self.n_layers - 1:
            self._output_entries(k, rows, columns, eps, numeric, noise)
        else:
            out = (numeric, kinks, noise, one_sided, side)
            self._hidden_entries(k, rows, columns, eps, *out)
        if not is_bias and self.l2_scale:
            weights = self.coefs[k].ravel()[flat]
            numeric += self.l2_scale * weights
            noise += self._roundoff * self.l2_scale * np.abs(weights)
            # ((w + eps)^2 - w^2) / (2 eps) = w + eps / 2, and the mirror image.
            one_sided += self.l2_scale * (weights + side * eps / 2.0)
        return numeric, kinks, noise, one_sided

    def _inputs(self, k, rows, pos):
        """The entries' input columns ``A[k][:, i]`` (ones for biases), (m, n)."""
        if rows is None:
            return np.ones((pos.size, self.X.shape[0]))
        return self.A[k][:, rows[pos]].T

    def _output_entries(self, k, rows, columns, eps, numeric, noise):
        slope = self.slope
        step = self._rows_per_chunk(6 * self.X.shape[0])
        for start in range(0, columns.size, step):
            pos = np.arange(start, min(start + step, columns.size))
            v, j = self._inputs(k, rows, pos), columns[pos]
            plus = self._loss_change_column(j, eps * v)
            minus = self._loss_change_column(j, -eps * v)
            value, size = self._central(plus, minus, eps)
            derivative = (slope[:, j].T * v) @ self.scale
            numeric[pos] = value
            size += self._entry_sizes(k, v, j)
            noise[pos] = self._roundoff * size + np.abs(value - derivative)

    def _column_chunks(self, k, columns):
        """Groups of entry positions whose columns form one chunk of jets."""
        order = np.argsort(columns, kind="stable")
        unique, first = np.unique(columns[order], return_index=True)
        n_samples = self.X.shape[0]
        widest = max(Z.shape[1] for Z in self.Z[k + 1 :])
        per_column = 6 * ORDER * n_samples * widest
        step = self._rows_per_chunk(per_column)
        bounds = list(first) + [columns.size]
        for start in range(0, unique.size, step):
            stop = min(start + step, unique.size)
            positions = order[bounds[start] : bounds[stop]]
            yield unique[start:stop], positions

    def _hidden_entries(self, k, rows, columns, eps, numeric, kinks, noise, one, side):
        change = self._activation.change
        slope = self.taylor[k][0]  # g'(Z[k])
        mask = self._mask(k)
        budget = self.max_exact
        for cols, positions in self._column_chunks(k, columns):
            coefs, radii = self._column_jets(k, cols)
            local = np.searchsorted(cols, columns[positions])
            step = self._rows_per_chunk(4 * (ORDER + 4) * self.X.shape[0])
            for start in range(0, positions.size, step):
                pos = positions[start : start + step]
                loc = local[start : start + step]
                j = columns[pos]
                v = self._inputs(k, rows, pos)
                Z = self.Z[k][:, j].T
                base = self._column_base(k, j)
                cp = change(Z, base, eps * v)
                cm = change(Z, base, -eps * v)
                first = v * slope[:, j].T  # dc/deps at 0
                if mask is not None:
                    cp, cm = cp * mask[:, j].T, cm * mask[:, j].T
                    first = first * mask[:, j].T
                up_crossed, down_crossed = self._kinks(
                    k, Z, eps * v, j, radii, loc, cp, cm
                )
                crossed = up_crossed | down_crossed
                a = [None if coef is None else coef[loc] for coef in coefs]
                plus, tail_p, size_p = self._polynomial(a, cp)
                minus, tail_m, size_m = self._polynomial(a, cm)
                value, size = self._central(plus, minus, eps)
                up, down = plus @ self.scale, minus @ self.scale
                redo = (tail_p + tail_m > UNIT_ROUNDOFF * (size_p + size_m)) & ~crossed
                redo |= crossed & (np.cumsum(crossed) <= budget)
                budget = max(0, budget - int(crossed.sum()))
                if redo.any():
                    value[redo], size[redo], up[redo], down[redo] = self._exact_columns(
                        k, j[redo], cp[redo], cm[redo], eps
                    )
                derivative = (a[0] * first) @ self.scale
                numeric[pos] = value
                kinks[pos] = crossed
                size += self._entry_sizes(k, v, j)
                noise[pos] = self._roundoff * size + np.abs(value - derivative)
                forward = down_crossed & ~up_crossed
                backward = up_crossed & ~down_crossed
                one[pos] = np.where(
                    forward, up / eps, np.where(backward, -down / eps, np.nan)
                )
                side[pos] = forward.astype(float) - backward.astype(float)

    def _kinks(self, k, Z, step, j, radii, loc, cp, cm):
        """Entries whose +eps (first) or -eps (second) evaluation crosses a kink.

        A kept ReLU unit whose pre-activation changes sign from theta to
        theta + eps e (or theta - eps e): either at layer k itself or, through
        the radii, above it. Since perturbations are monotone in eps, this is
        a sign change between theta + eps e and theta - eps e.
        """
        none = np.zeros(Z.shape[0], dtype=bool)
        if not self._activation.has_kink:
            return none, none
        positive = Z > 0
        up, down = (Z + step > 0) != positive, (Z - step > 0) != positive
        if self.masks is not None:
            kept = self.masks[k][:, j].T != 0
            up, down = up & kept, down & kept
        up, down = up.any(axis=1), down.any(axis=1)
        if radii is not None:
            up |= self._beyond(radii, loc, cp)
            down |= self._beyond(radii, loc, cm)
        return up, down

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

    def _exact_columns(self, k, j, cp, cm, eps):
        """Exact central differences, sizes and both loss changes of columns."""
        value, size = np.empty(j.size), np.empty(j.size)
        up, down = np.empty(j.size), np.empty(j.size)
        widest = max(Z.shape[1] for Z in self.Z[k + 1 :])
        step = self._rows_per_chunk(4 * self.X.shape[0] * widest)
        for start in range(0, j.size, step):
            sl = slice(start, start + step)
            w = self.coefs[k + 1][j[sl]][:, None, :]
            plus, minus, _ = self._exact_from(
                k + 1, cp[sl][:, :, None] * w, cm[sl][:, :, None] * w
            )
            value[sl], size[sl] = self._central(plus, minus, eps)
            up[sl], down[sl] = plus @ self.scale, minus @ self.scale
        return value, size, up, down

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
