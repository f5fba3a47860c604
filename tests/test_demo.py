"""The demo suite plumbing: suite report, verdict = AND of the cases, printed table. Tiny cases only.

The default suite itself (minutes) is run by `make demo`; here two tiny quadratic cases with the same structure as
tests/test_check.py (compiled code is reused): one that tracks the flow and one with a step size far too large.
"""

from __future__ import annotations

import json

import pytest

from riccati import teacher_coefficients
from sgd_check._demo import DemoCase, demo_cases, eta_for_epsilon, run_demo
from sgd_check.cli import build_parser
from sgd_check.cli._demo_cmd import format_table

TINY = dict(d=32, M=4, N=4, beta=1.0)


def test_suite_verdict_is_the_and_of_the_cases(tmp_path):
    good = DemoCase("tiny-good", "ε=0.05", "quadratic", TINY, epsilon=0.05, t_max=25.0, seeds=3, n_log=40)
    bad = DemoCase("tiny-bad", "ε=30", "quadratic", TINY, epsilon=30.0, t_max=25.0, seeds=3, n_log=40)
    seen = []
    suite = run_demo(tmp_path, cases=[good, bad], on_case=lambda row: seen.append(row["case"]))
    assert seen == ["tiny-good", "tiny-bad"]
    rows = {r["case"]: r for r in suite["cases"]}
    assert rows["tiny-good"]["pass"] is True and rows["tiny-bad"]["pass"] is False
    assert rows["tiny-bad"]["failed_checks"]  # names the failed checks
    assert suite["verdict"]["pass"] is False
    assert [c["pass"] for c in suite["verdict"]["checks"]] == [True, False]
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk == suite
    for r in suite["cases"]:
        assert (tmp_path / r["case"] / "report.json").is_file()
        assert (tmp_path / r["case"] / "summary.png").stat().st_size > 5000
    table = format_table(suite)
    assert "tiny-good" in table and "PASS" in table and "FAIL" in table and "suite verdict: FAIL" in table
    assert str(tmp_path / "tiny-good" / "summary.png") in table
    assert "shallowlaws verify" in table  # the summary points to where the d→∞ claims are gated


def test_default_suite_covers_the_three_regimes():
    cases = {c.name: c for c in demo_cases()}
    pl, pt, hm = cases["quadratic-powerlaw"], cases["quadratic-plateau"], cases["homogeneous-h4"]
    assert pl.model == "quadratic" and pl.sizes["beta"] > 0.5 and pl.sizes["N"] < pl.sizes["M"]
    assert pt.model == "quadratic" and pt.sizes["beta"] < 0.5 and pt.sizes["N"] * 2 == pt.sizes["M"]
    assert hm.model == "homogeneous" and hm.sizes["activation"] == "h4"
    # η follows from the target ε exactly (ε is linear in η): quadratic ε = η·c·d·ℓ0/ã_N, ℓ0 = 2(c²N + 1)
    a = teacher_coefficients(pl.sizes["beta"], pl.sizes["M"])
    c, N, d = pl.sizes["N"] ** -0.5, pl.sizes["N"], pl.sizes["d"]
    assert eta_for_epsilon("quadratic", pl.sizes, 0.1) == pytest.approx(0.1 * a[N - 1] / (c * d * 2 * (c * c * N + 1)))
    for case in cases.values():
        cfg = case.config()
        assert cfg.steps * cfg.time_per_step >= case.t_max


def test_demo_command_is_registered():
    args = build_parser().parse_args(["demo", "--out", "somewhere", "--pdf"])
    assert args.out == "somewhere" and args.pdf and callable(args.func)


def test_demo_folder_is_one_run_and_overwrite_replaces_it(tmp_path):
    """A second demo into the same folder is refused; --overwrite deletes the old run's files (a stale PDF of a
    case included) before running; a folder locked by a live process is refused by PID."""
    good = DemoCase("tiny-good", "ε=0.05", "quadratic", TINY, epsilon=0.05, t_max=25.0, seeds=3, n_log=40)
    run_demo(tmp_path, cases=[good])  # the same case as above: its compiled code is reused
    with pytest.raises(ValueError, match="already holds a demo run.*--overwrite"):
        run_demo(tmp_path, cases=[good])
    stale = tmp_path / "tiny-good" / "risk.pdf"
    stale.write_bytes(b"%PDF stale")  # a figure of an earlier --pdf run: must not mix with the new run
    mine = tmp_path / "notes.txt"
    mine.write_text("not shallowlaws's")
    suite = run_demo(tmp_path, cases=[good], overwrite=True)
    assert not stale.exists() and mine.read_text() == "not shallowlaws's"
    assert json.loads((tmp_path / "report.json").read_text()) == suite
    manifest = json.loads((tmp_path / "shallowlaws-run.json").read_text())
    assert manifest["command"] == "demo" and manifest["status"] == "complete"
    (tmp_path / ".shallowlaws.lock").write_text("1\n")  # PID 1 is alive: the folder is in use
    with pytest.raises(ValueError, match="in use by PID 1"):
        run_demo(tmp_path, cases=[good], overwrite=True)


def test_verify_cli_refuses_a_used_folder(run_cli, tmp_path):
    status, _, err = run_cli("verify", "1", "--out", tmp_path, "--quiet")
    assert status == 0, err
    status, _, err = run_cli("verify", "1", "--out", tmp_path, "--quiet")
    assert status == 2 and "already holds a verify run" in err and err.count("\n") == 1
    status, _, err = run_cli("verify", "1", "--out", tmp_path, "--quiet", "--overwrite")
    assert status == 0, err
