"""The judge: each entry against its own error bound, then blocks and a verdict.

Every value an engine returns comes with a bound: the error a correct gradient
may show there (round-off plus truncation, from that entry alone). An entry

- *agrees* when ``|numeric - analytic|`` is within its bound;
- is *unresolved* when both ``|numeric|`` and ``|analytic|`` lie below it:
  finite differences cannot see that gradient (vanishing, a plateau), so it
  is left out of the difference and never makes a verdict worse.

A block's difference and verdict come from its resolved entries: the
thresholds of the verdict scale, then (``noise_aware``) its entries' bounds:
a difference every entry's bound explains is 'pass', one within 3 bounds
never 'fail', and one 1000 times above them 'fail' from ``pass_threshold`` on.
"""

import numpy as np

from ._noise import UNIT_ROUNDOFF
from ._report import VERDICTS, BlockCheck, GradientCheckReport

_NOISE_CAP = 3.0  # an error within this many bounds is never 'fail'
_NOISE_FAIL = 1e3  # one above this many bounds fails from pass_threshold on
#: Round-off of the comparison itself, relative to the values compared.
_RELATIVE_FLOOR = 100.0 * UNIT_ROUNDOFF


def _kink_difference(one_sided, analytic, kinks):
    """Relative difference of one-sided re-checks of kink entries (NaN if none)."""
    rechecked = kinks & np.isfinite(one_sided)
    if not rechecked.any():
        return np.nan
    a, g = one_sided[rechecked], analytic[rechecked]
    denom = np.linalg.norm(a) + np.linalg.norm(g)
    return float(np.linalg.norm(a - g) / denom) if denom > 0 else 0.0


def entry_status(numeric, analytic, bound, kinks):
    """Which entries are judged, and which finite differences cannot resolve.

    Parameters
    ----------
    numeric, analytic, bound : ndarray of shape (m,)
        Finite differences, backprop's values and each entry's error bound.
    kinks : ndarray of bool of shape (m,)
        Entries whose check crossed a kink (judged by neither).

    Returns
    -------
    resolved, unresolved : ndarray of bool of shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> resolved, unresolved = entry_status(
    ...     np.array([1.0, 2e-10, 5e-10]), np.array([1.0, 1e-12, 3e-9]),
    ...     np.full(3, 1e-9), np.zeros(3, dtype=bool))
    >>> resolved.tolist(), unresolved.tolist()
    ([True, False, True], [False, True, False])
    """
    with np.errstate(invalid="ignore"):
        below = (np.abs(numeric) <= bound) & (np.abs(analytic) <= bound)
    unresolved = ~kinks & below
    return ~kinks & ~below, unresolved


class Judge:
    """Differences, bounds and verdicts of rows and of the whole check."""

    def __init__(self, settings, noise, notes):
        self.settings = settings
        self.noise = noise
        self.notes = notes
        self._explained = []  # blocks above pass_threshold that the bounds explain
        self.collected = []  # (numeric, analytic, bound) of each row's resolved entries

    def status(self, numeric, analytic, bound, kinks):
        """:func:`entry_status`; without ``noise_aware`` every entry that
        crossed no kink is judged (the lecture's plain difference)."""
        resolved, unresolved = entry_status(numeric, analytic, bound, kinks)
        if not self.settings.noise_aware:
            return ~kinks, np.zeros_like(unresolved)
        return resolved, unresolved

    def verdict(self, measured, name):
        """The verdict scale, then the entries' bounds (``noise_aware``)."""
        s = self.settings
        if not measured.finite:
            return "fail"
        if measured.difference < s.pass_threshold:
            return "pass"
        verdict = "fail" if measured.difference >= s.fail_threshold else "warn"
        if not s.noise_aware:
            return verdict
        if measured.excess <= 1.0:
            self._explained.append(name)
            return "pass"
        if verdict == "fail" and measured.excess <= _NOISE_CAP:
            self.notes.append(
                f"{name}: the difference is within the finite-difference noise "
                f"(error {measured.error:.1e}, bound {measured.bound:.1e}): "
                f"'warn', not 'fail'."
            )
            return "warn"
        if verdict == "warn" and measured.error > _NOISE_FAIL * measured.bound:
            self.notes.append(
                f"{name}: the error ({measured.error:.1e}) stands "
                f"{measured.error / measured.bound:.0e} times above the entries' "
                f"error bounds: 'fail' although below fail_threshold."
            )
            return "fail"
        return verdict

    def row(
        self,
        block,
        mode,
        eps,
        flat,
        analytic,
        numeric,
        kinks,
        bound,
        one_sided,
        escalated,
    ):
        name, _, shape = block
        resolved, unresolved = self.status(numeric, analytic, bound, kinks)
        a, g, b = numeric[resolved], analytic[resolved], bound[resolved]
        measured = _Measured(a, g, b)
        self.collected.append((a, g, b))
        if not resolved.any() and unresolved.any():
            verdict = "unresolved"
        else:
            verdict = self.verdict(measured, name)
        positions = np.flatnonzero(resolved)
        errors = np.abs(a - g)
        if a.size:
            bad = ~np.isfinite(errors)
            worst = positions[np.argmax(bad) if bad.any() else np.argmax(errors)]
        else:
            worst = None
        significant = np.abs(a) > 10.0 * b
        ratio = (
            float(np.median(g[significant] / a[significant]))
            if significant.any() and measured.finite
            else np.nan
        )
        return BlockCheck(
            name=name,
            shape=tuple(shape),
            difference=float(measured.difference),
            worst_index=(
                None
                if flat is None or worst is None
                else tuple(int(i) for i in np.unravel_index(flat[worst], shape))
            ),
            n_checked=int(numeric.size),
            n_kinks=int(kinks.sum()),
            ratio=ratio,
            verdict=verdict,
            size=int(np.prod(shape)),
            mode=mode,
            epsilon=float(eps),
            noise=measured.relative_bound,
            analytic=np.nan if worst is None else float(analytic[worst]),
            numeric=np.nan if worst is None else float(numeric[worst]),
            escalated=escalated,
            kink_difference=_kink_difference(one_sided, analytic, kinks),
            n_unresolved=int(unresolved.sum()),
            entries=None if flat is None else np.asarray(flat),
            numeric_values=numeric,
            analytic_values=analytic,
            kinks=kinks,
            one_sided_values=one_sided,
            bounds=bound,
        )

    def report(self, rows, *, mode, settings, **attributes):
        """The report over ``rows``, its difference over every resolved entry."""
        parts = [np.concatenate(c) for c in zip(*self.collected)]
        measured = _Measured(*(parts or [np.empty(0)] * 3))
        n_unresolved = sum(row.n_unresolved for row in rows)
        if measured.n_entries == 0 and n_unresolved:
            overall = "warn"
            self.notes.append(
                f"nothing was checked: all {n_unresolved} entries are below what "
                f"finite differences resolve at this step (vanishing gradients, "
                f"or an optimum); try epsilon='auto' or a larger epsilon."
            )
        else:
            overall = self.verdict(measured, "overall")
        ranked = [overall] + [row.verdict for row in rows if row.verdict in VERDICTS]
        verdict = max(ranked, key=VERDICTS.index)
        if self._explained:
            self.notes.append(
                f"{', '.join(self._explained)}: above pass_threshold, but every "
                f"entry is within its error bound (round-off and the step's "
                f"truncation): 'pass'."
            )
        self._note_unresolved(rows)
        self._note_kinks(rows)
        return GradientCheckReport(
            difference=float(measured.difference),
            verdict=verdict,
            blocks=rows,
            mode=mode,
            requested_mode=settings.mode,
            epsilon=_asked_epsilon(settings),
            pass_threshold=settings.pass_threshold,
            fail_threshold=settings.fail_threshold,
            n_checked=sum(row.n_checked for row in rows),
            n_kinks=sum(row.n_kinks for row in rows),
            n_unresolved=n_unresolved,
            noise=float(self.noise),
            stage=None,
            notes=self.notes,
            **attributes,
        )

    def _note_unresolved(self, rows):
        counts = [row for row in rows if row.n_unresolved]
        if not counts:
            return
        where = ", ".join(
            f"{row.name}: {row.n_unresolved}"
            + (" (all)" if row.verdict == "unresolved" else "")
            for row in counts
        )
        self.notes.append(
            f"{sum(row.n_unresolved for row in counts)} entries unresolved ({where}): "
            f"gradient below what finite differences resolve at this step "
            f"(vanishing, or a plateau); left out of the difference and the "
            f"verdict."
        )

    def _note_kinks(self, rows):
        n_kinks = sum(row.n_kinks for row in rows)
        if not n_kinks:
            return
        where = ", ".join(f"{row.name}: {row.n_kinks}" for row in rows if row.n_kinks)
        rechecked = ", ".join(
            f"{row.name}: {row.kink_difference:.1e}"
            for row in rows
            if np.isfinite(row.kink_difference)
        )
        self.notes.append(
            f"{n_kinks} checks crossed a ReLU kink ({where}) and were left out "
            f"of the difference and the verdict"
            + (
                f"; one-sided re-checks away from the kink: {rechecked}."
                if rechecked
                else "."
            )
        )


def _asked_epsilon(settings):
    """The step asked for: 'auto', a float, or 'default' for another method's
    own default step (the steps taken are in the rows)."""
    epsilon = settings.epsilon
    if epsilon == "auto":
        return "auto"
    if type(epsilon) is not float and settings.method != "central":
        return "default"  # epsilon left at DEFAULT_EPSILON (a float subclass)
    return float(epsilon)


class _Measured:
    """Difference, error and bound norms of resolved entries, and their excess.

    ``excess`` is the largest ``|numeric - analytic| / bound`` (bound with the
    comparison's own round-off added): at most 1 when every entry agrees.
    """

    def __init__(self, numeric, analytic, bound):
        numeric, analytic, bound = (
            np.asarray(v, dtype=np.float64) for v in (numeric, analytic, bound)
        )
        self.n_entries = numeric.size
        self.finite = bool(
            np.all(np.isfinite(numeric)) and np.all(np.isfinite(analytic))
        )
        with np.errstate(all="ignore"):
            gaps = np.abs(numeric - analytic)
            self.error = float(np.linalg.norm(gaps))
            denom = float(np.linalg.norm(numeric) + np.linalg.norm(analytic))
            bound = bound + _RELATIVE_FLOOR * (np.abs(numeric) + np.abs(analytic))
        self.bound = float(np.linalg.norm(bound))
        if not self.finite:
            self.difference, self.excess, self.relative_bound = np.nan, np.inf, 0.0
            return
        self.difference = self.error / denom if denom > 0 else 0.0
        self.relative_bound = self.bound / denom if denom > 0 else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(gaps > 0, gaps / bound, 0.0)
        self.excess = float(ratios.max()) if ratios.size else 0.0
