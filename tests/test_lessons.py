"""The main job's lessons: sentences chosen by hand-made numbers."""

import numpy as np
import pytest

from sk_dlsetup._cli._lessons import (
    format_lesson,
    gradient_check_lesson,
    init_lesson,
    normalization_lesson,
    per_layer_factor,
)


def _stats(first, factor, depth):
    """layer_statistics rows with a geometric signal, plus an output row."""
    rows = [{"activation_std": first * factor**k} for k in range(depth)]
    return rows + [{"activation_std": 1.0}]


def _results(factors, means, spreads=None, depth=20):
    spreads = spreads or dict.fromkeys(factors, 0.01)
    return {
        init: {
            "stats": _stats(0.8, factors[init], depth),
            "scores": np.array(
                [means[init] - spreads[init], means[init] + spreads[init]]
            ),
        }
        for init in factors
    }


def _text(lesson):
    return " ".join(" ".join(lesson).split())


def test_per_layer_factor_is_the_geometric_mean():
    assert per_layer_factor(_stats(0.5, 0.7, 20)) == pytest.approx(0.7, rel=1e-12)
    assert np.isnan(per_layer_factor(_stats(0.5, 0.7, 1)))


def test_textbook_winner_and_collapse():
    results = _results(
        {"he": 1.0, "xavier": 2**-0.5, "random": 0.04},
        {"he": 0.83, "xavier": 0.73, "random": 0.10},
    )
    text = _text(init_lesson(results, "relu", 20, "accuracy", 0.1))
    assert "'he': 8.00e-01 -> 8.00e-01, x1.000 per layer: it keeps" in text
    assert "x0.707 per layer: it shrinks the signal 1.41-fold per layer" in text
    assert "1/sqrt(2) = 0.707 is ReLU's prediction" in text
    assert "collapsed by layer 20" in text
    assert "'he', the textbook rule for relu, trained best" in text
    assert "'random' stayed at chance level" in text


def test_a_win_within_the_spread_is_a_tie():
    results = _results(
        {"he": 0.95, "xavier": 0.8}, {"he": 0.90, "xavier": 0.91}, depth=3
    )
    text = _text(init_lesson(results, "relu", 3, "accuracy", 0.1))
    assert "'xavier' scored 0.010 above 'he'" in text
    assert "a tie on this data, not a contradiction" in text


def test_textbook_rule_losing_on_a_shallow_net_is_explained():
    results = _results(
        {"he": 0.95, "xavier": 0.7},
        {"he": 0.90, "xavier": 0.95},
        {"he": 0.005, "xavier": 0.005},
        depth=3,
    )
    text = _text(init_lesson(results, "relu", 3, "accuracy", 0.1))
    assert "'xavier' beat 'he', the textbook rule for relu, by 0.050" in text
    assert "scales it by x0.49 from the first hidden layer to the last" in text
    assert "Rerun with --depth 20" in text


def test_textbook_rule_losing_while_keeping_less_signal():
    """tanh: He kept more of the signal than Xavier, and the scores followed."""
    results = _results(
        {"he": 0.99, "xavier": 0.93},
        {"he": 0.80, "xavier": 0.64},
        {"he": 0.01, "xavier": 0.06},
    )
    text = _text(init_lesson(results, "tanh", 20, "accuracy", 0.1))
    assert "'he' beat 'xavier', the textbook rule for tanh, by 0.160" in text
    assert "kept more of the signal" in text
    assert "tanh flattens beyond it" in text
    assert "Rerun" not in text


def test_one_hidden_layer_has_no_depth_to_lose_the_signal_in():
    results = _results(
        {"he": 1.0, "xavier": 1.0},
        {"he": 0.80, "xavier": 0.90},
        {"he": 0.01, "xavier": 0.01},
        depth=1,
    )
    text = _text(init_lesson(results, "relu", 1, "accuracy", 0.1))
    assert "One hidden relu layer" in text
    assert "no depth for the signal to vanish" in text
    assert "nan" not in text


def test_normalization_lesson_numbers_and_the_adam_caveat():
    raw = {"condition_number": 1e6, "max_stable_learning_rate": 1e-3}
    normalized = {"condition_number": 10.0, "max_stable_learning_rate": 0.5}
    text = _text(normalization_lesson(raw, normalized, [0.8], [0.9], "R^2"))
    assert "from 1.00e+06 to 1.00e+01 (1.0e+05 times smaller)" in text
    assert "grew from 1.00e-03 to 5.00e-01" in text
    assert "CV R^2 0.800 on the raw inputs and 0.900" in text
    text = _text(normalization_lesson(raw, normalized, [0.95], [0.9], "R^2"))
    assert "Adam scales each weight's step" in text


def test_gradient_check_lesson_failed():
    from types import SimpleNamespace

    reports = {
        "init": SimpleNamespace(passed=False, difference=0.33),
        "fitted": SimpleNamespace(passed=True, difference=1e-12),
    }
    text = _text(gradient_check_lesson(reports, 1e-6))
    assert text.startswith("The gradient check FAILED at init")
    assert "3.30e-01 at 'init'" in text


def test_format_lesson_wraps_under_its_number():
    text = format_lesson(12, ["word " * 30, "- bullet " * 12], width=40)
    lines = text.splitlines()
    assert lines[0].startswith("12. ")
    assert all(len(line) <= 40 for line in lines)
    assert any(line.startswith("   - bullet") for line in lines)
    assert any(line.startswith("     bullet") for line in lines)


def test_textbook_init_at_chance_gets_a_hint():
    results = _results(
        {"he": 0.93, "xavier": 0.7, "random": 0.04},
        {"he": 0.0, "xavier": -0.01, "random": -0.02},
    )
    text = _text(init_lesson(results, "relu", 20, "R^2", 0.0))
    assert "Even 'he' learned little" in text
    assert "more --epochs, or a smaller --depth" in text


def test_near_chance_with_the_signal_kept_is_not_called_a_lost_input():
    """'he' at x0.95 per layer near chance kept its signal (its own table says
    so): only the collapsed 'random' is said to have lost its input."""
    results = _results(
        {"he": 0.95, "xavier": 0.95, "random": 0.04},
        {"he": 0.11, "xavier": 0.105, "random": 0.1},
    )
    text = _text(init_lesson(results, "relu", 20, "accuracy", 0.1))
    assert "'random' stayed at chance level: a network that has lost its input" in text
    assert "'he' and" not in text.split("lost its input")[0]
    assert "'xavier' stayed near chance although its signal reached" in text
