"""Stiff solver of the two-homogeneous flow on reduced weights (docs/theory.md §3; issue 10 items 18-19).

The flow is the gradient flow dW/dt = −∇_W L of a loss that depends on W only through P = WΘ and C = WWᵀ, so the
part of W orthogonal to span(Θ) stays in the span of its initial rows: W = [P, Z]Bᵀ for a fixed orthonormal basis
B = [Θ, F] of span(Θ) + row span, and X = [P, Z] ∈ R^{N×(M+N)} obeys the same gradient flow exactly:
    dX/dt = −∇_X L(X),   L(X) = ½Σ_ij r_i r_j K(ρ_ij) − Σ_ip r_i ã_p K(m_ip) + ½K(1)Σ_p ã_p²,
with r_i = ‖x_i‖², m_ip = x_ip/‖x_i‖ (p < M), ρ_ij = x̄_i·x̄_j. Two reasons to integrate X instead of (r, m, ρ):
- every X is a network, so the risk has a zero gradient at a global minimum and a state error ε moves the risk by
  O(ε√R) instead of O(ε) (the (r, m, ρ) ODE drifts off the set of consistent states, docs/theory.md §3);
- the Jacobian is −∇²L, symmetric, and after alignment its stiff part (rates ≈ 4ã_p for h4) sits in the
  per-neuron diagonal blocks ∂²L/∂x_i².

Per-neuron Hessian (ψ(x) = w‖x‖²K(x·ȳ/‖x‖) for a unit ȳ, ρ = x̄·ȳ):
    ∇ψ  = w[(2K − ρK')x + ‖x‖K'ȳ]
    ∇²ψ = w[(2K − ρK')I − ρ(K' − ρK'')x̄x̄ᵀ + (K' − ρK'')(x̄ȳᵀ + ȳx̄ᵀ) + K''ȳȳᵀ],
summed over the other students (w = r_j, ȳ = x̄_j) and minus over the teacher (w = ã_p, ȳ = θ_p), plus the self
term ½K(1)‖x‖⁴ (gradient 2K(1)‖x‖²x, Hessian K(1)(2‖x‖²I + 4xxᵀ)). So each block is a scalar plus rank-one terms:
    H_i = S_i I + cx_i x̄_i x̄_iᵀ + x̄_i u_iᵀ + u_i x̄_iᵀ + Σ_j Bs_ij x̄_j x̄_jᵀ + Σ_p Bt_ip θ_p θ_pᵀ,
with Bs_ij = r_j K''(ρ_ij), Bt_ip = −ã_p K''(m_ip). K'' is small at small overlaps (∝ ρ^{k−2}), so most rank-one
terms are negligible, and a teacher term θ_pθ_pᵀ nearly cancels the term of the student aligned with θ_p (x̄_j ≈ θ_p,
r_j ≈ ã_p), so such mutual-best pairs are weighed by the norm of their sum. The Newton matrix keeps, per neuron,
the terms (and pairs) whose weights matter at the current step (dropped weights sum to ≤ eps·(1/c_ref + |S_i|),
eps = 0.2, c_ref = 4c, so the simplified Newton iteration contracts by ≲ eps per iteration); the x̄_i/u_i part is
diagonalised in closed form, and blocks with kept terms are orthonormalised (QR, k ≪ D columns, grouped by k) and
their small projected matrix diagonalised. Then (I + cH̃_i)⁻¹ costs two N×D×k products for any step coefficient c,
a Jacobian costs a few N×N and N×N×D products, and nothing of size N·D² is ever formed.

The integrator is scipy's BDF (variable order 1–5, Byrne–Hindmarsh/Shampine–Reichelt: scipy/integrate/_ivp/bdf.py,
BSD-3-Clause, © the SciPy developers), ported here with the structured Newton solve in place of dense LU;
step-size and order control are scipy's. Changes:
- Error weights per neuron (issue 10 item 18): x_ij is weighed by rtol·|x_ij| + atol·‖x_i‖, so ``atol`` is an
  absolute tolerance on the direction x̄_i (the overlaps m_ip and cosines ρ_ij, the variables of the explicit
  solver) instead of on X. With an absolute weight on X, a neuron whose norm has shrunk (r_i ≈ 1/(4t) before it
  escapes; ~1e-5 at t ~ 1e5) had its O(1/√d) overlaps controlled only to atol/(√r_i m_ip) ≳ 1e-5 relative, and
  the escape time, ∝ m_ip^{−(k−2)}, moved by up to 4e-2 at N = M = 64, d = 1e4 (rtol 1e-8, atol 1e-10).
- The Newton convergence test is CVODE's instead of scipy's: the correction times the contraction rate (measured
  within the iteration, carried over steps, scaled by c_new/c_old when the same Jacobian is refactorised for a new
  step coefficient c, reset by a new Jacobian) must be ≤ 0.1 in the units of the error weights (scipy asks
  min(0.03, √rtol) with a rate measured afresh, i.e. ≥ 2 iterations per step). Most steps then take one
  right-hand side (1.24 per step at N = M = 64, rtol 1e-9, against 1.84 with the rate reset at each
  refactorisation, and 3.2 with scipy's test at rtol 1e-8). After a failed error test the rate is measured
  afresh (keeping it saves another 10% but let unconverged iterates through when the per-neuron Newton matrix is
  poor, and one run's step size collapsed). The Jacobian is re-evaluated when Newton fails or needed 4
  iterations. As in CVODE, the Newton test weighs at the last accepted y (scipy: at the predictor), so a step
  attempt computes one set of error weights (at the new y, for the error test, as scipy) and a retry none
  (emergence errors vs the rtol 1e-10 reference: max 6.19e-4 → 6.31e-4, median 7.7e-8 → 7.3e-8).
- Step-size safety factor 0.8 instead of scipy's 0.9 (times (2·4 + 1)/(2·4 + Newton iterations), as scipy): at
  N = M = 64, rtol 1e-9 it takes 8% more steps but rejects 350 attempts instead of 934, and a rejection costs a
  right-hand side plus the Newton iterations of re-measuring the rate, so 13% fewer right-hand sides
  (19.6k against 22.5k) and less CPU; emergence errors fall (max 6.3e-4 → 3.6e-4, median 7.3e-8 → 4.8e-8).
  Measured at 0.9/0.85/0.8/0.75/0.7: 22.5k/20.6k/19.6k/19.2k/19.5k right-hand sides over 14.5k/15.0k/15.7k/
  16.5k/17.5k steps.
The remaining error of late emergence times is set by rtol (not atol): at N = M = 64, d = 1e4 the last direction is
taken by a neuron that lost an earlier race for another direction, and its escape time depends on that race (max
relative error vs an rtol 1e-10 run: 4.9e-3 at rtol 1e-8, 6e-4 at rtol 1e-9 with safety 0.9, 3.6e-4 with 0.8; median
7e-7 and 7e-8). The right-hand side is pure numpy (the kernel as polynomials in ρ when hermite gives its series,
else one jitted jax call per array): a step costs tens of numpy calls, not a jax dispatch per operation. At N = M =
64 a step is memory- and call-bound (every array is 64 KiB), so the code counts passes over the state and numpy
calls: the kernel is evaluated once on W = [m | ρ] = [X̄_{:M} | X̄X̄ᵀ] in reused buffers and views (three passes for
a pure h_k activation, K = ρ^{2k}), c_i x_i rides in the rhs matmul, the Newton solve is one padded projection
(np.matvec/np.vecmat), the error weights are kept over rtol (two passes), the predictor and ψ are two vector-matrix
products (a (2, k+1) × (k+1, n) gemm cost ≈2× more at k = 5), change_D is one product per row of the upper-triangular
(RU)ᵀ, the emergence test reuses the solver's row norms, and emergence roots use regula falsi (Illinois) instead of
56 bisection steps. Cost per step 0.93 → 0.65 → ≈0.38 ms CPU, per solve ≈9 → ≈6 s CPU (bench/riccati_bench.py
--homogeneous --default-only; issue 10 item 18; docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._bdf import BlockBDF
from ._stiff_problem import BlockJacobian, ReducedFlow, _KernelNP, kernel_series_b2

__all__ = ["solve_stiff", "ReducedFlow", "BlockJacobian", "BlockBDF", "_KernelNP", "kernel_series_b2", "_root"]


# ----------------------------------------------------------------------------------------------------------------
# Driver: outputs at requested times, emergence times on the interpolant
# ----------------------------------------------------------------------------------------------------------------
def _root(g, t_lo: float, t_hi: float, n: int) -> np.ndarray:
    """Roots of n functions (g(ts) → (n,), g(t_lo) < 0 ≤ g(t_hi) per entry) bracketed in [t_lo, t_hi], to the
    bracket's last few ulps: Illinois (regula falsi, halving the stale end's value), with a bisection step whenever
    the secant point is not strictly inside; 56 bisection steps at most."""
    lo, hi = np.full(n, t_lo), np.full(n, t_hi)
    glo, ghi = g(lo), g(hi)
    side = np.zeros(n)  # +1: the last update moved hi, −1: lo
    for _ in range(56):
        done = hi - lo <= 4 * np.spacing(hi)
        if np.all(done):
            break
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            ts = hi - ghi * (hi - lo) / (ghi - glo)
        ok = np.isfinite(ts) & (ts > lo) & (ts < hi) & np.isfinite(glo) & (glo < 0) & (ghi >= 0)
        ts = np.where(ok, ts, mid)
        gt = g(ts)
        above = gt >= 0
        # Illinois: the end that stays for a second time has its value halved
        glo = np.where(above & (side > 0), 0.5 * glo, glo)
        ghi = np.where(~above & (side < 0), 0.5 * ghi, ghi)
        lo, glo = np.where(done | above, lo, ts), np.where(done | above, glo, gt)
        hi, ghi = np.where(~done & above, ts, hi), np.where(~done & above, gt, ghi)
        side = np.where(above, 1.0, -1.0)
    return 0.5 * (lo + hi)


def solve_stiff(flow: ReducedFlow, X0: np.ndarray, t: np.ndarray, rtol: float, atol: float, max_steps: int):
    """Integrate dX/dt = −∇L(X); observe (r, m, R) at ``t`` and the emergence times (root of max_i m_ip² − ½ on
    the step's interpolating polynomial, same order as the step, by bisection). Returns r_t, m_t, risk, em, stats."""
    N, D = X0.shape
    M = flow.M

    def qmax(Xs):  # (k, N, D) -> (k, M): max_i m_ip²
        return np.max(Xs[:, :, :M] ** 2 / np.einsum("knd,knd->kn", Xs, Xs)[:, :, None], axis=1)

    T = t.size
    r_t, m_t, risk = np.empty((T, N)), np.empty((T, N, M)), np.empty(T)
    em = np.full(M, np.nan)

    def save(k, X):
        r_t[k], m_t[k], risk[k] = flow.observe(X)

    em[qmax(X0[None])[0] >= 0.5] = t[0]
    k = 0
    while k < T and t[k] <= t[0]:
        save(k, X0)
        k += 1
    stats: dict[str, Any] = {"num_steps": 0, "nfev": 0, "njev": 0, "n_newton": 0, "n_reject": 0, "max_rank": 0}
    if k == T:
        return r_t, m_t, risk, em, stats
    max_rank = 0

    def fun(y):
        return flow.rhs(y.reshape(N, D)).reshape(-1)

    def jac(y):
        return BlockJacobian(flow.hessian_parts(y.reshape(N, D)), M)

    n_open = int(np.isnan(em).sum())
    sq, colmax, off = np.empty((N, M)), np.empty(M), np.where(np.isnan(em), 0.0, np.inf)
    solver = BlockBDF(fun, jac, float(t[0]), X0.reshape(-1), float(t[-1]), rtol, atol, rows=(N, D))
    steps = 0
    while solver.status == "running":
        if steps >= max_steps:
            raise RuntimeError(
                f"overlap flow (stiff BDF) stopped at t={solver.t:.6g} < {t[-1]:g}: max_steps={max_steps} reached; "
                "raise max_steps or loosen rtol"
            )
        msg = solver.step()
        steps += 1
        max_rank = max(max_rank, solver.J.rank)
        if solver.status == "failed":
            raise RuntimeError(f"overlap flow (stiff BDF) failed at t={solver.t:.6g}: {msg}; loosen rtol/atol")
        t_old, t_new = solver.t_old, solver.t
        cross = None
        if n_open:  # directions not yet learned: only these are tested
            # max_i m_ip² ≥ ½ ⇔ some x_ip² − ½‖x_i‖² ≥ 0 (‖x_i‖²: the solver's, from its error weights)
            np.square(solver.y.reshape(N, D)[:, :M], out=sq)
            sq -= (0.5 * solver.rn2)[:, None]
            np.maximum.reduce(sq, axis=0, out=colmax)
            colmax -= off  # learned directions: −∞
            if np.maximum.reduce(colmax) >= 0.0:
                cross = np.flatnonzero(colmax >= 0.0)
        if cross is not None:
            n_open -= cross.size
            off[cross] = np.inf
            em[cross] = _root(
                lambda ts, cross=cross: (
                    qmax(solver.dense(ts).reshape(cross.size, N, D))[np.arange(cross.size), cross] - 0.5
                ),
                t_old,
                t_new,
                cross.size,
            )
        while k < T and t[k] <= t_new:
            X = solver.y if t[k] == t_new else solver.dense(t[k])[0]
            save(k, X.reshape(N, D))
            k += 1
    stats.update(
        num_steps=steps,
        nfev=solver.nfev,
        njev=solver.njev,
        n_newton=solver.n_newton,
        n_reject=solver.n_reject,
        max_rank=max_rank,
    )
    return r_t, m_t, risk, em, stats
