"""CLI plumbing: bad arguments exit 2 with one line, no traceback."""

import subprocess
import sys


def test_unknown_subcommand_exits_2():
    proc = subprocess.run([sys.executable, "-m", "sgd_check", "no-such-command"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
