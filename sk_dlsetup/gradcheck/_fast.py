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

Every rule that depends on the activation or the loss comes from a table:
the network's (``ACTIVATIONS``, ``LOSSES``: forward and derivative) and the
checker's (:mod:`._rules`: change, Taylor coefficients, kinks), and the base pass is
the network's own :func:`~sk_dlsetup.neural_network._network.forward`; the
expansion around theta0 lives in :mod:`._expansion`. This module holds no
second copy of the network's math, only the finite-difference bookkeeping:
steps, chunks, kinks and the noise of each value.

ReLU kinks are found on the way: an entry crosses a kink when a hidden
pre-activation (of a kept unit) has different signs at ``theta + eps e`` and
``theta - eps e``. Such entries are evaluated exactly (up to ``max_exact``) and
flagged.

Everything here works in float64 on copies; the objective itself is only read.
"""

import numpy as np

from ..neural_network._layout import block_layer
from ..neural_network._series import ORDER
from ._expansion import NetworkExpansion
from ._noise import UNIT_ROUNDOFF

#: Round-off of a sum over samples, relative to the sum of the sizes of its
#: terms, per layer: it bounds both this module's sums and backprop's.
ROUNDOFF_FACTOR = 4.0

#: Mode 'auto' checks every entry up to this many parameters on this path.
FULL_LIMIT = 300_000


class MLPFiniteDifferences(NetworkExpansion):
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
    method = "central"
    step_power = 1.0 / 3.0
    cheap_entries = True
    step_scale_floor = 0.0  # 'auto' steps: truncation, not round-off, limits them
    unit_roundoff = UNIT_ROUNDOFF

    def __init__(self, objective, chunk_bytes=2**25, max_exact=20000, loss0=None):
        super().__init__(objective)
        self.chunk_bytes = int(chunk_bytes)
        self.max_exact = int(max_exact)
        #: Relative round-off allowed on sums over samples (both engines' sums).
        self._roundoff = ROUNDOFF_FACTOR * self.n_layers * UNIT_ROUNDOFF
        if loss0 is None:
            loss0 = objective.loss(objective.theta0)
        self.evaluation_noise = self.noise(loss0)

    @staticmethod
    def full_limit(n_entries):
        """Mode 'auto' checks every entry of models up to this size."""
        return FULL_LIMIT

    def noise(self, loss):
        """Forward error bound of one plain evaluation of ``J`` (= ``loss``).

        ``2 u L (|J| + sum_n s_n sum_k (|A[L-1]| |W[L]| + |b[L]|)[n, k])``: the
        round-off of the output pre-activations, each at most ``u`` times its
        absolute size per layer, moves the loss by at most that much (the loss
        has slope at most 1 in each output).
        """
        scale = abs(loss) + self._output_magnitude
        return 2.0 * UNIT_ROUNDOFF * self.n_layers * scale

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
