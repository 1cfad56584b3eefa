"""Evaluating the blocks: which entries, which steps, and each block's row.

:func:`select_entries` picks the entries of every block (all of them, or a
stratified sample in which every block has its share); :class:`Runner` gets
their finite differences from an engine (:mod:`._engines`), retries with
larger steps what an 'auto' step cannot judge, escalates a failing
directional check to entries, and has the judge (:mod:`._judge`) make the row.
"""

from dataclasses import replace

import numpy as np

from ._directions import MAX_DIRECTIONS, detectable_error, gaussian_directions

#: 'auto' steps: an entry the block's step cannot judge is retried with steps
#: this many times larger (the largest about 1e-2 of the block's scale).
_STEP_GROWTH = (30.0, 1000.0)


def allocate(sizes, budget):
    """Water-filling: every block gets an equal share, capped by its size."""
    alloc = [0] * len(sizes)
    remaining = max(budget, len(sizes))
    open_blocks = [b for b, size in enumerate(sizes) if size > 0]
    while remaining > 0 and open_blocks:
        share = max(1, remaining // len(open_blocks))
        for b in list(open_blocks):
            take = min(sizes[b] - alloc[b], share, remaining)
            alloc[b] += take
            remaining -= take
            if alloc[b] == sizes[b]:
                open_blocks.remove(b)
            if remaining == 0:
                break
    return alloc


def select_entries(blocks, mode, n_entries, rng):
    """The flat entries to check in each block: all of them in mode 'full',
    else ``allocate``'s share of ``n_entries`` drawn without replacement."""
    sizes = [sl.stop - sl.start for _, sl, _ in blocks]
    if mode == "full":
        return [np.arange(size) for size in sizes]
    alloc = allocate(sizes, n_entries)
    return [
        np.sort(rng.choice(size, count, replace=False)) if count < size else
        np.arange(size)
        for size, count in zip(sizes, alloc)
    ]  # fmt: skip


class Runner:
    """Gets finite differences of a block from the engine and makes its row."""

    def __init__(self, engine, grad, judge, rng, retry=False):
        self.engine = engine
        self.grad = grad
        self.judge = judge
        self.rng = rng
        self.retry = retry

    def entries(self, b, block, eps, flat, mode, escalated=False):
        _, sl, _ = block
        analytic = self.grad[sl][flat]
        numbers = self.engine.entries(b, flat, eps, analytic)
        numbers = self._resolve(b, block, eps, flat, analytic, numbers)
        return self.judge.row(block, mode, eps, flat, analytic, *numbers, escalated)

    def _resolve(self, b, block, eps, flat, analytic, numbers):
        """'auto' steps: retry the entries this step cannot judge with larger ones.

        An entry is retried when it is unresolved or its bound exceeds
        ``fail_threshold`` times its size (an error that large would go
        unseen). It takes a larger step's value only where that step crosses no
        kink, gives a smaller bound and agrees with the value it replaces
        within both bounds (a step past the function's own scale aliases, and
        its Taylor-based bound would not say so); the rest keep their values.
        """
        if not self.retry or not self.judge.settings.noise_aware:
            return numbers
        numeric, kinks, bound, one_sided = (np.array(v) for v in numbers)
        taken = np.zeros(numeric.size, dtype=bool)
        for growth in _STEP_GROWTH:
            size = np.maximum(np.abs(numeric), np.abs(analytic))
            weak = ~kinks & (bound > self.judge.settings.fail_threshold * size)
            if not weak.any():
                break
            where = np.flatnonzero(weak)
            with np.errstate(all="ignore"):  # a larger step may leave J's domain
                retry, crossed, retry_bound, _ = self.engine.entries(
                    b, flat[where], eps * growth, analytic[where]
                )
            consistent = np.abs(retry - numeric[where]) <= retry_bound + bound[where]
            better = ~crossed & (retry_bound < bound[where]) & consistent
            take = where[better]
            numeric[take], bound[take] = retry[better], retry_bound[better]
            taken[take] = True
        if taken.any():
            self.judge.notes.append(
                f"{block[0]}: {int(taken.sum())} of {taken.size} entries were "
                f"checked with a larger step than {eps:.1e}, which bounds their "
                f"error more tightly."
            )
        return numeric, kinks, bound, one_sided

    def directional(self, b, block, eps, settings):
        """Random Gaussian directions of the block, as many as ``detect``
        needs (else ``n_directions``), and the error they are sure to catch."""
        name, sl, shape = block
        size = sl.stop - sl.start
        gradient = self.grad[sl]
        count = 1 if settings.detect is not None else settings.n_directions
        D = gaussian_directions(self.rng, count, size)
        analytic = D @ gradient
        numbers = self.engine.directions(b, D, eps, analytic)
        norm = float(np.linalg.norm(gradient))
        caught = detectable_error(
            numbers[0], analytic, numbers[2], norm, size, settings
        )
        while settings.detect is not None and caught > settings.detect:
            if analytic.size >= min(MAX_DIRECTIONS, size):
                self.judge.notes.append(
                    f"{name}: detect={settings.detect:g} needs more than "
                    f"{analytic.size} directions; this check catches errors of "
                    f"{caught:.2g} of the gradient norm (see the row's "
                    f"detectable_error), or check it with mode='full'."
                )
                break
            extra = gaussian_directions(self.rng, 1, size)
            more = self.engine.directions(b, extra, eps, extra @ gradient)
            analytic = np.concatenate([analytic, extra @ gradient])
            numbers = tuple(np.concatenate(pair) for pair in zip(numbers, more))
            caught = detectable_error(
                numbers[0], analytic, numbers[2], norm, size, settings
            )
        row = self.judge.row(block, "directional", eps, None, analytic, *numbers, False)
        row = replace(row, detectable_error=caught)
        if row.verdict != "fail":
            return row
        self.judge.collected.pop()
        flat = select_entries([block], "sampled", settings.n_entries, self.rng)[0]
        if self.engine.cheap_entries:
            flat = np.arange(size)
        mode = "full" if flat.size == size else "sampled"
        self.judge.notes.append(
            f"{name}: the directional check failed; re-checked entry by entry ({mode})."
        )
        return self.entries(b, block, eps, flat, mode, escalated=True)
