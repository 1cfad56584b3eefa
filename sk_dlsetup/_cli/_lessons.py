"""What a run of the main job showed, as sentences carrying their numbers.

Each ``*_lesson`` function takes measured results and returns one lesson as
paragraphs (a list of unwrapped strings; a bullet starts with "- "): the
sentence is chosen by the numbers (a textbook expectation that the run
contradicts is said so, with the likely reason), never printed regardless of
them. :func:`format_lesson` wraps one for the terminal.
"""

import textwrap

import numpy as np

from .._text import fmt

#: The rule each activation's textbook names: He for ReLU, Xavier for tanh.
TEXTBOOK_INIT = {"relu": "he", "tanh": "xavier"}

# A last hidden layer's activation std below this (relative to the first
# layer's) is a collapsed signal: nothing of the input is left to learn from.
_COLLAPSED = 1e-6


def per_layer_factor(stats):
    """Geometric mean of the activation std's change from one hidden layer to the next.

    Parameters
    ----------
    stats : list of dict
        :func:`~sk_dlsetup.diagnostics.layer_statistics` rows (the last row is
        the output layer, left out).

    Returns
    -------
    factor : float
        NaN with fewer than two hidden layers.

    Examples
    --------
    >>> rows = [{"activation_std": s} for s in (1.0, 0.5, 0.25, 9.0)]
    >>> per_layer_factor(rows)
    0.5
    """
    hidden = [row["activation_std"] for row in stats[:-1]]
    if len(hidden) < 2 or not hidden[0] > 0:
        return float("nan")
    with np.errstate(divide="ignore"):
        return float((hidden[-1] / hidden[0]) ** (1.0 / (len(hidden) - 1)))


def normalization_lesson(raw, normalized, raw_scores, normalized_scores, metric):
    """The conditioning gain, what it means for the step size, and what it did.

    Examples
    --------
    >>> raw = {"condition_number": 3e7, "max_stable_learning_rate": 7e-4}
    >>> normalized = {"condition_number": 150.0, "max_stable_learning_rate": 0.27}
    >>> lesson = normalization_lesson(raw, normalized, [.5, .6], [.8, .9], "accuracy")
    >>> print(format_lesson(1, lesson))
    1. Normalizing the inputs cut the condition number of the least-squares
       problem from 3.00e+07 to 1.50e+02 (2.0e+05 times smaller). For plain
       gradient descent on a linear model, the largest stable step grew from
       7.00e-04 to 2.70e-01: a step size that trains the normalized problem makes
       the raw one diverge. The same network and learning rate reached CV accuracy
       0.550 on the raw inputs and 0.850 on the normalized ones.
    """
    gain = raw["condition_number"] / normalized["condition_number"]
    raw_mean, normalized_mean = np.mean(raw_scores), np.mean(normalized_scores)
    text = (
        "Normalizing the inputs cut the condition number of the least-squares "
        f"problem from {fmt(raw['condition_number'])} to "
        f"{fmt(normalized['condition_number'])} ({gain:.1e} times smaller). For "
        "plain gradient descent on a linear model, the largest stable step grew "
        f"from {fmt(raw['max_stable_learning_rate'])} to "
        f"{fmt(normalized['max_stable_learning_rate'])}: a step size that trains "
        "the normalized problem makes the raw one diverge. The same network and "
        f"learning rate reached CV {metric} {raw_mean:.3f} on the raw inputs and "
        f"{normalized_mean:.3f} on the normalized ones"
    )
    if gain < 10:
        text = text.replace("Normalizing the inputs cut", "Normalizing changed little:")
    if raw_mean >= normalized_mean:
        text += (
            ": no loss here without normalizing, as Adam scales each weight's "
            "step by its own gradient history, which absorbs much of the input "
            "scaling (plain gradient descent has no such help)"
        )
    return [text + "."]


def init_lesson(results, activation, depth, metric, chance):
    """The signal per layer under each init, and the scores that followed.

    Parameters
    ----------
    results : dict
        ``{init: {"stats": layer_statistics rows, "scores": CV scores}}``.
    activation : {'relu', 'tanh'}
    depth : int
        Hidden layers.
    metric : str
        'accuracy' or 'R^2'.
    chance : float
        The score of always predicting the most frequent class (or the mean).

    Returns
    -------
    paragraphs : list of str
    """
    lines = [
        f"Through {depth} hidden {activation} layers at initialization "
        "(activation std of the first and last hidden layer):"
        if depth > 1
        else f"One hidden {activation} layer at initialization (activation std):"
    ]
    for init, result in results.items():
        hidden = result["stats"][:-1]
        first, last = hidden[0]["activation_std"], hidden[-1]["activation_std"]
        if depth < 2:
            lines.append(f"- '{init}': {fmt(first)}.")
            continue
        factor = per_layer_factor(result["stats"])
        line = f"- '{init}': {fmt(first)} -> {fmt(last)}"
        if np.isfinite(factor):
            line += f", x{factor:.3f} per layer"
        overall = last / first
        if not last > _COLLAPSED * first:
            line += (
                f": the signal has collapsed by layer {depth}, and the "
                "gradients that flow back through the same weights vanish"
            )
        elif 0.5 <= overall <= 2:
            line += f": it keeps the signal's scale (x{overall:.2f} overall)"
        elif overall < 1:
            line += (
                f": it shrinks the signal {1 / factor:.2f}-fold per layer "
                f"(x{overall:.2g} overall)"
            )
            if activation == "relu" and init == "xavier":
                line += (
                    "; 1/sqrt(2) = 0.707 is ReLU's prediction for Xavier/LeCun's "
                    "variance 1/fan_in: ReLU zeroes half of each layer's input, "
                    "and He's 2/fan_in restores it"
                )
        else:
            line += (
                f": it grows the signal {factor:.2f}-fold per layer "
                f"(x{overall:.2g} overall)"
            )
        lines.append(line + ".")
    means = {init: result["scores"].mean() for init, result in results.items()}
    spreads = {init: result["scores"].std() for init, result in results.items()}
    scores = ", ".join(
        f"'{init}' {means[init]:.3f} +/- {spreads[init]:.3f}" for init in results
    )
    lines.append(f"After training, CV {metric}: {scores} (chance: {chance:.3f}).")
    lines.append(_verdict(results, means, spreads, activation, depth, chance))
    return lines


def _verdict(results, means, spreads, activation, depth, chance):
    textbook = TEXTBOOK_INIT[activation]
    best = max(means, key=means.get)
    near_chance = [
        init for init in results if means[init] - chance < 0.02 + spreads[init]
    ]
    # Only a collapsed signal is a lost input; a near-chance network whose
    # table shows the signal kept is said to have kept it.
    collapsed = [init for init in near_chance if _collapsed(results[init]["stats"])]
    kept = [init for init in near_chance if init not in collapsed and init != textbook]
    tail = ""
    if collapsed:
        tail = (
            f" {' and '.join(repr(i) for i in collapsed)} stayed at chance level: "
            "a network that has lost its input by the last layer has nothing to "
            "learn from."
        )
    if kept:
        tail += (
            f" {' and '.join(repr(i) for i in kept)} stayed near chance although "
            "its signal reached the last layer: it needs more updates than these "
            "epochs gave it."
        )
    if textbook in near_chance:
        tail += (
            f" Even '{textbook}' learned little: a network this deep needs more "
            "updates than these epochs gave it on this many rows (try more "
            "--epochs, or a smaller --depth)."
        )
    if best == textbook:
        return (
            f"'{textbook}', the textbook rule for {activation}, trained best, as "
            f"the signal per layer predicts.{tail}"
        )
    gap = means[best] - means[textbook]
    spread = max(spreads[best], spreads[textbook])
    if gap <= spread:
        return (
            f"'{best}' scored {gap:.3f} above '{textbook}' (the textbook rule for "
            f"{activation}), within the fold-to-fold spread of {spread:.3f}: a tie "
            f"on this data, not a contradiction.{tail}"
        )
    if depth < 2:
        return text_for_one_layer(best, textbook, activation, gap, spread) + tail
    overall = {
        init: per_layer_factor(results[init]["stats"]) ** max(depth - 1, 1)
        for init in (best, textbook)
    }
    text = _beat(best, textbook, activation, gap, spread)
    if abs(np.log(overall[best])) < abs(np.log(overall[textbook])):
        text += (
            f"Here '{best}' kept more of the signal from the first hidden layer "
            f"to the last (x{overall[best]:.2f}, against x{overall[textbook]:.2f} "
            f"for '{textbook}'), and the scores followed the signal."
        )
        if activation == "tanh":
            text += (
                " The rule keeps each layer's variance in tanh's linear range "
                "around 0; tanh flattens beyond it, so a larger scale cannot blow "
                "the signal up and only offsets tanh's shrinking over many layers."
            )
    else:
        text += (
            f"The rule is about keeping the signal through many layers; here "
            f"'{best}' scales it by x{overall[best]:.2f} from the first hidden "
            f"layer to the last, which Adam's per-weight step sizes make up for "
            "within the first epochs, and its smaller starting weights give "
            "smaller first outputs."
        )
        if depth < 20:
            text += " Rerun with --depth 20 to see the rule decide."
    return text + tail


def _collapsed(stats):
    """Whether the last hidden layer kept less than ``_COLLAPSED`` of the first's
    activation std (the signal is gone: nothing of the input is left)."""
    hidden = [row["activation_std"] for row in stats[:-1]]
    return len(hidden) > 0 and not hidden[-1] > _COLLAPSED * hidden[0]


def _beat(best, textbook, activation, gap, spread):
    return (
        f"'{best}' beat '{textbook}', the textbook rule for {activation}, by "
        f"{gap:.3f} (more than the fold-to-fold spread of {spread:.3f}). "
    )


def text_for_one_layer(best, textbook, activation, gap, spread):
    """The verdict when the textbook rule lost on a single hidden layer."""
    return _beat(best, textbook, activation, gap, spread) + (
        "With a single hidden layer there is no depth for the signal to vanish "
        "or explode through: the init's scale only sets where Adam starts."
    )


def gradient_check_lesson(reports, pass_threshold):
    """What the gradient checks at initialization and after training found.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> reports = {"init": R(passed=True, difference=8e-16),
    ...            "fitted": R(passed=True, difference=4e-15)}
    >>> print(format_lesson(2, gradient_check_lesson(reports, 1e-6)))
    2. Backpropagation agrees with finite differences: relative difference
       8.00e-16 at 'init' and 4.00e-15 at 'fitted', below the 1.00e-06 pass
       threshold, so the gradients that training followed were right.
    """
    found = " and ".join(
        f"{fmt(report.difference)} at {stage!r}" for stage, report in reports.items()
    )
    failed = [stage for stage, report in reports.items() if not report.passed]
    if failed:
        text = (
            f"The gradient check FAILED at {', '.join(failed)} (relative difference "
            f"{found}; pass below {fmt(pass_threshold)}): backpropagation disagrees "
            "with finite differences, so training followed wrong gradients. "
            "Section 2 names the block and entry to look at."
        )
    else:
        text = (
            f"Backpropagation agrees with finite differences: relative difference "
            f"{found}, below the {fmt(pass_threshold)} pass threshold, so the "
            "gradients that training followed were right."
        )
    return [text]


def format_lesson(number, paragraphs, width=80):
    """Lesson ``number`` wrapped to ``width``: "1. " then an indented body.

    Examples
    --------
    >>> print(format_lesson(3, ["Signal:", "- he keeps it.", "Done."], width=30))
    3. Signal:
       - he keeps it.
       Done.
    """
    lines = []
    for k, paragraph in enumerate(paragraphs):
        first = f"{number}. " if k == 0 else "   "
        bullet = paragraph.startswith("- ")
        lines.append(
            textwrap.fill(
                paragraph,
                width=width,
                initial_indent=first,
                subsequent_indent="     " if bullet else "   ",
            )
        )
    return "\n".join(lines)
