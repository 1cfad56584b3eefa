"""The command line's depth step: its lesson, chosen by hand-made numbers."""

from sk_dlsetup._cli._depth import depth_lesson


def _text(lines):
    return " ".join(lines)


def _results(activation, spreads, scores):
    return {
        (activation, init): {"spread": [1.0, spreads[init]], "score": scores[init]}
        for init in spreads
    }


def test_isometric_init_that_trains_best_is_named_with_both_numbers():
    results = _results(
        "tanh",
        {"xavier": 8e15, "orthogonal": 2.6, "lsuv": 8e10},
        {"xavier": 0.18, "orthogonal": 0.73, "lsuv": 0.15},
    )
    text = _text(depth_lesson(results, 100, "accuracy", 0.1))
    assert "'orthogonal' kept the input-output Jacobian near-isometric" in text
    assert "spread 2.60 at layer 100, against 8.00e+15 for 'xavier'" in text
    assert "trained best: accuracy 0.730, against 0.180 for the next" in text
    assert "'lsuv' stayed near chance" in text


def test_isometric_init_that_does_not_train_best_is_said_so():
    results = _results(
        "tanh",
        {"xavier": 8e15, "orthogonal": 2.6},
        {"xavier": 0.6, "orthogonal": 0.4},
    )
    text = _text(depth_lesson(results, 100, "accuracy", 0.1))
    assert "yet 'xavier' trained best (accuracy 0.600, 'orthogonal' 0.400)" in text
    assert "trained best: accuracy" not in text


def test_no_isometric_init_says_so_and_why_for_relu():
    results = _results(
        "relu",
        {"he": 8e16, "orthogonal": 5e16},
        {"he": 0.29, "orthogonal": 0.24},
    )
    text = _text(depth_lesson(results, 100, "accuracy", 0.1))
    assert "every init spread the Jacobian to at least 5.00e+16 by layer 100" in text
    assert "ReLU zeroes about half" in text
    assert "'he' trained best: accuracy 0.290" in text
    assert "near-isometric" not in text.split(":", 1)[1]
