"""Regenerate the figure gallery: run each command of docs/gallery.md and copy small PNGs into docs/figures/.

Usage (from the repository root):  PYTHONPATH=. python docs/make_gallery.py [--keep DIR]

Each entry below is the exact ``shallowlaws`` command shown in docs/gallery.md; it runs in-process into a
scratch folder, and the PNGs it wrote are copied, downscaled to at most ``MAX_PX`` pixels wide (PNG, 8-bit
palette) so that the docs stay small. Nothing here computes or draws on its own: the figures are the commands'.
Expect several minutes on 2 CPU cores (two short SGD runs; the theory commands take seconds to a minute).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time

MAX_PX = 760
HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "figures")

# (name in docs/figures, command, file the command writes under its --out folder)
CHECK_Q = "check quadratic --d 64 --M 32 --N 8 --beta 0.8 --eta 0.0003 --t-max 120 --seeds 3 --n-log 100 --quiet"
ENTRIES = [
    ("check_summary_dashboard.png", f"{CHECK_Q} --out {{out}}/checkq", "checkq/summary.png"),
    ("check_risk_paper_1col.png", "check --from-dir {out}/checkq --style paper", "checkq/risk_1col.png"),
    ("check_staircase_paper_1col.png", "check --from-dir {out}/checkq --style paper", "checkq/staircase_1col.png"),
    ("check_emergence_paper_1col.png", "check --from-dir {out}/checkq --style paper", "checkq/emergence_1col.png"),
    ("check_summary_paper.png", "check --from-dir {out}/checkq --style paper", "checkq/summary_2col.png"),
    (
        "theory_overlay_N_paper_1col.png",
        "theory quadratic --d 2000 --M 200 --N 25,50,100,400 --beta 0.8 --style paper --out {out}/ovN",
        "ovN/overlay_1col.png",
    ),
    (
        "theory_overlay_beta_paper_1col.png",
        "theory quadratic --d 2000 --M 100 --N 25 --beta 0.3,0.8,1.5 --style paper --out {out}/ovb",
        "ovb/overlay_1col.png",
    ),
    (
        "theory_quadratic_paper_1col.png",
        "theory quadratic --d 4000 --M 400 --N 100 --beta 0.8 --style paper --out {out}/thq",
        "thq/theory_1col.png",
    ),
    (
        "theory_homogeneous_dashboard.png",
        "theory homogeneous --d 24 --M 5 --N 10 --beta 1 --out {out}/thh",
        "thh/theory.png",
    ),
]


def _small_png(src: str, dst: str) -> None:
    from PIL import Image

    im = Image.open(src).convert("RGB")
    if im.width > MAX_PX:
        im = im.resize((MAX_PX, round(im.height * MAX_PX / im.width)), Image.LANCZOS)
    im = im.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    tmp = dst + ".tmp"
    im.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, dst)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="DIR", help="run into DIR and keep the full outputs (default: a temp folder)")
    args = ap.parse_args(argv)
    from sgd_check.cli import main as cli

    out = args.keep or tempfile.mkdtemp(prefix="shallowlaws-gallery-")
    os.makedirs(FIGURES, exist_ok=True)
    done = set()
    for name, cmd, produced in ENTRIES:
        cmd = cmd.format(out=out)
        if cmd not in done:
            t0 = time.perf_counter()
            print(f"$ shallowlaws {cmd}", file=sys.stderr, flush=True)
            status = cli(shlex.split(cmd))
            print(f"  exit {status} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            if status not in (0, 1):  # 1 = a check failed: its figure is still the figure of that run
                return status
            done.add(cmd)
        _small_png(os.path.join(out, produced), os.path.join(FIGURES, name))
        print(f"  -> docs/figures/{name}", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
