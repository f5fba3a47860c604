"""The ``shallowlaws`` command line: thin wiring over the public APIs, no numerics here.

Subcommands live in sibling modules (``_hermite_cmd``, ``_theory_cmd``, ``_simulate_cmd``, ``_check_cmd``,
``_demo_cmd``). Each module defines ``register(subparsers)``, which adds its parser and sets
``func=run`` where ``run(args) -> int`` returns the exit status. Bad input (``ValueError``/``TypeError``,
unreadable files) becomes one line on stderr and exit status 2; a traceback reaching a user is a bug.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

__all__ = ["main", "build_parser"]

# Modules registering subcommands, in the order they appear in ``--help``.
_COMMAND_MODULES = (
    "_hermite_cmd",
    "_theory_cmd",
    "_simulate_cmd",
    "_check_cmd",
    "_demo_cmd",
    "_sweep_cmd",
    "_verify_cmd",
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2, no usage dump)."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = _Parser(
        prog="shallowlaws",
        description="Theory of SGD in shallow networks: Hermite expansions, gradient-flow theory, SGD checks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a subcommand not built yet
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``shallowlaws`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        status = args.func(args)
    except (ValueError, TypeError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"shallowlaws {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"shallowlaws {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: still no traceback for users unless asked
        if os.environ.get("SHALLOWLAWS_DEBUG"):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"shallowlaws {args.command}: internal error ({type(exc).__name__}: {msg}); "
            "rerun with SHALLOWLAWS_DEBUG=1 for a traceback and report it",
            file=sys.stderr,
        )
        return 3
    return int(status or 0)


def _console_main() -> None:
    sys.exit(main())
