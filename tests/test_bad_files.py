"""Bad files and unrepresentable numbers: exit 2 with one line naming the file or argument and the fix."""

import os

import numpy as np
import pytest

from sgd_check._sim import checkpoint as _checkpoint

SIM = ["simulate", "quadratic", "--d", 16, "--M", 3, "--N", 3, "--eta", 1e-3, "--seeds", 3, "--steps", 4]
SIM += ["--dtype", "float64", "--phase2", "none", "--quiet"]


def _one_line_2(status, err):
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# ---- item 6: complex .npy --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "flag", "shape"),
    [("quadratic", "--init-overlap", (2, 3)), ("homogeneous", "--init-weights", (3, 10))],
)
def test_complex_npy_is_refused(run_cli, tmp_path, model, flag, shape):
    f = tmp_path / "c.npy"
    np.save(f, np.full(shape, 0.1 + 0.1j))
    status, _, err = run_cli("theory", model, "--d", 10, "--M", 2, "--N", 3, flag, f)
    _one_line_2(status, err)
    assert "complex" in err and flag in err


# ---- item 8: corrupted files -------------------------------------------------------------------------------------
def _fake_checkpoint(path):
    state = (np.zeros((2, 3)), np.ones(2, bool))
    _checkpoint.save(str(path), {"eta": 1.0}, state, [{"risk": np.ones(2)}], [0], 1, 0.5)


@pytest.mark.parametrize("damage", ["empty", "truncate", "edit", "garbage"])
def test_damaged_checkpoint_is_refused_by_name(tmp_path, damage):
    p = tmp_path / "checkpoint.npz"
    _fake_checkpoint(p)
    assert _checkpoint.load(str(p), {"eta": 1.0})["chunk"] == 1  # intact: loads
    raw = p.read_bytes()
    if damage == "empty":
        raw = b""
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "edit":
        i = raw.index(b"risk") + 40  # a byte of the payload, not of the trailer
        raw = raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :]
    else:
        raw = b"PK\x03\x04 not a zip at all"
    p.write_bytes(raw)
    with pytest.raises(ValueError, match="checkpoint .*checkpoint.npz"):
        _checkpoint.load(str(p), {"eta": 1.0})


def test_resume_from_corrupted_checkpoint_exits_2(run_cli, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(b"")
    status, _, err = run_cli(*SIM, "--out", out, "--resume")
    _one_line_2(status, err)
    assert "checkpoint.npz" in err and "empty" in err


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"\x93NUMPY garbage"])
def test_corrupted_data_npz_from_dir_exits_2(run_cli, tmp_path, content):
    (tmp_path / "data.npz").write_bytes(content)
    status, _, err = run_cli("check", "--from-dir", tmp_path)
    _one_line_2(status, err)
    assert "data.npz" in err and "allow_pickle" not in err and "--overwrite" in err


def test_huge_npy_header_is_refused_before_allocation(run_cli, tmp_path):
    f = tmp_path / "huge.npy"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 10), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    f.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    status, _, err = run_cli("theory", "homogeneous", "--d", 10, "--M", 2, "--N", 3, "--init-weights", f)
    _one_line_2(status, err)
    assert "(1000000000000, 10)" in err and "expected (N, d) = (3, 10)" in err


# ---- items 8 and 11: numbers that cannot be represented -------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["simulate", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--eta", 1e-3, "--steps", 10**20], "steps"),
        (["simulate", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--eta", 1e-3, "--t-max", 1e300], "t_max"),
        (["check", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--eta", 1e-3, "--t-max", 1e300], "t_max"),
        (["simulate", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--eta", 1e300, "--steps", 10], "eta"),
        (["simulate", "homogeneous", "--d", 8, "--M", 2, "--N", 2, "--eta", 1e300, "--steps", 10], "eta"),
        (["theory", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--t-max", 1e300], "--t-max"),
        (["theory", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--t-max", 10, "--points", 10**11], "--points"),
        (["theory", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--times", "log:1:1e300:5"], "times"),
        (["theory", "quadratic", "--d", 8, "--M", 2, "--N", 2, "--times", "0:1:100000000000"], "times"),
    ],
)
def test_unrepresentable_numbers_exit_2_before_work(run_cli, argv, needle):
    status, _, err = run_cli(*argv)
    _one_line_2(status, err)
    assert needle in err


def test_huge_init_weights_refused_up_front(run_cli, tmp_path):
    f = tmp_path / "w.npy"
    np.save(f, 1e200 * np.random.default_rng(0).standard_normal((3, 10)))
    status, _, err = run_cli("theory", "homogeneous", "--d", 10, "--M", 2, "--N", 3, "--init-weights", f)
    _one_line_2(status, err)
    assert "--init-weights" in err and "rescale" in err
    np.save(f, np.full((3, 10), np.nan))
    status, _, err = run_cli("theory", "homogeneous", "--d", 10, "--M", 2, "--N", 3, "--init-weights", f)
    _one_line_2(status, err)
    assert "NaN" in err


def test_out_is_an_existing_file(run_cli, tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    status, _, err = run_cli(*SIM, "--out", f)
    _one_line_2(status, err)
    assert str(f) in err and "existing file" in err
    assert os.path.getsize(f) == 1
