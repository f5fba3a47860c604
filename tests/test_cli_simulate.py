"""`shallowlaws simulate`: tiny runs, JSON keys, files written, bad input → exit 2 with one line."""

import json
import os

import numpy as np
import pytest

# Same structure as tests/test_sim_engine.py (d=16, M=N=3, 3 seeds, float64): compiled code is shared.
Q = [
    "simulate",
    "quadratic",
    "--d",
    16,
    "--M",
    3,
    "--N",
    3,
    "--eta",
    4e-3,
    "--seeds",
    3,
    "--dtype",
    "float64",
    "--phase2",
    "none",
    "--quiet",
]


def test_json_has_the_documented_keys(run_cli):
    status, out, err = run_cli(*Q, "--steps", 300, "--json")
    assert status == 0, err
    obj = json.loads(out)
    for key in (
        "model",
        "params",
        "time_unit",
        "steps",
        "t",
        "risk",
        "risk_mean",
        "risk_std",
        "diverged",
        "samples_per_second",
        "seconds",
    ):
        assert key in obj, key
    assert obj["model"] == "quadratic" and obj["steps"][-1] == 300
    assert len(obj["risk"]) == 3 and len(obj["risk"][0]) == len(obj["t"])
    c = 1 / np.sqrt(3)
    np.testing.assert_allclose(obj["t"][-1], 4 * c * 4e-3 * 300)
    assert obj["diverged"] == [False] * 3 and obj["samples_per_second"] > 0


def test_t_max_out_and_resume(run_cli, tmp_path):
    out = str(tmp_path / "run")
    status, text, err = run_cli(*Q, "--t-max", 3.0, "--out", out, "--checkpoint-every", 1)
    assert status == 0, err
    steps = int(np.ceil(3.0 / (4 / np.sqrt(3) * 4e-3)))  # 325 steps: two chunks of 256, one checkpoint
    assert f"steps={steps}" in text
    for name in ("result.npz", "result.json", "result.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    with np.load(os.path.join(out, "result.npz")) as z:
        assert z["Y0"].shape == (3, 3, 3) and z["risk"].shape[0] == 3 and z["G_diag"].shape[2] == 3
    with open(os.path.join(out, "result.json")) as fh:
        meta = json.load(fh)
    assert meta["summary"]["params"]["steps"] == steps and "jax" in meta["versions"]
    # resuming gives the same numbers; another η is refused, naming the differing parameter
    assert os.path.exists(os.path.join(out, "checkpoint.npz"))
    status, text2, err = run_cli(*Q, "--t-max", 3.0, "--out", out, "--checkpoint-every", 1, "--resume", "--json")
    assert status == 0, err
    with np.load(os.path.join(out, "result.npz")) as z:
        assert json.loads(text2)["risk_mean"][-1] == pytest.approx(float(z["risk_mean"][-1]), abs=0, rel=0)
    status, _, err = run_cli(*[a if a != 4e-3 else 2e-3 for a in Q], "--t-max", 3.0, "--out", out, "--resume")
    assert status == 2 and "eta" in err and err.count("\n") == 1


def test_homogeneous_runs(run_cli):
    status, out, err = run_cli(
        "simulate",
        "homogeneous",
        "--d",
        12,
        "--M",
        2,
        "--N",
        2,
        "--eta",
        2e-4,
        "--steps",
        200,
        "--seeds",
        3,
        "--activation",
        "h4",
        "--json",
        "--dtype",
        "float64",
        "--init-scale",
        0.5,
    )
    assert status == 0, err
    obj = json.loads(out)
    assert obj["time_unit"] == "t = eta*steps" and obj["t"][-1] == pytest.approx(0.04)
    assert all(0 < r < 2 for r in obj["risk_mean"])
    # a schedule in the talk's loss convention: η_code = 2·η_talk in every piece; t = Σ η_n
    status, out, err = run_cli(
        *("simulate", "homogeneous", "--d", 12, "--M", 2, "--N", 2, "--eta", 2e-4, "--steps", 200, "--seeds", 3),
        *("--json", "--dtype", "float64", "--init-scale", 0.5, "--eta-schedule", "50:5e-5,150:1e-4"),
        *("--loss-convention", "talk"),
    )
    assert status == 0, err
    obj = json.loads(out)
    assert obj["params"]["eta_schedule"] == [[50, 1e-4], [150, 2e-4]]
    assert obj["t"][-1] == pytest.approx(4e-4 * 50 + 1e-4 * 100 + 2e-4 * 50)


@pytest.mark.parametrize(
    "args, word",
    [
        (["--eta", 0, "--steps", 10], "eta"),
        (["--eta", -1, "--steps", 10], "eta"),
        (["--eta", 1e-3, "--steps", 0], "steps"),
        (["--eta", 1e-3, "--steps", 10, "--seeds", 0], "seeds"),
        (["--eta", 1e-3, "--steps", 10, "--N", 99], "N"),
        (["--eta", 1e-3, "--steps", 10, "--M", 99], "M"),
        (["--eta", 1e-3, "--steps", 10, "--batch", 0], "batch"),
        (["--eta", 1e-3, "--steps", 10, "--dtype", "int8"], "dtype"),
        (["--eta", 1e-3, "--steps", 10, "--device", "abacus"], "device"),
        (["--eta", 1e-3, "--steps", 10, "--activation", "relu"], "activation"),
        (["--eta", 1e-3, "--steps", 10, "--resume"], "resume"),
        (["--eta", 1e-3, "--steps", 10, "--eta-schedule", "5:1e-3:2"], "eta-schedule"),
        (["--eta", 1e-3, "--steps", 10, "--eta-schedule", "five:1e-4"], "eta-schedule"),
        (["--eta", 1e-3, "--steps", 10, "--eta-schedule", "10:1e-4"], "eta_schedule[0][0]"),
        (["--eta", 1e-3, "--steps", 10, "--eta-schedule", "5:-1"], "eta_schedule[0][1]"),
        (["--eta", 1e-3, "--t-max", 1, "--eta-schedule", "5:1e-4"], "t-max"),
    ],
)
def test_bad_input_exits_2_with_one_line(run_cli, args, word):
    base = ["simulate", "quadratic", "--d", 8, "--M", 2, "--N", 2]
    status, out, err = run_cli(*base, *args)
    assert status == 2
    assert word in err and err.count("\n") == 1 and "Traceback" not in err


def test_homogeneous_rejects_unusable_activation(run_cli):
    status, _, err = run_cli(
        "simulate", "homogeneous", "--d", 8, "--M", 2, "--N", 2, "--eta", 1e-3, "--steps", 10, "--activation", "0*z"
    )
    assert status == 2 and "activation" in err and err.count("\n") == 1


def test_talk_loss_convention_doubles_eta(run_cli):
    """Issue 10 item 8: the talk's loss (f − y)² has twice the gradient of the code's ½(f − y)² (checked here by
    finite differences), so η_talk = η/2: `--loss-convention talk --eta 2e-3` is the same run as `--eta 4e-3`,
    and every output names the convention."""
    rng = np.random.default_rng(0)
    d, N = 7, 3
    U, x, y, c = rng.standard_normal((d, N)), rng.standard_normal(d), 0.3, 1 / np.sqrt(N)

    def f(U):
        h = U.T @ x
        return c * np.sum(h * h - 1)

    g_code = 2 * c * (f(U) - y) * np.outer(x, U.T @ x)  # the simulator's (Euclidean) gradient, docs/theory.md §2
    E = np.zeros_like(U)
    E[2, 1] = 1e-6
    fd_half = (0.5 * (f(U + E) - y) ** 2 - 0.5 * (f(U - E) - y) ** 2) / 2e-6
    fd_talk = ((f(U + E) - y) ** 2 - (f(U - E) - y) ** 2) / 2e-6
    assert fd_half == pytest.approx(g_code[2, 1], rel=1e-6) and fd_talk == pytest.approx(2 * g_code[2, 1], rel=1e-6)
    s1, out1, err1 = run_cli(*Q, "--steps", 300, "--json", "--loss-convention", "talk", "--eta", 2e-3)
    s2, out2, err2 = run_cli(*Q, "--steps", 300, "--json")
    assert s1 == 0 and s2 == 0, err1 + err2
    r1, r2 = json.loads(out1), json.loads(out2)
    np.testing.assert_array_equal(np.array(r1["risk"]), np.array(r2["risk"]))
    assert r1["params"]["loss_convention"] == "talk" and r1["params"]["eta_code"] == pytest.approx(4e-3)
    assert r2["params"]["loss_convention"] == "half"
