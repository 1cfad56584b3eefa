"""Every code example of the user guide runs, and prints what the page shows.

Each page of ``docs/user_guide`` is run as a doctest (its ``>>>`` examples, in
order, in one namespace). Shown numbers are compared with a tolerance, so that
a changed result fails here instead of going stale on the page while BLAS
differences in the last digits do not: numbers at or above 1e-6 within 2 %
(or 1e-12 absolute), smaller ones (round-off-sized differences) within a
factor of 10. An example that needs a library CI does not install (torch,
JAX, skops, distributed, scikit-learn's callbacks, matplotlib) is skipped
where that library is missing, with the rest of its page (which builds on
it); pages put such examples last. Any other example always runs.
"""

import doctest
import importlib.util
import re
import sys
from pathlib import Path

import pytest

PAGES = Path(__file__).resolve().parents[1] / "docs" / "user_guide"
#: What an example needs, by what its source imports.
OPTIONAL = {
    "torch": "torch",
    "jax": "jax",
    "skops": "skops",
    "distributed": "distributed",
    "sklearn.callback": "sklearn.callback",
    "Display": "matplotlib",
}
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _available(module):
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class TolerantChecker(doctest.OutputChecker):
    """Doctest's checker, then the same text with numbers compared loosely."""

    def check_output(self, want, got, optionflags):
        if super().check_output(want, got, optionflags):
            return True
        want_numbers, got_numbers = _NUMBER.findall(want), _NUMBER.findall(got)
        if len(want_numbers) != len(got_numbers) or not want_numbers:
            return False
        if not super().check_output(
            _NUMBER.sub("#", want), _NUMBER.sub("#", got), optionflags
        ):
            return False
        pairs = zip(want_numbers, got_numbers)
        return all(_close(float(w), float(g)) for w, g in pairs)


def _close(want, got):
    if abs(want) >= 1e-6 or abs(got) >= 1e-6:
        return abs(want - got) <= max(0.02 * abs(want), 1e-12)
    if want == 0 or got == 0:
        return want == got
    return 0.1 <= abs(got / want) <= 10


def _pages():
    return sorted(PAGES.glob("*.rst")) if PAGES.is_dir() else []


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.stem)
def test_user_guide_page(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = page.read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(text, {}, page.stem, str(page), 0)
    skipping = False
    for example in test.examples:
        # An example that needs a missing library is skipped, and so is every
        # example after it on the page: they build on what it defined.
        skipping = skipping or any(
            re.search(rf"\b{re.escape(module)}\b", example.source)
            and not _available(name)
            for module, name in OPTIONAL.items()
        )
        if skipping:
            example.options[doctest.SKIP] = True
    if test.examples and all(e.options.get(doctest.SKIP) for e in test.examples):
        pytest.skip(f"{page.name} needs a library that is not installed")
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(checker=TolerantChecker(), optionflags=flags)
    output = []
    try:
        result = runner.run(test, out=output.append)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
    assert result.failed == 0, "".join(output)


def test_every_page_is_covered_and_every_block_runs():
    """No code block hides from the doctest: a Python block holds '>>>'."""
    assert _pages(), "docs/user_guide is missing"
    for page in _pages():
        blocks = re.findall(
            r"^\.\. code-block:: python\n\n((?:[ ]{3,}.*\n|\n)+)",
            page.read_text(encoding="utf-8"),
            flags=re.M,
        )
        for block in blocks:
            assert ">>>" in block, f"{page.name}: a Python block without '>>>'"


def test_the_checker_compares_with_a_tolerance():
    checker, flags = TolerantChecker(), doctest.NORMALIZE_WHITESPACE
    assert checker.check_output("difference 1.19e-07\n", "difference 3.2e-08\n", flags)
    assert not checker.check_output("difference 1e-10\n", "difference 3e-08\n", flags)
    assert checker.check_output("ratio 2.0\n", "ratio 2.01\n", flags)
    assert not checker.check_output("ratio 2.0\n", "ratio 2.1\n", flags)
    assert not checker.check_output("pass 5\n", "fail 5\n", flags)


def _console_blocks(page):
    """``(commands, shown output)`` of each console block: '$ ' lines are
    commands, the lines after the last one its output."""
    text = (PAGES / page).read_text(encoding="utf-8")
    blocks = re.findall(
        r"^\.\. code-block:: console\n\n((?:[ ]{3}.*\n|\n)+)", text, flags=re.M
    )
    for block in blocks:
        lines = [line[3:] for line in block.rstrip("\n").split("\n")]
        commands = [
            line[2:].split("#")[0].split() for line in lines if line[:2] == "$ "
        ]
        last = max(i for i, line in enumerate(lines) if line[:2] == "$ ")
        yield commands, "\n".join(lines[last + 1 :])


@pytest.mark.skipif(not PAGES.is_dir(), reason="docs/user_guide is not here")
def test_command_line_page():
    """Every command shown is one the program accepts, and the shown summary
    of a run is what that run prints (numbers within the tolerance)."""
    import subprocess

    from sk_dlsetup.__main__ import build_parser

    parser = build_parser()
    runs = 0
    for commands, shown in _console_blocks("command_line.rst"):
        for command in commands:
            assert command[:3] == ["python", "-m", "sk_dlsetup"] or (
                command[0] == "sk-dlsetup"
            ), command
            arguments = command[3:] if command[0] == "python" else command[1:]
            parser.parse_args(arguments)
        if "Summary: what this run showed" not in shown:
            continue
        runs += 1
        completed = subprocess.run(
            [sys.executable, *commands[-1][1:]],
            capture_output=True,
            text=True,
            check=True,
        )
        got = completed.stdout[completed.stdout.index("Summary: what this run") :]
        want = shown[shown.index("Summary: what this run") :]
        flags = doctest.NORMALIZE_WHITESPACE
        assert TolerantChecker().check_output(want + "\n", got, flags), got
    assert runs == 1
