"""``shallowlaws sweep``: cells equal single CLI runs, resumable store, fault tolerance, bad specs, plots.

Independent truth: every cell is compared with the CLI command run on its own (``shallowlaws theory ... --json``
in-process); the predicted exponent in the plot data with the closed form (1 − 2β)/β; the store's arrays with the
cells' JSON. Sweeps run on a LocalCluster with 2 workers (threads, shared by the tests; one test starts process
workers to kill one mid-cell).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from sgd_check.cli import main
from sgd_check.sweep import SweepInterrupted, load_spec, open_sweep, run_sweep
from sgd_check.sweep._store import SweepStore, record_checksum

THEORY_SPEC = """
command = "theory quadratic"
[fixed]
d = 32
M = 8
times = "log:0.01:100:16"
[grid]
beta = [0.8, 1.2, 1.5]
N = [4, 8]
"""


@pytest.fixture(scope="module")
def client():
    """A LocalCluster with 2 thread workers, shared by the tests of this module."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    cl = Client(cluster)
    yield cl
    cl.close()
    cluster.close()


def _cli_json(argv) -> dict:
    """The command's own ``--json`` output, run alone (the truth a cell must equal)."""
    return json.loads(_cli_text(tuple(str(a) for a in argv)))


@functools.cache
def _cli_text(argv: tuple) -> str:  # the CLI is deterministic: run each command line once per session
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = main(list(argv) + ["--json"])
    assert status in (0, 1)
    return buf.getvalue()


def _write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _cell_files(store):
    return sorted(f for f in os.listdir(os.path.join(store, "cells")) if f.endswith(".json"))


def _assert_cells_equal_cli(spec, store, drop=()):
    st = SweepStore(store)
    for cell in spec.cells():
        state, rec = st.read_cell(cell)
        assert state == "done", (cell.params, state)
        want = _cli_json(cell.argv)
        got = dict(rec["result"])
        for k in drop:
            want.pop(k, None)
            got.pop(k, None)
        assert got == want, cell.params


# ------------------------------------------------------------------------------------------------ resumability
def test_interrupted_sweep_resumes_to_exactly_the_grid(tmp_path, client):
    spec_path = _write(tmp_path, THEORY_SPEC)
    spec = load_spec(spec_path)
    store = str(tmp_path / "s.zarr")
    written = []

    def stop_after_two(cell, rec):  # SIGTERM (what a batch system sends) in the middle of the sweep
        written.append(cell.key)
        if len(written) == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(SweepInterrupted) as info:
        run_sweep(spec, store, client=client, on_cell=stop_after_two, progress=False)
    first = info.value.result
    assert first.interrupted and first.done == 2 and first.skipped == 0
    assert len(_cell_files(store)) == 2  # nothing but the finished cells; in-flight cells were cancelled
    ds = open_sweep(store)
    assert int((ds["cell_status"] == "done").sum()) == 2 and int((ds["cell_status"] == "pending").sum()) == 4
    assert signal.getsignal(signal.SIGTERM) is not None  # handler restored (not left raising KeyboardInterrupt)

    res = run_sweep(spec, store, client=client, progress=False)  # the lock was released: resume works
    assert (res.cells, res.done, res.skipped, res.failed) == (6, 4, 2, 0)
    assert len(_cell_files(store)) == 6
    _assert_cells_equal_cli(spec, store)

    ds = open_sweep(store).load()
    assert ds["cell_status"].dims == ("beta", "N")
    assert ds["beta"].values.tolist() == [0.8, 1.2, 1.5] and ds["N"].values.tolist() == [4, 8]
    assert (ds["cell_status"] == "done").all()
    np.testing.assert_allclose(ds["phi"].values, [4 / 8, 8 / 8])
    # curves along the common time grid, scalars over the grid, full JSON kept: all equal to the single runs
    assert ds["risk"].dims == ("beta", "N", "t")
    np.testing.assert_array_equal(ds["t"].values, np.geomspace(0.01, 100, 16))
    for i, beta in enumerate([0.8, 1.2, 1.5]):
        for j, N in enumerate([4, 8]):
            want = _cli_json(
                ["theory", "quadratic", "--d", "32", "--M", "8", "--N", str(N), "--beta", str(beta)]
                + ["--times", "log:0.01:100:16"]
            )
            np.testing.assert_array_equal(ds["risk"].values[i, j], want["risk"])
            assert ds["floor"].values[i, j] == want["floor"]
            assert json.loads(str(ds["cell_json"].values[i, j])) == want
    assert ds.attrs["command"] == "theory quadratic" and ds.attrs["spec"]["grid"]["N"] == [4, 8]
    assert ds.attrs["cells"] == {"total": 6, "done": 6, "failed": 0, "pending": 0}
    assert ds.attrs["versions"]["zarr"] and len(ds.attrs["cell_status"]) == 6

    again = run_sweep(spec, store, client=client, progress=False)  # nothing left to do
    assert (again.done, again.skipped, again.failed) == (0, 6, 0)


def test_corrupted_cells_are_detected_and_recomputed(tmp_path, client, capsys):
    spec = load_spec(THEORY_SPEC.replace("[0.8, 1.2, 1.5]", "[1.2]"))
    store = str(tmp_path / "s.zarr")
    run_sweep(spec, store, client=client, progress=False)
    c_edit, c_trunc = spec.cells()
    p_edit, p_trunc = SweepStore(store).cell_path(c_edit.key), SweepStore(store).cell_path(c_trunc.key)
    rec = json.loads(Path(p_edit).read_text())
    rec["result"]["floor"] *= 1.01  # a silent edit: still valid JSON, checksum now wrong
    with open(p_edit, "w") as fh:
        json.dump(rec, fh)
    raw = Path(p_trunc).read_bytes()
    with open(p_trunc, "wb") as fh:  # a torn write
        fh.write(raw[: len(raw) // 2])
    assert SweepStore(store).read_cell(c_edit)[0] == "corrupt"
    assert SweepStore(store).read_cell(c_trunc)[0] == "corrupt"

    res = run_sweep(spec, store, client=client, progress=False)
    assert (res.done, res.skipped, res.recomputed) == (2, 0, 2)
    assert capsys.readouterr().err.count("is corrupted; recomputing") == 2
    _assert_cells_equal_cli(spec, store)
    fixed = json.loads(Path(p_edit).read_text())
    assert fixed["sha256"] == record_checksum(fixed)


def test_failed_cells_are_retried_then_recorded_with_their_error(tmp_path, client, monkeypatch):
    import sgd_check.sweep._runner as runner
    from sgd_check.sweep._cell import run_cell

    counts = str(tmp_path)

    def flaky(argv, needs_out):  # N=4 crashes once then works; N=8 always crashes (attempts counted in files)
        n = argv[argv.index("--N") + 1]
        with open(os.path.join(counts, f"calls-{n}"), "a") as fh:
            fh.write(".")
        k = os.path.getsize(os.path.join(counts, f"calls-{n}"))
        if n == "8" or k == 1:
            raise RuntimeError(f"simulated crash #{k} for N={n}")
        return run_cell(argv, needs_out)

    monkeypatch.setattr(runner, "run_cell", flaky)
    spec = load_spec("retries = 2\n" + THEORY_SPEC.replace("[0.8, 1.2, 1.5]", "[1.2]"))
    store = str(tmp_path / "s.zarr")
    res = run_sweep(spec, store, client=client, progress=False)
    assert (res.done, res.failed) == (1, 1)
    calls = {n: os.path.getsize(os.path.join(counts, f"calls-{n}")) for n in ("4", "8")}
    assert calls == {"4": 2, "8": 3}  # one retry sufficed; retries = 2 → three attempts, then recorded failed
    ok, bad = spec.cells()
    st = SweepStore(store)
    assert st.read_cell(ok)[1]["attempts"] == 2
    state, rec = st.read_cell(bad)
    assert state == "failed" and rec["attempts"] == 3 and "simulated crash #3 for N=8" in rec["error"]
    ds = open_sweep(store).load()
    assert ds["cell_status"].values.tolist() == [["done", "failed"]]
    assert "simulated crash #3" in str(ds["cell_error"].values[0, 1]) and np.isnan(ds["floor"].values[0, 1])

    # bad input to the command (N > d): exit status 2 of the command, recorded at once (not worth retrying)
    monkeypatch.setattr(runner, "run_cell", run_cell)
    spec2 = load_spec(THEORY_SPEC.replace("[0.8, 1.2, 1.5]", "[1.2]").replace("[4, 8]", "[4, 128]"))
    store2 = str(tmp_path / "s2.zarr")
    res2 = run_sweep(spec2, store2, client=client, progress=False)
    assert (res2.done, res2.failed) == (1, 1)
    rec = SweepStore(store2).read_cell(spec2.cells()[1])[1]
    assert rec["attempts"] == 1 and rec["exit_status"] == 2 and "`N`=128 exceeds `d`=32" in rec["error"]
    # a rerun retries the failed cell (it may have been transient) and skips the finished one
    res3 = run_sweep(spec2, store2, client=client, progress=False)
    assert (res3.skipped, res3.failed) == (1, 1)


def test_worker_killed_mid_cell_still_gives_a_complete_sweep(tmp_path, monkeypatch):
    """Two process workers; the first cell to start kills its worker (SIGKILL) 0.3 s in: Dask reschedules it."""
    import cloudpickle
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import WorkerPlugin

    marker = str(tmp_path / "killed")

    class KillOnce(WorkerPlugin):
        name = "kill-once"

        def __init__(self, marker):
            self.marker = marker

        def transition(self, key, start, finish, **kwargs):
            import threading

            if finish == "executing" and str(key).startswith("shallowlaws-cell-"):
                try:
                    fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    return
                os.write(fd, str(key).encode())
                os.close(fd)
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGKILL)).start()

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # whatever the killed worker leaves behind stays in tmp_path
    spec = load_spec(THEORY_SPEC.replace("[0.8, 1.2, 1.5]", "[1.2]"))
    store = str(tmp_path / "s.zarr")
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as cl,
    ):
        cl.register_plugin(KillOnce(marker))
        res = run_sweep(spec, store, client=cl, progress=False)
    assert os.path.exists(marker)  # a worker really was killed under a running cell
    assert (res.cells, res.done, res.failed) == (2, 2, 0)
    _assert_cells_equal_cli(spec, store)


def test_second_sweep_on_a_locked_store_exits_2(tmp_path, capsys):
    spec_path = _write(tmp_path, THEORY_SPEC)
    store = str(tmp_path / "s.zarr")
    with SweepStore(store).lock():
        status = main(["sweep", spec_path, "--out", store, "--json"])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "is in use by another sweep (pid" in err
    assert not os.path.exists(os.path.join(store, "cells"))  # refused before touching anything


# --------------------------------------------------------------------------------------------------- bad specs
_BAD = {
    "unknown command": ('command = "theory cubic"\n[grid]\nbeta = [1.0]\n', "unknown command 'theory cubic'"),
    "unknown parameter": (
        'command = "theory quadratic"\n[fixed]\nd = 8\nM = 4\nN = 2\nt_max = 3.0\n[grid]\nbeta = [1.0]\n',
        "unknown parameter 't_max' for `theory quadratic`; did you mean 't-max'?",
    ),
    "empty grid (no table)": ('command = "theory quadratic"\n[fixed]\nd = 8\nM = 4\nN = 2\n', "empty grid"),
    "empty grid (empty list)": (
        'command = "theory quadratic"\n[fixed]\nd = 8\nM = 4\nN = 2\n[grid]\nbeta = []\n',
        "empty grid: [grid] beta = [] has no values",
    ),
    "fixed and grid": (
        'command = "theory quadratic"\n[fixed]\nd = 8\nM = 4\nN = 2\nbeta = 1.0\n[grid]\nbeta = [1.0, 2.0]\n',
        "parameter 'beta' is in both [fixed] and [grid]",
    ),
    "zip lengths": (
        'command = "theory quadratic"\n[fixed]\nM = 4\n[zip]\nd = [8, 16]\nN = [2]\n',
        "[zip] lists must have one common length",
    ),
    "reserved option": (
        'command = "theory quadratic"\n[fixed]\nd = 8\nM = 4\nN = 2\njson = true\n[grid]\nbeta = [1.0]\n',
        "parameter 'json' is set by the sweep itself",
    ),
    "value the command rejects": (
        'command = "simulate quadratic"\n[fixed]\nd = 8\nM = 4\nN = 2\nsteps = 10\n[grid]\neta = ["fast"]\n',
        "is not a valid `simulate quadratic` run",
    ),
    "missing required option": (
        'command = "simulate quadratic"\n[fixed]\nd = 8\nM = 4\nN = 2\n[grid]\neta = [0.1]\n',
        "one of the arguments --steps --t-max is required",
    ),
    "toml syntax": ('command = "theory quadratic"\n[grid\nbeta = [1.0]\n', "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(_BAD))
def test_bad_specs_exit_2_with_one_line(tmp_path, capsys, case):
    text, needle = _BAD[case]
    spec_path = _write(tmp_path, text)
    store = str(tmp_path / "s.zarr")
    status = main(["sweep", spec_path, "--out", store])
    out, err = capsys.readouterr()
    assert status == 2, (case, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("shallowlaws sweep: error: ")
    assert needle in err, (case, err)
    assert not os.path.exists(store) and out == ""


# ---------------------------------------------------------------------------------------------- other commands
def test_simulate_cells_equal_single_cli_runs_and_zip_dimension(tmp_path, client):
    spec = load_spec(
        # the structure of tests/test_cli_simulate.py (d=16, M=N=3, 3 seeds, float64): compiled code is shared
        'command = "simulate quadratic"\n[fixed]\nd = 16\nM = 3\nN = 3\nsteps = 300\nseeds = 3\n'
        'dtype = "float64"\nphase2 = "none"\n[grid]\nseed = [0, 1]\n[zip]\nbeta = [1.0, 1.5]\neta = [4e-3, 8e-3]\n'
    )
    store = str(tmp_path / "sim.zarr")
    _cli_json(spec.cells()[0].argv)  # compile once in this process: the thread workers then share JAX's cache
    res = run_sweep(spec, store, client=client, progress=False)
    assert (res.done, res.failed) == (4, 0)
    # wall-clock fields differ between any two runs; every number of the simulation itself must be equal
    _assert_cells_equal_cli(
        spec, store, drop=("seconds", "samples_per_second", "engine_samples_per_second", "compile_seconds")
    )
    ds = open_sweep(store).load()
    assert ds["cell_status"].dims == ("seed", "zip")
    assert ds["beta"].dims == ("zip",) and ds["beta"].values.tolist() == [1.0, 1.5]
    assert ds["eta"].values.tolist() == [4e-3, 8e-3]
    assert ds["risk"].dims[:3] == ("seed", "zip", "run") and ds["risk"].dims[-1] == "t"
    assert ds["risk"].shape[2] == 3 and ds["steps"].dtype.kind == "i"
    rec = SweepStore(store).read_cell(spec.cells()[3])[1]  # seed=1, beta=1.5, eta=8e-3
    np.testing.assert_array_equal(ds["risk_mean"].values[1, 1], np.array(rec["result"]["risk_mean"], dtype=float))


# ------------------------------------------------------------------------------------------------------- plots
def test_sweep_cli_json_and_plots_from_the_store(tmp_path, capsys):
    spec_path = _write(tmp_path, THEORY_SPEC + '[cluster]\ntype = "local"\nworkers = 2\nprocesses = false\n')
    store = str(tmp_path / "s.zarr")
    status = main(["sweep", spec_path, "--out", store, "--json", "--quiet"])
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert status == 0 and set(summary) == {"cells", "done", "skipped", "failed", "seconds"}
    assert (summary["cells"], summary["done"], summary["skipped"], summary["failed"]) == (6, 6, 0, 0)

    plots = str(tmp_path / "plots")
    status = main(["sweep", "plot", store, "--out", plots, "--json"])
    files = json.loads(capsys.readouterr().out)["files"]
    assert status == 0
    names = sorted(os.path.basename(f) for f in files)
    assert names == sorted(
        ["phase-floor-beta-phi.png", "phase-floor-beta-phi.json", "curves-risk-by-N.png", "curves-risk-by-N.json"]
        + ["exponent-vs-beta.png", "exponent-vs-beta.json"]
    )
    assert all(os.path.getsize(f) > 0 for f in files)
    spec = load_spec(spec_path)
    truth = {(c.params["beta"], c.params["N"]): _cli_json(c.argv) for c in spec.cells()}

    phase = json.loads(Path(plots, "phase-floor-beta-phi.json").read_text())
    assert phase["x"]["values"] == [0.8, 1.2, 1.5] and phase["y"]["values"] == [4 / 8, 8 / 8]
    for i, N in enumerate([4, 8]):
        for j, beta in enumerate([0.8, 1.2, 1.5]):
            assert phase["values"][i][j] == truth[(beta, N)]["floor"]

    curves = json.loads(Path(plots, "curves-risk-by-N.json").read_text())
    assert [c["N"] for c in curves["curves"]] == [4, 8] and curves["selection"] == {"beta": 0.8}
    assert curves["curves"][1]["values"] == truth[(0.8, 8)]["risk"]

    expo = json.loads(Path(plots, "exponent-vs-beta.json").read_text())
    assert expo["selection"] == {"N": 4}
    np.testing.assert_allclose(expo["series"][0]["predicted"], [(1 - 2 * b) / b for b in (0.8, 1.2, 1.5)], rtol=1e-12)
    # fitted exponents (null where the run has no fit window) at another N, chosen with --sel
    status = main(["sweep", "plot", store, "--out", plots, "--kind", "exponent", "--x", "beta", "--sel", "N=8"])
    assert status == 0 and "exponent-vs-beta.png" in capsys.readouterr().out
    expo = json.loads(Path(plots, "exponent-vs-beta.json").read_text())
    fitted = [truth[(b, 8)]["fit"]["time_exponent"] for b in (0.8, 1.2, 1.5)]
    assert expo["selection"] == {"N": 8} and expo["series"][0]["fitted"] == fitted
    # at N = M = 8 no window spans ≥ 8 emergences, so every cell reports a null exponent with its reason, and the
    # plot carries those nulls rather than inventing a fit
    assert all(f is None for f in fitted) and all(truth[(b, 8)]["fit"]["reason"] for b in (0.8, 1.2, 1.5))

    # a plot request the store cannot satisfy: one line, exit 2
    status = main(["sweep", "plot", store, "--kind", "phase", "--var", "nope", "--x", "beta", "--y", "N"])
    err = capsys.readouterr().err
    assert status == 2 and "`--var`='nope' is not in the store" in err


# ------------------------------------------------------------------------------------------------------ Slurm
def test_slurm_cluster_table_becomes_the_batch_job_script():
    """The same spec on Slurm: [cluster] options reach dask-jobqueue's job script (no Slurm needed to build it)."""
    from sgd_check.sweep._runner import make_cluster

    spec = load_spec(
        THEORY_SPEC
        + '[cluster]\ntype = "slurm"\njobs = 4\ncores = 8\nprocesses = 8\nmemory = "16GB"\nqueue = "short"\n'
        + 'account = "myproj"\nwalltime = "02:00:00"\njob_extra_directives = ["--constraint=cpu"]\n'
    )
    cluster, jobs = make_cluster(spec)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert jobs == 4
    for line in ("#SBATCH -p short", "#SBATCH -A myproj", "#SBATCH --cpus-per-task=8", "#SBATCH -t 02:00:00"):
        assert line in script
    assert "#SBATCH --constraint=cpu" in script and "--nworkers 8" in script
    with pytest.raises(ValueError, match="options rejected by SLURMCluster"):
        make_cluster(load_spec(THEORY_SPEC + '[cluster]\ntype = "slurm"\ncores = 1\nmemory = "1GB"\nbogus = 3\n'))
