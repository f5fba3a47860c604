"""`verify` on Dask (`--workers`, `--scheduler`, `--cluster`): the same rows as the sequential run, in order."""

from __future__ import annotations

import json

import pytest

from sgd_check.sweep import dask_client, load_cluster
from sgd_check.verify import verify


def _strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("seconds", "cpu_seconds")}


def test_claims_on_a_local_cluster_match_the_sequential_run(tmp_path):
    seq = verify(["1"], size="test", out=str(tmp_path / "seq"))
    with dask_client({"type": "local", "workers": 1, "processes": False}) as client:
        par = verify(["1"], size="test", out=str(tmp_path / "par"), client=client)
    assert [r["id"] for r in par["claims"]] == ["1"]
    assert _strip(par["claims"][0]) == _strip(seq["claims"][0])
    assert par["verdict"] == seq["verdict"] and par["verdict"]["pass"] is True
    on_disk = json.loads((tmp_path / "par" / "claim_1.json").read_text())
    assert on_disk["claim"]["verdict"] == seq["claims"][0]["verdict"]


def test_cluster_file_is_validated(tmp_path):
    good = tmp_path / "c.toml"
    good.write_text('[cluster]\ntype = "local"\nworkers = 2\n')
    assert load_cluster(good) == {"type": "local", "workers": 2}
    bad = tmp_path / "b.toml"
    bad.write_text('[cluster]\ntype = "local"\nworkers = 0\n')
    with pytest.raises(ValueError, match="workers = 0 must be an integer"):
        load_cluster(bad)
    empty = tmp_path / "e.toml"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match=r"no \[cluster\] table"):
        load_cluster(empty)


@pytest.mark.parametrize(
    "extra, word", [(["--workers", "0"], "workers"), (["--cluster", "/nonexistent/c.toml"], "--cluster")]
)
def test_verify_cli_bad_parallel_options_exit_2(run_cli, tmp_path, extra, word):
    status, _, err = run_cli("verify", "1", "--out", tmp_path / "o", "--quiet", *extra)
    assert status == 2 and word in err and err.count("\n") == 1 and "Traceback" not in err
