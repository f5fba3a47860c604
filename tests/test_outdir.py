"""Output folders: atomic files, one run per folder (--resume/--overwrite), a lock, writability checked first."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sgd_check import _outdir

THEORY = ["theory", "quadratic", "--d", 12, "--M", 4, "--N", 3, "--times", "0,1,10"]
# Same structure as tests/test_cli_simulate.py (d=16, M=N=3, 3 seeds, float64): compiled code is shared.
SIM = ["simulate", "quadratic", "--d", 16, "--M", 3, "--N", 3, "--eta", 1e-3, "--seeds", 3, "--steps", 4]
SIM += ["--dtype", "float64", "--phase2", "none", "--quiet"]


def _one_line_2(status, err):
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# ---- item 2: atomic writes -------------------------------------------------------------------------------------
def test_atomic_path_keeps_the_old_file_on_interrupt(tmp_path):
    p = tmp_path / "result.json"
    _outdir.write_json(p, {"complete": True})
    with pytest.raises(KeyboardInterrupt), _outdir.atomic_path(p) as tmp:
        with open(tmp, "w") as fh:
            fh.write('{"half": ')
        raise KeyboardInterrupt
    assert json.loads(p.read_text()) == {"complete": True}
    assert os.listdir(tmp_path) == ["result.json"]  # no temporary file left behind


def test_failed_result_save_keeps_previous_complete_files(tmp_path, monkeypatch):
    """The old save_result streamed json.dump into an opened-for-writing result.json: a failure truncated it."""
    from sgd_check import QuadraticSGDConfig, simulate
    from sgd_check._sim import output as _sim_output

    cfg = QuadraticSGDConfig(d=16, M=3, N=3, beta=1.0, eta=1e-3, steps=4, seeds=3, dtype="float64", phase2="none")
    res = simulate(cfg, progress=False)
    paths = _sim_output.save_result(res, str(tmp_path), plot=False)
    before = {k: Path(v).read_bytes() for k, v in paths.items()}
    monkeypatch.setattr(_sim_output, "software_versions", lambda: {"jax": object()})  # not JSON-serialisable
    with pytest.raises(TypeError):
        _sim_output.save_result(res, str(tmp_path), plot=False)
    assert {k: Path(v).read_bytes() for k, v in paths.items()} == before
    assert sorted(os.listdir(tmp_path)) == ["result.json", "result.npz"]


# ---- item 3: one run per folder, --overwrite, no name collisions ---------------------------------------------------
def test_second_run_into_a_used_folder_is_refused(run_cli, tmp_path):
    out = tmp_path / "o"
    status, _, err = run_cli(*THEORY, "--out", out)
    assert status == 0, err
    first = (out / "theory.json").read_bytes()
    status, _, err = run_cli(*THEORY, "--beta", 0.7, "--out", out)
    _one_line_2(status, err)
    assert "--overwrite" in err and "theory" in err
    assert (out / "theory.json").read_bytes() == first
    # a simulate run into the theory folder is refused too, naming --resume and --overwrite
    status, _, err = run_cli(*SIM, "--out", out)
    _one_line_2(status, err)
    assert "--resume" in err and "--overwrite" in err
    # resuming a theory folder as a simulate run is refused
    status, _, err = run_cli(*SIM, "--out", out, "--resume")
    _one_line_2(status, err)
    assert "theory" in err


def test_overwrite_clears_that_runs_files_only(run_cli, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    for name in ("result.json", "result.npz", "checkpoint.npz", "risk.png"):  # an old simulate run
        (out / name).write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    status, _, err = run_cli(*THEORY, "--out", out)
    _one_line_2(status, err)
    status, _, err = run_cli(*THEORY, "--out", out, "--overwrite")
    assert status == 0, err
    names = set(os.listdir(out))
    assert names == {"theory.json", "curves.npz", "theory.png", "notes.txt", _outdir.MANIFEST_NAME}
    manifest = json.loads((out / _outdir.MANIFEST_NAME).read_text())
    assert manifest["command"] == "theory" and manifest["status"] == "complete"
    assert set(manifest["files"]) == {"theory.json", "curves.npz", "theory.png"}


def test_file_names_of_commands_do_not_collide(run_cli, tmp_path):
    a, b = tmp_path / "theory", tmp_path / "sim"
    assert run_cli(*THEORY, "--out", a)[0] == 0
    assert run_cli(*SIM, "--out", b)[0] == 0
    check_names = {f"{n}.png" for n in ("risk", "staircase", "emergence", "summary")} | {"report.json", "data.npz"}
    ta, sb = set(os.listdir(a)), set(os.listdir(b))
    assert ta & sb == {_outdir.MANIFEST_NAME}
    assert not (ta | sb) & check_names


def test_resume_with_another_configuration_is_refused_even_without_checkpoint(run_cli, tmp_path):
    out = tmp_path / "o"
    assert run_cli(*SIM, "--out", out)[0] == 0
    assert not (out / "checkpoint.npz").exists()  # 4 steps: one chunk, no checkpoint
    before = (out / "result.npz").read_bytes()
    status, _, err = run_cli(*[2e-3 if a == 1e-3 else a for a in SIM], "--out", out, "--resume")
    _one_line_2(status, err)
    assert "eta" in err and (out / "result.npz").read_bytes() == before


# ---- item 4: lock ------------------------------------------------------------------------------------------------
def test_folder_in_use_is_refused_and_stale_lock_taken_over(run_cli, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / _outdir.LOCK_NAME).write_text(f"{os.getpid()}\n")  # a live process holds it
    status, _, err = run_cli(*THEORY, "--out", out)
    _one_line_2(status, err)
    assert f"in use by PID {os.getpid()}" in err
    assert not (out / "theory.json").exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / _outdir.LOCK_NAME).write_text(f"{dead.pid}\n")  # left by a killed run
    status, _, err = run_cli(*THEORY, "--out", out)
    assert status == 0, err
    assert not (out / _outdir.LOCK_NAME).exists()  # released at the end


def test_lock_is_exclusive_between_processes(tmp_path):
    """A second process cannot take the lock while the first holds it."""
    code = (
        "import sys, time\n"
        "from sgd_check._outdir import OutputFolder\n"
        "with OutputFolder(sys.argv[1], 'theory'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(30)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError, match=f"in use by PID {holder.pid}"):
            with _outdir.OutputFolder(tmp_path, "theory"):
                pass
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    with _outdir.OutputFolder(tmp_path, "theory"):  # the killed holder's lock is stale now
        pass


# ---- item 5 / 8: unusable --out found before any work ----------------------------------------------------------------
def test_unusable_out_is_refused_before_any_work(run_cli, tmp_path, monkeypatch):
    import sgd_check._check.run as cmp

    def boom(*a, **k):
        raise AssertionError("the run started")

    monkeypatch.setattr(cmp, "run_check", boom)
    f = tmp_path / "file.txt"
    f.write_text("x")
    argv = ["check", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--eta", 1e-3, "--steps", 4, "--quiet"]
    status, _, err = run_cli(*argv, "--out", f)  # an existing file
    _one_line_2(status, err)
    assert "existing file" in err and str(f) in err
    status, _, err = run_cli(*argv, "--out", f / "sub")  # cannot be created
    _one_line_2(status, err)
    assert "cannot be created" in err
    status, _, err = run_cli(*SIM, "--out", f)
    _one_line_2(status, err)
    assert "existing file" in err


def test_manifest_and_npz_are_readable(run_cli, tmp_path):
    out = tmp_path / "o"
    assert run_cli(*SIM, "--out", out)[0] == 0
    with np.load(out / "result.npz") as z:
        assert z["risk"].shape[0] == 3
    m = json.loads((out / _outdir.MANIFEST_NAME).read_text())
    assert m["command"] == "simulate" and m["params"]["eta"] == 1e-3
