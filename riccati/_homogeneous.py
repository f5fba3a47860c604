"""Two-homogeneous networks [RNWL25]: exact population gradient flow on overlaps (docs/theory.md §3).

Student f(x) = Σ_i ‖w_i‖² σ(⟨w_i,x⟩/‖w_i‖), teacher f_* = Σ_p ã_p σ(⟨θ_p,x⟩), same even σ with c_0 = 0, kernel
K(ρ) = E[σ(z)σ(z')] from :func:`hermite.kernel`. Loss ½E(f − f_*)², gradient flow dw/dt = −∇_w L in time
t = η·steps (online SGD). With r_i = ‖w_i‖², m_ip = ⟨w̄_i,θ_p⟩, ρ_ij = ⟨w̄_i,w̄_j⟩ the flow closes exactly, for any d
(d enters only through the initial state):
    dr_i/dt  = 4 r_i [Σ_p ã_p K(m_ip) − Σ_j r_j K(ρ_ij)]
    dm_ip/dt = Σ_q ã_q K'(m_iq)(δ_pq − m_iq m_ip) − Σ_{j≠i} r_j K'(ρ_ij)(m_jp − ρ_ij m_ip)
    dρ_ij/dt = D_ij + D_ji,  D_ij = Σ_p ã_p K'(m_ip)(m_jp − m_ip ρ_ij) − Σ_{l≠i} r_l K'(ρ_il)(ρ_lj − ρ_il ρ_ij).
Relative risk R = 2L/K(1), L = ½Σ_ij r_i r_j K(ρ_ij) − Σ_ip r_i ã_p K(m_ip) + ½K(1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import diffrax
import equinox as eqx
import jax.numpy as jnp
import numpy as np

from hermite.validation import require_int, require_real, require_width

from ._crossing import first_crossing_index
from ._haar import as_generator, gaussian_gram_blocks
from ._homogeneous_stiff import ReducedFlow, _KernelNP, kernel_series_b2, solve_stiff
from ._teacher import normalise_teacher, require_times

__all__ = [
    "HomogeneousSolution",
    "homogeneous_activation_info",
    "homogeneous_flow",
    "homogeneous_risk",
    "homogeneous_state",
    "sample_homogeneous_state",
    "predicted_emergence_homogeneous",
    "TIME_UNIT_HOMOGENEOUS",
]

TIME_UNIT_HOMOGENEOUS = "t = eta*steps (online SGD with step eta on 1/2 (f - y)^2)"


# ----------------------------------------------------------------------------------------------------------------
# Kernel resolution and validation
# ----------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Kern:
    name: str
    K: Any
    dK: Any
    K1: float
    k: int | None  # information exponent
    bk2: float | None  # b_k² (h-basis coefficient squared at the information exponent)
    b2: np.ndarray | None = None  # K(ρ) = Σ_j b2_j ρ^j when known (numpy right-hand side of the stiff solver)


_KERNEL_CACHE: dict[Any, _Kern] = {}


def _exponent_and_bk2(activation, kern) -> tuple[int | None, float | None]:
    """Information exponent k and b_k² (h basis) from hermite (spec) or the kernel's own h-basis coefficients."""
    import hermite

    co = getattr(kern, "coefficients", None)
    if co is None and not (hasattr(activation, "K") and hasattr(activation, "dK")):
        co = hermite.coefficients(activation, 20, basis="h")
    if co is None:
        return None, None
    k = hermite.information_exponent(co)
    if k is None:
        return None, None
    b = np.asarray(co.values, dtype=np.float64)
    if str(getattr(co, "basis", "h")) == "He":
        b = b * np.sqrt([math.factorial(j) for j in range(b.size)])
    return int(k), float(b[k] ** 2)


def _resolve_kernel(activation) -> _Kern:
    """Accept an activation spec (string, sympy, callable) or a kernel-like object with K, dK, K1 (and c0)."""
    if hasattr(activation, "K") and hasattr(activation, "dK") and hasattr(activation, "K1"):
        kern, name, even = activation, getattr(activation, "closed_form", None) or "kernel", None
    else:
        key = activation if isinstance(activation, str) else None
        if key is not None and key in _KERNEL_CACHE:
            return _KERNEL_CACHE[key]
        import hermite

        act = hermite.activation(activation)
        name, even = act.name, act.is_even
        if even is False:
            raise ValueError(
                f"`activation`={name!r} is not even: the homogeneous model needs an even σ with c_0 = 0; "
                "use e.g. 'h4' or 'He4'"
            )
        kern = hermite.kernel(activation)
    c0 = float(getattr(kern, "c0", 0.0))
    K1 = float(kern.K1)
    if not K1 > 0:
        raise ValueError(f"`activation`={name!r} has E[σ²] = {K1:g}: need a non-zero activation")
    if abs(c0) > 1e-10 * math.sqrt(K1):
        raise ValueError(
            f"`activation`={name!r} has c_0 = E[σ] = {c0:.6g} ≠ 0: the homogeneous model needs c_0 = 0; "
            f"subtract the mean, e.g. 'σ(z) - ({c0:.6g})'"
        )
    # Even σ ⇔ K even in ρ (only even j have b_j ≠ 0); check it whatever the input was.
    rho = jnp.linspace(0.05, 0.95, 7)
    Kp, Km = np.asarray(kern.K(rho)), np.asarray(kern.K(-rho))
    if even is None and not np.allclose(Kp, Km, rtol=1e-9, atol=1e-12 * K1):
        raise ValueError(f"`activation`={name!r} is not even (K(-ρ) ≠ K(ρ)); use an even σ such as 'h4'")
    k, bk2 = _exponent_and_bk2(activation, kern)
    out = _Kern(name=name, K=kern.K, dK=kern.dK, K1=K1, k=k, bk2=bk2, b2=kernel_series_b2(kern))
    if isinstance(activation, str):
        _KERNEL_CACHE[activation] = out
    return out


# ----------------------------------------------------------------------------------------------------------------
# Risk and vector field (pure jnp)
# ----------------------------------------------------------------------------------------------------------------
def _risk(K, K1, a, r, m, rho):
    L = 0.5 * r @ K(rho) @ r - r @ K(m) @ a + 0.5 * K1 * jnp.sum(a * a)
    return 2.0 * L / K1


def homogeneous_risk(kernel, a, r, m, rho):
    """Relative population risk R = 2L/K(1) of the two-homogeneous model (docs/theory.md §3).

    L = ½ Σ_ij r_i r_j K(ρ_ij) − Σ_ip r_i ã_p K(m_ip) + ½ K(1) Σ_p ã_p² + ½ K(0) Σ_{p≠q} ã_p ã_q  with ã = a/‖a‖₂.
    The last (teacher cross) term vanishes for σ with c_0 = 0 (K(0) = c_0²), the setting of the flow; with it the
    formula is exact for any σ, e.g. ReLU, which is how the simulator (``sgd_check``) logs its risk. Computed in
    the dtype of the inputs (float64 under x64).

    Args:
        kernel: object with ``K`` (jnp-callable) and ``K1`` (e.g. ``hermite.kernel("h4")``).
        a: teacher coefficients (M,), a_p ≥ 0 (normalised here).
        r: squared norms ‖w_i‖², shape (N,).   m: overlaps ⟨w̄_i,θ_p⟩, shape (N, M).
        rho: cosines ⟨w̄_i,w̄_j⟩, shape (N, N), unit diagonal.

    Returns:
        scalar jnp array (jittable; float64 under x64).

    Examples:
        >>> import hermite, jax.numpy as jnp
        >>> float(homogeneous_risk(hermite.kernel("h4"), [1.0], jnp.zeros(1), jnp.zeros((1, 1)), jnp.eye(1)))
        1.0
    """
    a = jnp.asarray(a)
    a = a / jnp.sqrt(jnp.sum(a * a))
    K1 = float(kernel.K1)
    R = _risk(kernel.K, K1, a, jnp.asarray(r), jnp.asarray(m), jnp.asarray(rho))
    K0 = kernel.K(jnp.zeros((), dtype=a.dtype))  # = c_0², the teacher directions being orthonormal
    return R + K0 * (jnp.sum(a) ** 2 - jnp.sum(a * a)) / K1


def _vector_field(K, dK):
    def vf(t, y, a):
        r, m, rho = y
        N = r.shape[0]
        off = 1.0 - jnp.eye(N, dtype=rho.dtype)
        Km, dKm = K(m), dK(m)
        Kr = K(rho)
        dKr = dK(rho) * off  # K'(ρ_ij) for j ≠ i only
        dr = 4.0 * r * (Km @ a - Kr @ r)
        adK = dKm * a[None, :]  # ã_q K'(m_iq)
        s_m = jnp.sum(adK * m, axis=1)  # Σ_q ã_q K'(m_iq) m_iq
        Wr = dKr * r[None, :]  # r_j K'(ρ_ij), zero diagonal
        s_r = jnp.sum(Wr * rho, axis=1)  # Σ_j r_j K'(ρ_ij) ρ_ij
        dm = adK - s_m[:, None] * m - (Wr @ m - s_r[:, None] * m)
        D = adK @ m.T - s_m[:, None] * rho - (Wr @ rho - s_r[:, None] * rho)
        drho = (D + D.T) * off
        return dr, dm, drho

    return vf


# ----------------------------------------------------------------------------------------------------------------
# Initial states
# ----------------------------------------------------------------------------------------------------------------
def homogeneous_state(W0, M: int):
    """(r, m, ρ) of explicit weights W0 (N×d) with teacher directions θ_p = e_p (the first M coordinate axes).

    r_i = ‖w_i‖², m_ip = w_ip/‖w_i‖ (p < M), ρ_ij = ⟨w_i,w_j⟩/(‖w_i‖‖w_j‖). Raises on a wrong shape or a zero row.
    """
    try:
        W = np.asarray(W0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`W0` must be a real (N, d) array; got {type(W0).__name__}") from exc
    M = require_int("M", M, lo=1)
    if W.ndim != 2 or W.shape[1] < M or W.shape[0] < 1:
        raise ValueError(f"`W0` has shape {W.shape}; expected (N, d) with N ≥ 1 and d ≥ M = {M}")
    if not np.all(np.isfinite(W)):
        raise ValueError("`W0` has non-finite entries; pass finite weights")
    nrm = np.linalg.norm(W, axis=1)
    if np.any(nrm == 0):
        raise ValueError(f"`W0` row {int(np.argmin(nrm))} is zero: every neuron needs a direction; perturb it")
    Wb = W / nrm[:, None]
    rho = Wb @ Wb.T
    np.fill_diagonal(rho, 1.0)
    return nrm**2, Wb[:, :M].copy(), rho


def sample_homogeneous_state(seed_or_key, d: int, M: int, N: int, init_scale: float = 0.1):
    """(r, m, ρ) for W0 with i.i.d. N(0, init_scale²/d) entries, sampled without any N×d array.

    The first M coordinates Z (N×M) are drawn explicitly; the Gram matrix of the other d − M is Wishart_N(d−M, I)
    (Bartlett), so the cost does not depend on d. Overlaps m_ip are of order 1/√d; r_i ≈ init_scale².
    Matches the simulator's initialisation in distribution (sgd_check ``HomogeneousSGDConfig``).
    """
    M = require_int("M", M, lo=1)
    N = require_int("N", N, lo=1)
    d = require_int("d", d, lo=1)
    require_width("M", M, d)
    s = require_real("init_scale", init_scale, lo=0.0, lo_open=True, fix="the initial norm scale must be > 0")
    rng = as_generator(seed_or_key)
    Z, gram = gaussian_gram_blocks(rng, d, M, N)  # X ∈ R^{d×N}: Z = X[:M], gram = XᵀX; w_i = (s/√d) X[:, i]
    nrm = np.sqrt(np.diag(gram))
    rho = gram / nrm[:, None] / nrm[None, :]
    np.fill_diagonal(rho, 1.0)
    m = (Z / nrm[None, :]).T
    return s * s * nrm**2 / d, m, rho


def predicted_emergence_homogeneous(a, d: int, k: int, bk2: float = 1.0) -> np.ndarray:
    """Predicted escape time of direction p from s0 = m² = 1/d (docs/theory.md §3), time t = η·steps.

    Near s = 0 the single-neuron law is ds/dt ≈ 2k b_k² ã_p s^{k/2} (b_k² = 1 for σ = h_k), whose blow-up time is
    T_p = s0^{−(k−2)/2} / (k(k−2) b_k² ã_p) = d^{k/2−1}/(k(k−2) b_k² ã_p) for k > 2, and log(d)/(4 b_2² ã_p) for
    k = 2. Returns (M,) with inf where ã_p = 0.
    """
    a = normalise_teacher(a)
    with np.errstate(divide="ignore"):
        if k > 2:
            return d ** (k / 2 - 1) / (k * (k - 2) * bk2 * a)
        if k == 2:
            return math.log(d) / (4.0 * bk2 * a)
    raise ValueError(f"`k`={k}: the escape-time law needs an information exponent k ≥ 2")


def greedy_emergence_homogeneous(a, m0, k: int, bk2: float = 1.0) -> np.ndarray:
    """Emergence times predicted from the actual initial overlaps m0 (N×M), by escape order (docs/theory.md §3).

    Neuron i alone would escape along θ_p at T_ip = |m_ip|^{−(k−2)}/(k(k−2) b_k² ã_p) (k > 2; for k = 2,
    log(1/m_ip²)/(4 b_2² ã_p)). Escapes happen in increasing T_ip; a neuron that has escaped, and a direction
    that has been learned, leave the competition (automatic deflation). So: repeatedly take the smallest T_ip
    over free neurons and unlearned directions. Returns (M,) times, nan for directions left without a neuron
    (N < M). Interactions before escape are ignored; at N = M = 16, d = 1e3, β = 1, h4 (seed 0) every time is
    within 5% of the flow's, including a last emergence at 1.14× the s0 = 1/d rule's 3·T_M.
    """
    an = normalise_teacher(a)
    m0 = np.asarray(m0, dtype=np.float64)
    if m0.ndim != 2 or m0.shape[1] != an.size:
        raise ValueError(f"`m0` has shape {m0.shape}; expected (N, M) with M = {an.size}")
    s = np.maximum(m0 * m0, 1e-300)
    with np.errstate(divide="ignore"):
        if k > 2:
            T = s ** (-(k - 2) / 2) / (k * (k - 2) * bk2 * an[None, :])
        elif k == 2:
            T = np.log(1.0 / s) / (4.0 * bk2 * an[None, :])
        else:
            raise ValueError(f"`k`={k}: the escape-time law needs an information exponent k ≥ 2")
    T = np.where(np.isfinite(T), T, np.inf)
    out = np.full(an.size, np.nan)
    for _ in range(min(T.shape)):
        i, p = np.unravel_index(np.argmin(T), T.shape)
        if not np.isfinite(T[i, p]):
            break
        out[p] = T[i, p]
        T[i, :] = np.inf
        T[:, p] = np.inf
    return out


# ----------------------------------------------------------------------------------------------------------------
# Solver (compiled once per kernel and shapes)
# ----------------------------------------------------------------------------------------------------------------
_SOLVERS: dict[Any, Any] = {}


def _get_solver(kern: _Kern, rtol: float, atol: float, max_steps: int):
    key = (id(kern.K), id(kern.dK), rtol, atol, max_steps)
    if key in _SOLVERS:
        return _SOLVERS[key][0]
    vf = _vector_field(kern.K, kern.dK)
    K, K1 = kern.K, kern.K1

    def save_main(t, y, a):
        r, m, rho = y
        return r, m, _risk(K, K1, a, r, m, rho)

    def save_q(t, y, a):
        r, m, rho = y
        _, dm, _ = vf(t, y, a)
        i = jnp.argmax(m * m, axis=0)
        mi = jnp.take_along_axis(m, i[None, :], axis=0)[0]
        dmi = jnp.take_along_axis(dm, i[None, :], axis=0)[0]
        return mi * mi, 2.0 * mi * dmi

    @eqx.filter_jit
    def solve(a, y0, ts, fine):
        saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts, fn=save_main), diffrax.SubSaveAt(ts=fine, fn=save_q)])
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(vf),
            diffrax.Tsit5(),
            t0=jnp.minimum(ts[0], fine[0]),
            t1=jnp.maximum(ts[-1], fine[-1]),
            dt0=None,
            y0=y0,
            args=a,
            saveat=saveat,
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            max_steps=max_steps,
            throw=False,
        )
        return sol.ys, sol.result == diffrax.RESULTS.successful, sol.stats["num_steps"]

    _SOLVERS[key] = (solve, kern)  # keep kern alive so its id is not reused
    return solve


# ----------------------------------------------------------------------------------------------------------------
# Stiff solver on the weights in a reduced frame (default method; riccati/_homogeneous_stiff.py)
# ----------------------------------------------------------------------------------------------------------------
def _reduced_weights_from_array(W: np.ndarray, M: int) -> np.ndarray:
    """X = [WΘ, Z] (N×(M+N)) with Z the coordinates of W's orthogonal part in an orthonormal basis of its rows."""
    N = W.shape[0]
    Wp = W[:, M:]
    X = np.zeros((N, M + N))
    X[:, :M] = W[:, :M]
    if Wp.shape[1]:
        R = np.linalg.qr(Wp.T, mode="r")  # Wpᵀ = Q R, so Wp = Rᵀ Qᵀ: coordinates Rᵀ
        X[:, M : M + R.shape[0]] = R.T
    return X


def _reduced_weights_from_state(r, m, rho) -> np.ndarray:
    """X with ‖x_i‖² = r_i, x_i[:M]/‖x_i‖ = m_i and x̄_i·x̄_j = ρ_ij (the orthogonal Gram ρ − mmᵀ factorised)."""
    N, M = m.shape
    C = rho - m @ m.T
    w, V = np.linalg.eigh(0.5 * (C + C.T))
    if w[0] < -1e-8:
        raise ValueError(
            f"state (r, m, rho) is not the overlap state of any weights: rho - m mᵀ has eigenvalue {w[0]:.3g} < 0; "
            "pass weights W0 or a state from homogeneous_state / sample_homogeneous_state"
        )
    Xb = np.concatenate([m, V * np.sqrt(np.clip(w, 0.0, None))[None, :]], axis=1)
    Xb /= np.linalg.norm(Xb, axis=1, keepdims=True)
    return np.sqrt(r)[:, None] * Xb


def _solve_stiff(kern: _Kern, a: np.ndarray, X0: np.ndarray, t: np.ndarray, rtol: float, atol: float, max_steps: int):
    """Block-Newton BDF on X (see riccati/_homogeneous_stiff.py): r_t, m_t, risk, emergence times, counters."""
    flow = ReducedFlow(_KernelNP(kern.K, kern.dK, kern.b2), kern.K1, a)
    return solve_stiff(flow, X0, t, rtol, atol, max_steps)


def _cubic_interp_root(t0, t1, f0, f1, d0, d1):
    """Root in [t0, t1] of the cubic Hermite interpolant (values f, slopes d; f0 < 0 ≤ f1), by bisection."""
    h = t1 - t0
    lo, hi = np.zeros_like(t0), np.ones_like(t0)
    for _ in range(60):
        s = 0.5 * (lo + hi)
        val = (
            (2 * s**3 - 3 * s**2 + 1) * f0
            + (s**3 - 2 * s**2 + s) * h * d0
            + (-2 * s**3 + 3 * s**2) * f1
            + (s**3 - s**2) * h * d1
        )
        neg = val < 0
        lo, hi = np.where(neg, s, lo), np.where(neg, hi, s)
    return t0 + 0.5 * (lo + hi) * h


# ----------------------------------------------------------------------------------------------------------------
# Public entry point
# ----------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class HomogeneousSolution:
    """Population gradient flow of the two-homogeneous model at requested times (docs/theory.md §3).

    Attributes:
        t: (T,) times t = η·steps.
        risk: (T,) relative risk 2L/K(1).
        overlaps: (T, N, M) m_ip = ⟨w̄_i, θ_p⟩.
        norms: (T, N) r_i = ‖w_i‖².
        emergence_times: (M,) first time max_i m_ip² crosses 1/2 (nan if not within the solved interval).
        predicted_emergence: (M,) d^{k/2−1}/(k(k−2) b_k² ã_p) (nan if d or k unknown).
        time_unit: description of the time convention.
        params: dict (M, N, d, activation, information_exponent, rtol, atol, num_steps, emergence_method, ...).
    """

    t: np.ndarray
    risk: np.ndarray
    overlaps: np.ndarray
    norms: np.ndarray
    emergence_times: np.ndarray
    predicted_emergence: np.ndarray
    time_unit: str
    params: dict[str, Any]


# Default (rtol, atol) per method. Stiff: atol is on the directions x̄_i (per-neuron error weights); at N = M = 64,
# d = 1e4 every emergence time is within 6e-4 of an rtol 1e-10 run (1e-8: 4.9e-3), bench/riccati_bench.py.
_DEFAULT_TOL = {"stiff": (1e-9, 1e-11), "explicit": (1e-10, 1e-12)}


def homogeneous_flow(
    activation,
    a,
    W0=None,
    times=None,
    *,
    state=None,
    d: int | None = None,
    method: str = "stiff",
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 1_000_000,
    emergence_grid: int = 2048,
) -> HomogeneousSolution:
    """Exact population gradient flow of Σ_i ‖w_i‖² σ(⟨w̄_i,x⟩) learning Σ_p ã_p σ(⟨θ_p,x⟩) (docs/theory.md §3).

    Two solvers of the same flow, float64:

    - ``method="stiff"`` (default): the weights in a reduced frame, X = [WΘ, Z] ∈ R^{N×(M+N)} (Z: coordinates of
      W's part orthogonal to span(Θ) in an orthonormal basis of its rows, which the flow never leaves), obey
      dX/dt = −∇L(X) exactly. Integrated by variable-order BDF (scipy's algorithm, orders 1–5, ``rtol``/``atol``
      on X; riccati/_homogeneous_stiff.py) whose Newton matrix keeps, per neuron, the scalar part of the Hessian
      block ∂²L/∂x_i² and its rank-one terms that matter at the current step: the stiffness that appears once
      neurons align (rates ≈ 4ã_p) costs per unit of log-time, not of time, and a step costs O(N²(M+N)).
      Because every X is a network, the risk keeps its relative accuracy as it becomes small (a state error ε
      changes R by O(ε√R), not O(ε)). Values between steps and emergence times (root of max_i m_ip² − ½,
      Illinois regula falsi) use BDF's interpolating polynomial. Needs r_i > 0 for every neuron.
    - ``method="explicit"``: the closed (r, m, ρ) overlap ODE (module docstring) with diffrax Tsit5 and a PID
      controller, compiled once per activation and shapes; an independent formulation kept as a cross-check.
      Explicit steps are bounded by the stiff rates, so its cost grows ∝ t after alignment, and its risk
      carries the O(ε) error of states that drift off consistency (use it for short horizons). Emergence times
      from a uniform grid of ``emergence_grid`` points with the exact slope, root of the cubic Hermite
      interpolant (error O(h⁴)).

    Args:
        activation: even σ with c_0 = 0: a :func:`hermite.activation` spec (e.g. "h4") or a kernel object with
            ``K``, ``dK``, ``K1``, ``c0`` (e.g. :func:`hermite.kernel`). Others raise ValueError.
        a: teacher coefficients (M,), a_p ≥ 0, normalised to ã.
        W0: explicit weights (N, d) with teacher directions the first M axes (give W0 or ``state``).
        times: (T,) non-negative, non-decreasing times t = η·steps (required); the start is taken at times[0].
        state: the overlap state (r, m, ρ) instead of weights, e.g. from :func:`sample_homogeneous_state` or
            :func:`homogeneous_state` (cost independent of d).
        d: ambient dimension, for the predicted emergence times (taken from W0's shape when W0 is given).
        method: "stiff" or "explicit" (above).
        rtol, atol: error tolerances of the step-size control; None takes the method's default.
            Stiff: component x_ij of the reduced weights is held to rtol·|x_ij| + atol·‖x_i‖, i.e. atol is an
            absolute tolerance on the direction x̄_i (on m_ip, ρ_ij), whatever the neuron's norm; default rtol
            1e-9, atol 1e-11, which keeps every emergence time of N = M = 64, d = 1e4, h4, β = 1 within 6e-4
            (median 8e-8) of an rtol 1e-10 run in ≈ 14.5k steps, 8–11 s at load 2–4 (0.52–0.75 ms CPU per step;
            `bench/riccati_bench.py --homogeneous`).
            Late emergence times are limited by rtol (4.9e-3 at rtol 1e-8), not atol.
            Explicit: rtol/atol of diffrax's PID controller on (r, m, ρ); default 1e-10, 1e-12.

    Returns:
        :class:`HomogeneousSolution`.

    Examples:
        >>> st = sample_homogeneous_state(0, 100, 2, 2)
        >>> sol = homogeneous_flow("h4", [1.0, 0.5], times=[0.0, 10.0], state=st, d=100)
        >>> sol.overlaps.shape
        (2, 2, 2)
    """
    kern = _resolve_kernel(activation)
    a_n = normalise_teacher(a)
    M = a_n.size
    if method not in ("stiff", "explicit"):
        raise ValueError(f"`method`={method!r}: choose 'stiff' (default) or 'explicit'")
    if (W0 is None) == (state is None):
        raise ValueError(
            "`W0`/`state`: pass exactly one (W0: (N, d) weights; state=(r, m, rho) from sample_homogeneous_state); "
            f"got {'both' if W0 is not None else 'neither'}"
        )
    if times is None:
        raise TypeError("`times` is required: non-decreasing times t = eta*steps, e.g. np.geomspace(1, 1e4, 40)")
    if isinstance(W0, tuple) and len(W0) == 3 and np.ndim(W0[0]) == 1 and np.ndim(W0[2]) == 2:
        raise TypeError("`W0` got a tuple: pass an (r, m, rho) state as state=(r, m, rho), weights as W0")
    X0 = None
    if state is not None:
        try:
            r0, m0, rho0 = (np.asarray(x, dtype=np.float64) for x in state)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                "`state` must be a tuple (r, m, rho) of real arrays; e.g. sample_homogeneous_state(...)"
            ) from exc
        N = r0.shape[0] if r0.ndim == 1 else -1
        if r0.ndim != 1 or m0.shape != (N, M) or rho0.shape != (N, N):
            raise ValueError(
                f"state (r, m, rho) has shapes {r0.shape}, {m0.shape}, {rho0.shape}; expected (N,), (N, {M}), (N, N)"
            )
        if np.any(r0 < 0) or not (np.all(np.isfinite(r0)) and np.all(np.isfinite(m0)) and np.all(np.isfinite(rho0))):
            raise ValueError("state (r, m, rho) must be finite with r ≥ 0")
    else:
        r0, m0, rho0 = homogeneous_state(W0, M)
        X0 = _reduced_weights_from_array(np.asarray(W0, dtype=np.float64), M)
        if d is None:
            d = int(np.asarray(W0).shape[1])
    if d is not None:
        d = require_int("d", d, lo=M)
    t = require_times(times)
    rtol = require_real("rtol", _DEFAULT_TOL[method][0] if rtol is None else rtol, lo=0.0, lo_open=True)
    atol = require_real("atol", _DEFAULT_TOL[method][1] if atol is None else atol, lo=0.0, lo_open=True)
    max_steps = require_int("max_steps", max_steps, lo=1)
    n_fine = require_int("emergence_grid", emergence_grid, lo=8)
    N = int(r0.shape[0])
    if method == "stiff":
        if np.any(r0 == 0):
            raise ValueError(
                f"neuron {int(np.argmin(r0))} has r = ‖w‖² = 0: the stiff solver integrates the weights, which stay "
                "0 there; drop the neuron or use method='explicit'"
            )
        if X0 is None:
            X0 = _reduced_weights_from_state(r0, m0, rho0)
        r_t, m_t, risk, em, stats = _solve_stiff(kern, a_n, X0, t, rtol, atol, max_steps)
        info = dict(
            stats,
            solver="BDF (scipy's algorithm, orders 1-5) on X = [W Theta, Z] (N x (M+N)), Newton matrix from the "
            "per-neuron Hessian blocks (scalar + kept rank-one terms), float64",
            emergence_method="root of max_i m_ip^2 - 1/2 on BDF's interpolating polynomial "
            "(Illinois regula falsi with bisection steps)",
        )
    else:
        r_t, m_t, risk, em, info = _solve_explicit(kern, a_n, (r0, m0, rho0), t, rtol, atol, max_steps, n_fine)
    k = kern.k
    if d is not None and k is not None and k >= 2:
        pred = predicted_emergence_homogeneous(a_n, d, k, kern.bk2)
    else:
        pred = np.full(M, np.nan)
    return HomogeneousSolution(
        t=t,
        risk=risk,
        overlaps=m_t,
        norms=r_t,
        emergence_times=em,
        predicted_emergence=pred,
        time_unit=TIME_UNIT_HOMOGENEOUS,
        params={
            "model": "homogeneous",
            "M": M,
            "N": N,
            "d": d,
            "activation": kern.name,
            "information_exponent": k,
            "b_k^2": kern.bk2,
            "method": method,
            "rtol": rtol,
            "atol": atol,
            **info,
            "risk": "relative 2L/K(1)",
        },
    )


def _solve_explicit(kern: _Kern, a_n, state, t, rtol, atol, max_steps, n_fine):
    """diffrax Tsit5 on the (r, m, ρ) overlap ODE; emergence from a uniform grid + cubic Hermite roots."""
    M = a_n.size
    solve = _get_solver(kern, rtol, atol, max_steps)
    fine = np.linspace(t[0], t[-1], n_fine) if t[-1] > t[0] else np.full(n_fine, t[0])
    y0 = tuple(jnp.asarray(x) for x in state)
    (main, qd), ok, nsteps = solve(jnp.asarray(a_n), y0, jnp.asarray(t), jnp.asarray(fine))
    if not bool(ok):
        raise RuntimeError(
            f"overlap ODE solve failed before t={t[-1]:g} (max_steps={max_steps} reached or step size collapsed); "
            "raise max_steps or loosen rtol"
        )
    r_t, m_t, risk = (np.asarray(x) for x in main)
    q, dq = np.asarray(qd[0]), np.asarray(qd[1])
    em = np.full(M, np.nan)
    first = first_crossing_index(q)
    em[first == 0] = fine[0]
    idx = np.nonzero(first > 0)[0]
    if idx.size:
        j = first[idx]
        em[idx] = _cubic_interp_root(
            fine[j - 1], fine[j], q[j - 1, idx] - 0.5, q[j, idx] - 0.5, dq[j - 1, idx], dq[j, idx]
        )
    info = {
        "num_steps": int(nsteps),
        "solver": "diffrax Tsit5 + PIDController on the (r, m, rho) overlap ODE, float64",
        "emergence_method": f"dense grid ({n_fine} pts) + cubic Hermite root of max_i m_ip^2 - 1/2",
    }
    return r_t, m_t, risk, em, info


def homogeneous_activation_info(activation) -> dict[str, Any]:
    """Validate σ for the homogeneous model (even, c_0 = 0; ValueError otherwise) and return
    {"name", "K1", "information_exponent", "b_k^2"} (h-basis b_k² at the information exponent k)."""
    kern = _resolve_kernel(activation)
    return {"name": kern.name, "K1": kern.K1, "information_exponent": kern.k, "b_k^2": kern.bk2}
