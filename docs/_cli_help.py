"""Write ``python -m sk_dlsetup --help`` into the build, so the docs cannot drift.

The command-line page includes ``gen_modules/cli_help.txt`` with
``literalinclude``; this extension regenerates it from the real parser at the
start of every build.
"""

import os
from pathlib import Path


def _write_help(app):
    from sk_dlsetup.__main__ import build_parser

    # argparse wraps to the terminal: fix the width to what the page column
    # shows without a scroll bar (about 72 monospace characters at 1280 px).
    os.environ["COLUMNS"] = "72"
    target = Path(app.srcdir) / "gen_modules" / "cli_help.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = build_parser().format_help()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def setup(app):
    app.connect("builder-inited", _write_help)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
