"""``python -m sgd_check`` is the ``shallowlaws`` command line."""

from sgd_check.cli import _console_main

_console_main()
