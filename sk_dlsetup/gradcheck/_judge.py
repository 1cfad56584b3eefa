"""The judge: differences, noise floors and verdicts of blocks and of a check."""

import numpy as np

from ._noise import UNIT_ROUNDOFF
from ._report import VERDICTS, BlockCheck, GradientCheckReport

_NOISE_CAP = 10.0  # an error within this many noise norms is never 'fail'
_NOISE_FAIL = 1e3  # one above this many noise norms fails from pass_threshold on


def _kink_difference(one_sided, analytic, kinks):
    """Relative difference of one-sided re-checks of kink entries (NaN if none)."""
    rechecked = kinks & np.isfinite(one_sided)
    if not rechecked.any():
        return np.nan
    a, g = one_sided[rechecked], analytic[rechecked]
    denom = np.linalg.norm(a) + np.linalg.norm(g)
    return float(np.linalg.norm(a - g) / denom) if denom > 0 else 0.0


class Judge:
    """Differences, noise floors and verdicts of rows and of the whole check."""

    def __init__(self, settings, noise, notes):
        self.settings = settings
        self.noise = noise
        self.notes = notes

    def verdict(self, difference, error, noise_norm, finite, name):
        s = self.settings
        if not finite:
            return "fail"
        if difference < s.pass_threshold:
            return "pass"
        verdict = "fail" if difference >= s.fail_threshold else "warn"
        if not s.noise_aware:
            return verdict
        if verdict == "fail" and error <= _NOISE_CAP * noise_norm:
            self.notes.append(
                f"{name}: the difference is within the finite-difference noise "
                f"(error {error:.1e}, noise {noise_norm:.1e}): 'warn', not 'fail'."
            )
            return "warn"
        if verdict == "warn" and error > _NOISE_FAIL * noise_norm:
            self.notes.append(
                f"{name}: the error ({error:.1e}) stands "
                f"{error / noise_norm:.0e} times above the finite-difference "
                f"noise: 'fail' although below fail_threshold."
            )
            return "fail"
        return verdict

    def _measure(self, numeric, analytic, entry_noise):
        finite = bool(np.all(np.isfinite(numeric)) and np.all(np.isfinite(analytic)))
        with np.errstate(all="ignore"):
            error = float(np.linalg.norm(numeric - analytic))
            denom = float(np.linalg.norm(numeric) + np.linalg.norm(analytic))
        if not finite:
            return np.nan, error, np.inf, False
        difference = error / denom if denom > 0 else 0.0
        noise_norm = float(np.sqrt(np.sum(entry_noise**2)))
        noise_norm += 100.0 * UNIT_ROUNDOFF * denom
        return difference, error, noise_norm, True

    def row(
        self,
        block,
        mode,
        eps,
        flat,
        analytic,
        numeric,
        kinks,
        noise,
        one_sided,
        escalated,
    ):
        name, _, shape = block
        used = ~kinks
        a, g, s = numeric[used], analytic[used], noise[used]
        difference, error, noise_norm, finite = self._measure(a, g, s)
        verdict = self.verdict(difference, error, noise_norm, finite, name)
        positions = np.flatnonzero(used)
        errors = np.abs(a - g)
        if a.size:
            bad = ~np.isfinite(errors)
            worst = positions[np.argmax(bad) if bad.any() else np.argmax(errors)]
        else:
            worst = None
        significant = np.abs(a) > 10.0 * s
        ratio = (
            float(np.median(g[significant] / a[significant]))
            if significant.any() and finite
            else np.nan
        )
        denom = np.linalg.norm(a) + np.linalg.norm(g) if finite else 0.0
        row = BlockCheck(
            name=name,
            shape=tuple(shape),
            difference=float(difference),
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
            noise=float(noise_norm / denom) if denom > 0 else 0.0,
            analytic=np.nan if worst is None else float(analytic[worst]),
            numeric=np.nan if worst is None else float(numeric[worst]),
            escalated=escalated,
            kink_difference=_kink_difference(one_sided, analytic, kinks),
            entries=None if flat is None else np.asarray(flat),
            numeric_values=numeric,
            analytic_values=analytic,
            kinks=kinks,
            one_sided_values=one_sided,
        )
        return row

    def report(self, rows, collected, *, mode, settings, **attributes):
        numeric = np.concatenate([c[0] for c in collected]) if collected else []
        analytic = np.concatenate([c[1] for c in collected]) if collected else []
        entry_noise = np.concatenate([c[2] for c in collected]) if collected else []
        difference, error, noise_norm, finite = self._measure(
            np.asarray(numeric, dtype=float),
            np.asarray(analytic, dtype=float),
            np.asarray(entry_noise, dtype=float),
        )
        overall = self.verdict(difference, error, noise_norm, finite, "overall")
        verdict = max([overall] + [row.verdict for row in rows], key=VERDICTS.index)
        n_kinks = sum(row.n_kinks for row in rows)
        if n_kinks:
            where = ", ".join(
                f"{row.name}: {row.n_kinks}" for row in rows if row.n_kinks
            )
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
        return GradientCheckReport(
            difference=float(difference),
            verdict=verdict,
            blocks=rows,
            mode=mode,
            requested_mode=settings.mode,
            epsilon=settings.epsilon,
            pass_threshold=settings.pass_threshold,
            fail_threshold=settings.fail_threshold,
            n_checked=sum(row.n_checked for row in rows),
            n_kinks=n_kinks,
            noise=float(self.noise),
            stage=None,
            notes=self.notes,
            **attributes,
        )
