"""Variable-order BDF (1–5) with a structured Newton solve: a port of scipy's BDF (scipy/integrate/_ivp/bdf.py,
BSD-3-Clause, © the SciPy developers) with per-neuron error weights and CVODE's Newton test (the reasons:
riccati/_homogeneous_stiff.py).
"""

from __future__ import annotations

import math

import numpy as np

# ----------------------------------------------------------------------------------------------------------------
# BDF (port of scipy.integrate.BDF with a structured Newton solve)
# ----------------------------------------------------------------------------------------------------------------
MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
MAX_FACTOR = 10
_EPS = np.finfo(float).eps


def _norm(x):
    return float(np.sqrt(np.dot(x, x) / x.size))


def _compute_R(order, factor):
    i = np.arange(1, order + 1)[:, None]
    j = np.arange(1, order + 1)
    Mx = np.zeros((order + 1, order + 1))
    Mx[1:, 1:] = (i - 1 - factor * j) / i
    Mx[0] = 1
    return np.cumprod(Mx, axis=0)


_R1 = {k: _compute_R(k, 1) for k in range(1, MAX_ORDER + 1)}  # R(order, 1): constant per order
# _compute_R's (i − 1)/i and j/i per order: R(factor) = cumprod of [1; 0 | A − factor·B] down the rows
_RA = {k: (np.arange(k)[:, None] / np.arange(1, k + 1)[:, None]) * np.ones(k) for k in range(1, MAX_ORDER + 1)}
_RB = {k: np.arange(1, k + 1)[None, :] / np.arange(1, k + 1)[:, None] for k in range(1, MAX_ORDER + 1)}


def _change_D(D, order, factor, tmp=None):
    """Rescale the differences D[:order+1] to a step ``factor`` times the current one (scipy's change_D,
    D ← (RU)ᵀD). (RU)ᵀ is upper triangular with first row e₀ (exactly; its lower entries are rounding), so row
    i ≥ 1 becomes Σ_{j≥i} (RU)_{ji} D_j: one vector-matrix product per row, rows in increasing order through
    ``tmp`` (an n-vector)."""
    Mx = np.zeros((order + 1, order + 1))
    Mx[0] = 1.0
    np.subtract(_RA[order], factor * _RB[order], out=Mx[1:, 1:])
    RU = np.cumprod(Mx, axis=0) @ _R1[order]
    if tmp is None:
        tmp = np.empty(D.shape[1])
    for i in range(1, order + 1):
        np.dot(RU[i:, i], D[i : order + 1], out=tmp)
        D[i] = tmp


class BlockBDF:
    """Variable-order BDF (scipy's algorithm) for y' = fun(y) with Newton matrix from ``jac(y)`` (BlockJacobian).

    Besides scipy's rule (a new Jacobian when Newton fails to converge), the Jacobian is re-evaluated at the start
    of a step when the previous step needed ``REFRESH_ITER`` Newton iterations or more. Error weights:
    atol + rtol·|y|, or with ``rows=(N, D)`` (y = X.ravel()) atol·‖x_i‖ + rtol·|x_ij| (module docstring). The
    local error test weighs at the new y (as scipy); the Newton test at the last accepted y (as CVODE; scipy
    weighs at the predictor), so each step attempt computes one set of weights, and a rejected attempt none for
    its retry. Step-size safety factor ``SAFETY``·(2·4 + 1)/(2·4 + Newton iterations), scipy's form with 0.8 for
    scipy's 0.9 (module docstring of riccati/_homogeneous_stiff.py).

    Attributes after each ``step()``: t, y, t_old, status ("running", "finished", "failed"), ``rn2`` (‖x_i‖² of y
    when ``rows`` is given), counters nfev, njev, nlu (Newton-matrix factorisations), n_newton (Newton
    iterations), n_reject (rejected step attempts).
    """

    REFRESH_ITER = 4
    NEWTON_TOL = 0.1
    SAFETY = 0.8

    def __init__(self, fun, jac, t0, y0, t_bound, rtol, atol, rows=None):
        self.fun, self.jac = fun, jac
        self.rows = rows  # None: atol absolute; (N, D): atol times each row's norm (y = X.ravel(), X ∈ R^{N×D})
        self.t, self.y, self.t_bound, self.t_old = float(t0), np.array(y0, dtype=np.float64), float(t_bound), None
        self.rtol, self.atol = max(rtol, 100 * _EPS), atol
        self._irtol = 1.0 / self.rtol
        self._ar = self.atol / self.rtol
        self.nfev = self.njev = self.nlu = self.n_newton = self.n_reject = 0
        n = self.y.size
        # work arrays: Newton residual, norm, predictor, ψ; error weights over rtol at y and at a candidate y
        self._rb, self._nb, self._yp, self._psi = (np.empty(n) for _ in range(4))
        self._u, self._u_new = np.empty(n), np.empty(n)
        self.rn2 = self._uscale(self.y, self._u)
        self.status = "running" if t_bound > t0 else "finished"
        f = self._f(self.y)
        self.h_abs = self._initial_step(f)
        self.newton_tol = self.NEWTON_TOL
        self.crate = 1.0
        self.J = self._jac(self.y)
        kappa = np.array([0, -0.1850, -1 / 9, -0.0823, -0.0415, 0])
        self.gamma = np.hstack((0, np.cumsum(1 / np.arange(1, MAX_ORDER + 1))))
        self.alpha = (1 - kappa) * self.gamma
        self.error_const = kappa * self.gamma + 1 / np.arange(1, MAX_ORDER + 2)
        self._alpha = [float(v) for v in self.alpha]  # Python floats for the scalar step arithmetic
        self._ec = [abs(float(v)) for v in self.error_const]
        # predictor Σ_{i≤k} D_i and ψ = Σ_{1≤i≤k} γ_i D_i / α_k: one vector-matrix product each
        self._pw = {k: np.ones(k + 1) for k in range(1, MAX_ORDER + 1)}
        self._gw = {k: self.gamma[1 : k + 1] / self.alpha[k] for k in range(1, MAX_ORDER + 1)}
        D = np.empty((MAX_ORDER + 3, self.y.size))
        D[0] = self.y
        D[1] = f * self.h_abs
        self.D = D
        self.order = 1
        self.n_equal_steps = 0
        self.LU = None
        self.J_lu, self.c_lu = None, 1.0  # Jacobian and step coefficient c of the last factorisation
        self.last_iter = 0

    def _scale(self, y):
        """Error weights atol_i + rtol·|y|: atol_i = atol, or atol·‖x_i‖ on the row of X holding y's entry."""
        if self.rows is None:
            return self.atol + self.rtol * np.abs(y)
        X = y.reshape(self.rows)
        w = np.abs(X)
        w *= self.rtol
        w += (self.atol * np.sqrt(np.einsum("ij,ij->i", X, X)))[:, None]
        return w.reshape(-1)

    def _uscale(self, y, out):
        """The error weights over rtol, u = _scale(y)/rtol = atol_i/rtol + |y|, into ``out`` (the norms divide by
        u and multiply by 1/rtol). Returns ‖x_i‖² (rows given) or None."""
        if self.rows is None:
            np.abs(y, out=out)
            out += self._ar
            return None
        X = y.reshape(self.rows)
        r = np.vecdot(X, X)
        U = np.abs(X, out=out.reshape(self.rows))
        s = np.sqrt(r)
        s *= self._ar
        U += s[:, None]
        return r

    def _wnorm(self, x, u):
        """RMS norm of x/(rtol·u) (u from _uscale), through the work array ``_nb``."""
        nb = np.divide(x, u, out=self._nb)
        return self._irtol * math.sqrt(float(np.dot(nb, nb)) / nb.size)

    def _f(self, y):
        self.nfev += 1
        return self.fun(y)

    def _jac(self, y):
        self.njev += 1
        self.crate = 1.0
        return self.jac(y)

    def _initial_step(self, f0):
        """Hairer–Nørsett–Wanner initial step (scipy's select_initial_step, order 1)."""
        y0 = self.y
        span = self.t_bound - self.t
        if span <= 0:
            return 0.0
        scale = self._scale(y0)
        d0, d1 = _norm(y0 / scale), _norm(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, span)
        f1 = self._f(y0 + h0 * f0)
        d2 = _norm((f1 - f0) / scale) / h0
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** 0.5
        return min(100 * h0, h1, span)

    def _newton(self, y_predict, c, psi, solve):
        """Simplified Newton iteration for the BDF equations; converged when the correction, times the contraction
        rate (estimated within the iteration and carried over steps, as in CVODE), is below ``NEWTON_TOL`` in the
        error weights of the last accepted y."""
        d = None  # sum of the corrections (the first correction's array, then accumulated in place)
        y = y_predict  # replaced by y_predict + d after the first correction (y_predict is never written)
        rb, u = self._rb, self._u
        dy_norm_old = None
        crate = self.crate
        tol = self.newton_tol
        fun = self.fun
        for k in range(NEWTON_MAXITER):
            self.n_newton += 1
            self.nfev += 1
            f = fun(y)
            np.multiply(f, c, out=rb)
            rb -= psi
            if d is not None:
                rb -= d
            dy = solve(rb)
            dy_norm = self._wnorm(dy, u)
            if not math.isfinite(dy_norm) or (dy_norm_old is not None and dy_norm > 2.0 * dy_norm_old):
                break
            if dy_norm_old is not None:
                crate = max(0.3 * crate, dy_norm / dy_norm_old)
            if d is None:
                y = y_predict + dy
                d = dy
            else:
                y += dy
                d += dy
            if dy_norm * min(1.0, crate) <= tol:
                self.crate = crate
                return True, k + 1, y, d
            dy_norm_old = dy_norm
        self.crate = 1.0
        return False, k + 1, y, (np.zeros_like(y) if d is None else d)

    def step(self):
        if self.status != "running":
            raise RuntimeError("step() on a finished solver")
        t, D = self.t, self.D
        min_step = 10.0 * (math.nextafter(t, math.inf) - t)
        if self.h_abs < min_step:
            h_abs = min_step
            _change_D(D, self.order, min_step / self.h_abs)
            self.n_equal_steps = 0
        else:
            h_abs = self.h_abs
        order = self.order
        ec = self._ec
        J, LU = self.J, self.LU
        current_jac = False
        if self.last_iter >= self.REFRESH_ITER:
            J, LU, current_jac = self._jac(self.y), None, True
        while True:
            if h_abs < min_step:
                self.status = "failed"
                return "required step size is less than spacing between numbers"
            t_new = t + h_abs
            if t_new - self.t_bound > 0:
                t_new = self.t_bound
                _change_D(D, order, abs(t_new - t) / h_abs)
                self.n_equal_steps = 0
                LU = None
            h = t_new - t
            h_abs = abs(h)
            y_predict = np.dot(self._pw[order], D[: order + 1], out=self._yp)
            psi = np.dot(self._gw[order], D[1 : order + 1], out=self._psi)
            c = h / self._alpha[order]
            converged = False
            while not converged:
                if LU is None:
                    self.nlu += 1
                    LU = J.factor(c)
                    # Same Jacobian, new step coefficient c: the contraction rate of the simplified Newton
                    # iteration, ≈ ‖(I − cJ̃)⁻¹c(J − J̃)‖, grows at most ∝ c, so the carried rate is scaled
                    # instead of reset (a new Jacobian resets it to 1 in _jac)
                    self.crate = min(1.0, self.crate * max(1.0, c / self.c_lu)) if J is self.J_lu else 1.0
                    self.J_lu, self.c_lu = J, c
                converged, n_iter, y_new, d = self._newton(y_predict, c, psi, LU)
                if not converged:
                    if current_jac:
                        if J.tighten():  # keep more rank-one terms before shrinking the step
                            LU = None
                            continue
                        break
                    J = self._jac(y_predict)
                    LU = None
                    current_jac = True
            if not converged:
                self.n_reject += 1
                factor = 0.5
                h_abs *= factor
                _change_D(D, order, factor)
                self.n_equal_steps = 0
                LU = None
                continue
            self.last_iter = n_iter
            safety = self.SAFETY * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            uscale = self._u_new
            rn2 = self._uscale(y_new, uscale)
            error_norm = ec[order] * self._wnorm(d, uscale)
            if error_norm > 1:
                self.n_reject += 1
                self.crate = 1.0  # measure the rate afresh: a wrong carried rate would pass unconverged iterates
                factor = max(MIN_FACTOR, safety * error_norm ** (-1 / (order + 1)))
                h_abs *= factor
                _change_D(D, order, factor)
                self.n_equal_steps = 0
            else:
                break
        self.n_equal_steps += 1
        self.t_old, self.t, self.y, self.rn2 = t, t_new, y_new, rn2
        self._u, self._u_new = uscale, self._u  # the new y's weights: next step's Newton test, order choice below
        self.h_abs, self.J, self.LU = h_abs, J, LU
        if self.t >= self.t_bound:
            self.status = "finished"
        select = self.n_equal_steps >= order + 1  # order and step-size choice after this step
        if select:  # D[order+2] is read only by that choice (and, if the order rises, as the next D[order+1])
            np.subtract(d, D[order + 1], out=D[order + 2])
        D[order + 1] = d
        for i in range(order, -1, -1):
            np.add(D[i], D[i + 1], out=D[i])
        if not select:
            return None
        error_m_norm = ec[order - 1] * self._wnorm(D[order], uscale) if order > 1 else math.inf
        error_p_norm = ec[order + 1] * self._wnorm(D[order + 2], uscale) if order < MAX_ORDER else math.inf
        factors = [
            math.inf if e == 0.0 else e ** (-1.0 / p)
            for e, p in zip((error_m_norm, error_norm, error_p_norm), (order, order + 1, order + 2), strict=True)
        ]
        best = max(range(3), key=factors.__getitem__)  # the first maximum, as np.argmax
        order += best - 1
        self.order = order
        self.h_abs *= min(MAX_FACTOR, safety * factors[best])
        _change_D(D, order, self.h_abs / h_abs)
        self.n_equal_steps = 0
        self.LU = None
        return None

    def dense(self, ts):
        """The step's interpolating polynomial at times ts (k,) inside [t_old, t] → (k, n)."""
        t, h, order = self.t, self.h_abs, self.order
        D = self.D[: order + 1]
        ts = np.atleast_1d(np.asarray(ts, dtype=np.float64))
        x = (ts[None, :] - (t - h * np.arange(order))[:, None]) / (h * (1 + np.arange(order)))[:, None]
        p = np.cumprod(x, axis=0)  # (order, k)
        return (D[1:].T @ p).T + D[0][None, :]
