"""mkdocs hook: fill the CLI reference page from the argparse parsers, so it cannot drift from the code.

`docs/cli.md` holds the marker ``<!-- cli-help -->``; at build time it is replaced by the ``--help`` text of
``shallowlaws`` and of every subcommand, taken from ``sgd_check.cli.build_parser()`` (formatted at 100 columns).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

MARKER = "<!-- cli-help -->"
WIDTH = "100"


def _help_sections() -> str:
    root = str(Path(__file__).resolve().parent.parent)  # document the checked-out code, not another install
    if root not in sys.path:
        sys.path.insert(0, root)
    from sgd_check.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH  # argparse reads the width from the environment when formatting
    try:
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parts = ["## `shallowlaws`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, sp in sub.choices.items():
            parts += [f"## `shallowlaws {name}`", "", "```text", sp.format_help().rstrip(), "```", ""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "cli.md":
        if MARKER not in markdown:
            raise ValueError(f"docs/cli.md lost its {MARKER} marker; the CLI reference would be empty")
        return markdown.replace(MARKER, _help_sections())
    return markdown
