"""Exact Hermite coefficients c_j = E[σ(z) He_j(z)]/j! without symbolic integration (docs/theory.md §1).

Three closed-form routes, tried in order; each returns exact sympy numbers or ``None`` (route not applicable):

1. polynomials: change of basis z^n = Σ_k n!/(2^k k!(n−2k)!) He_{n−2k};
2. piecewise polynomials (Max, Min, Abs, sign, Heaviside, Piecewise with polynomial pieces, nested): on each
   interval (a, b) between breakpoints σ is a polynomial p, and c_j = Σ_n (p He_j)_n I_n(a, b)/j! with the
   truncated Gaussian moments I_n = ∫_a^b z^n φ = a^{n−1}φ(a) − b^{n−1}φ(b) + (n−1) I_{n−2},
   I_0 = Φ(b) − Φ(a), I_1 = φ(a) − φ(b) (exact in φ, Φ at the breakpoints);
3. "Gaussian-closed" sums of terms  c·z^m·exp(αz + βz²)  (sin, cos, sinh, cosh rewritten to exp; α may be
   complex) and  c·z^m·erf(az + b)  (erfc = 1 − erf), through
       G_k(α, β) := E[He_k(z) e^{αz+βz²}] = s e^{α²s²/2} Σ_i k!/(i!(k−2i)!2^i) (s²−1)^i s^{k−2i} (αs)^{k−2i},
   s² = 1/(1−2β) (scaling formula for He_k(sξ) and E[He_n(ξ)e^{tξ}] = tⁿe^{t²/2}); and, by Stein's identity
   E[He_k g] = E[g^{(k)}] = E[He_{k−1} g'] applied to g = erf(az+b), g' = (2a/√π) e^{−(az+b)²}:
       E[He_0 erf(az+b)] = erf(b/√(1+2a²)),  E[He_k erf(az+b)] = (2a/√π) e^{−b²} G_{k−1}(−2ab, −a²).
   z^m·He_j is first rewritten in the He basis (exact integers).
"""

from __future__ import annotations

from fractions import Fraction
from math import factorial

import sympy as sp

from ._activation import Z
from ._polys import he_coeffs, poly_mul, poly_to_he

__all__ = ["exact_coefficients", "rationalize", "NotSquareIntegrable"]

_PW_ATOMS = (sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min, sp.Piecewise)


class NotSquareIntegrable(ValueError):
    """σ ∉ L²(N(0,1))."""


def rationalize(expr: sp.Expr) -> sp.Expr:
    """Replace floats by the rationals they print as (0.5 → 1/2), so exact routes apply."""
    floats = expr.atoms(sp.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sp.Rational(str(f)) for f in floats})


def _num(x):
    """sympy Rational → Fraction (fast exact arithmetic); other sympy numbers unchanged."""
    if isinstance(x, sp.Rational):
        return Fraction(int(x.p), int(x.q))
    if isinstance(x, int | Fraction):
        return Fraction(x)
    return x


def _to_sympy(x):
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, int):
        return sp.Integer(x)
    return x


# ----------------------------------------------------------------------------------------------- polynomials
def _poly_coeffs(expr) -> list | None:
    """Monomial coefficients (ascending) if expr is a polynomial in z with z-free coefficients."""
    try:
        if not expr.is_polynomial(Z):
            return None
        p = sp.Poly(sp.expand(expr), Z)
    except (sp.PolificationFailed, sp.GeneratorsNeeded):
        return [expr]
    except Exception:
        return None
    return [_num(c) for c in reversed(p.all_coeffs())]


def _polynomial(expr, K):
    pc = _poly_coeffs(expr)
    if pc is None:
        return None
    he = poly_to_he(pc)
    out = []
    for j in range(K + 1):
        out.append(_to_sympy(he[j]) if j < len(he) else sp.S.Zero)
    return out


# ------------------------------------------------------------------------------------- piecewise polynomials
def _is_inf(x):
    return x is sp.S.Infinity or x is sp.S.NegativeInfinity


def _value_at(u, t) -> float:
    v = u.subs(Z, t)
    return float(sp.N(v, 30))


def _resolve(e, t):
    """The polynomial branch of a piecewise expression on the interval containing the test point t."""
    if not e.has(Z) or not e.has(*_PW_ATOMS):
        return e
    if isinstance(e, sp.Abs):
        u = _resolve(e.args[0], t)
        return u if _value_at(u, t) >= 0 else -u
    if isinstance(e, sp.sign):
        return sp.S.One if _value_at(_resolve(e.args[0], t), t) > 0 else sp.S.NegativeOne
    if isinstance(e, sp.Heaviside):
        return sp.S.One if _value_at(_resolve(e.args[0], t), t) > 0 else sp.S.Zero
    if isinstance(e, sp.Max | sp.Min):
        args = [_resolve(a, t) for a in e.args]
        vals = [_value_at(a, t) for a in args]
        pick = max if isinstance(e, sp.Max) else min
        return args[vals.index(pick(vals))]
    if isinstance(e, sp.Piecewise):
        for branch, cond in e.args:
            c = cond.subs(Z, t)
            if c not in (sp.true, sp.false):
                c = _resolve_cond(cond, t)
            if c == sp.true:
                return _resolve(branch, t)
        raise _RouteFailed("Piecewise without a branch for some z")
    return e.func(*[_resolve(a, t) for a in e.args])


def _resolve_cond(cond, t):
    if isinstance(cond, sp.core.relational.Relational):
        lhs = _resolve(cond.lhs, t)
        rhs = _resolve(cond.rhs, t)
        v = _value_at(lhs - rhs, t)
        ops = {"<": v < 0, "<=": v <= 0, ">": v > 0, ">=": v >= 0, "==": v == 0, "!=": v != 0}
        return sp.true if ops[cond.rel_op] else sp.false
    if isinstance(cond, sp.And):
        return sp.true if all(_resolve_cond(c, t) == sp.true for c in cond.args) else sp.false
    if isinstance(cond, sp.Or):
        return sp.true if any(_resolve_cond(c, t) == sp.true for c in cond.args) else sp.false
    if isinstance(cond, sp.Not):
        return sp.false if _resolve_cond(cond.args[0], t) == sp.true else sp.true
    raise _RouteFailed(f"condition {cond} not understood")


class _RouteFailed(Exception):
    pass


def _real_roots(u) -> list:
    pc = _poly_coeffs(u)
    if pc is None:
        raise _RouteFailed("non-polynomial argument")
    if all(c == 0 for c in pc[1:]):
        return []
    poly = sp.Poly(sp.expand(u), Z)
    try:
        roots = poly.real_roots()
    except (NotImplementedError, sp.PolynomialError, sp.DomainError):
        # irrational coefficients: all roots in radicals, then keep the real ones
        allr = sp.roots(poly)
        if sum(allr.values()) != poly.degree():
            raise _RouteFailed("breakpoints without radical form") from None
        roots = []
        for r in allr:
            re, im = (sp.re(r), sp.im(r)) if r.is_real is not True else (r, sp.S.Zero)
            if im == 0 or abs(complex(sp.N(r, 40)).imag) < 1e-35:
                roots.append(sp.nsimplify(re) if re.has(sp.I) else re)
    if any(isinstance(r, sp.CRootOf) for r in roots):
        raise _RouteFailed("breakpoint without radical form")
    return list(set(roots))


def _test_points(bps):
    if not bps:
        return [sp.S.Zero]
    pts = [bps[0] - 1]
    pts += [(a + b) / 2 for a, b in zip(bps[:-1], bps[1:], strict=True)]
    pts.append(bps[-1] + 1)
    return pts


def _sorted_unique(points):
    pts = sorted(set(points), key=lambda r: float(sp.N(r, 30)))
    return pts


def _breakpoints(e) -> list:
    """Sorted exact breakpoints of a (possibly nested) piecewise-polynomial expression."""
    found = []
    for atom in e.atoms(*_PW_ATOMS):
        args = []
        if isinstance(atom, sp.Abs | sp.sign | sp.Heaviside):
            args = [atom.args[0]]
        elif isinstance(atom, sp.Max | sp.Min):
            a = atom.args
            args = [a[i] - a[k] for i in range(len(a)) for k in range(i + 1, len(a))]
        else:  # Piecewise
            for _, cond in atom.args:
                for rel in cond.atoms(sp.core.relational.Relational):
                    args.append(rel.lhs - rel.rhs)
        for g in args:
            inner = _breakpoints(g) if g.has(*_PW_ATOMS) else []
            pts = _test_points(inner)
            edges = [sp.S.NegativeInfinity, *inner, sp.S.Infinity]
            for t, lo, hi in zip(pts, edges[:-1], edges[1:], strict=True):
                p = _resolve(g, t)
                for r in _real_roots(p):
                    fr = float(sp.N(r, 30))
                    if (_is_inf(lo) or fr > float(sp.N(lo, 30))) and (_is_inf(hi) or fr < float(sp.N(hi, 30))):
                        found.append(r)
            found.extend(inner)
    return _sorted_unique(found)


def _pieces(expr):
    """[(lo, hi, monomial coefficients)] covering R, or None if expr is not piecewise polynomial."""
    if not expr.has(*_PW_ATOMS):
        return None
    try:
        bps = _breakpoints(expr)
        pts = _test_points(bps)
        edges = [sp.S.NegativeInfinity, *bps, sp.S.Infinity]
        out = []
        for t, lo, hi in zip(pts, edges[:-1], edges[1:], strict=True):
            p = _resolve(expr, t)
            pc = _poly_coeffs(p)
            if pc is None:
                return None
            out.append((lo, hi, pc))
        return out
    except _RouteFailed:
        return None


def _phi(x):
    return sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)


def _Phi(x):
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def _piecewise(expr, K):
    pieces = _pieces(expr)
    if pieces is None:
        return None
    acc = [dict() for _ in range(K + 1)]  # key: ('one',) | ('Phi', x) | ('phi', x) -> coefficient

    def add(d, key, v):
        if v != 0:
            d[key] = d.get(key, 0) + v

    for lo, hi, pc in pieces:
        if all(c == 0 for c in pc):
            continue
        a = None if _is_inf(lo) else _num(lo)
        b = None if _is_inf(hi) else _num(hi)
        nmax = len(pc) - 1 + K
        A, B, C = [1, 0], [0, 1], [0, -1]
        for n in range(2, nmax + 1):
            A.append((n - 1) * A[n - 2])
            B.append((a ** (n - 1) if a is not None else 0) + (n - 1) * B[n - 2])
            C.append(-(b ** (n - 1) if b is not None else 0) + (n - 1) * C[n - 2])
        for j in range(K + 1):
            he = he_coeffs(j)
            sa = sb = sc = 0
            for i, p in enumerate(pc):
                if p == 0:
                    continue
                ta = tb = tc = 0
                for k in range(j % 2, j + 1, 2):
                    h = he[k]
                    ta += h * A[i + k]
                    tb += h * B[i + k]
                    tc += h * C[i + k]
                sa += p * ta
                sb += p * tb
                sc += p * tc
            # I = A (Φ(b) − Φ(a)) + B φ(a) + C φ(b)
            d = acc[j]
            if b is None:
                add(d, ("one",), sa)
            else:
                add(d, ("Phi", hi), sa)
                add(d, ("phi", hi), sc)
            if a is not None:
                add(d, ("Phi", lo), -sa)
                add(d, ("phi", lo), sb)
    out = []
    for j, d in enumerate(acc):
        val = sp.S.Zero
        for key, coef in d.items():
            coef = _to_sympy(coef)
            if key[0] == "one":
                val += coef
            elif key[0] == "Phi":
                val += coef * _Phi(key[1])
            else:
                val += coef * _phi(key[1])
        out.append(sp.expand(val / factorial(j)))
    return out


# ------------------------------------------------------------------------------------------ Gaussian-closed
def _decompose(expr):
    """Terms (c, m, α, β, erf_ab) with σ = Σ c z^m e^{αz+βz²} [erf(az+b)]; None if σ is not of that form."""
    e = expr.replace(sp.erfc, lambda x: 1 - sp.erf(x))
    e = e.rewrite([sp.sin, sp.cos, sp.sinh, sp.cosh], sp.exp)
    e = sp.expand(e)
    terms = []
    for term in sp.Add.make_args(e):
        c, dep = term.as_independent(Z, as_Add=False)
        m, expo, erf_ab = 0, sp.S.Zero, None
        for f in sp.Mul.make_args(dep):
            if f == Z:
                m += 1
            elif isinstance(f, sp.Pow) and f.base == Z and f.exp.is_Integer and f.exp > 0:
                m += int(f.exp)
            elif isinstance(f, sp.exp):
                expo += f.args[0]
            elif isinstance(f, sp.Pow) and f.base == sp.E:
                expo += f.exp
            elif isinstance(f, sp.erf) and erf_ab is None:
                pc = _poly_coeffs(f.args[0])
                if pc is None or len(pc) > 2 or any(x.has(Z) for x in map(_to_sympy, pc)):
                    return None
                erf_ab = (_to_sympy(pc[1]) if len(pc) > 1 else sp.S.Zero, _to_sympy(pc[0]))
            elif f == 1:
                continue
            else:
                return None
        pc = _poly_coeffs(sp.expand(expo)) if expo != 0 else [0]
        if pc is None or len(pc) > 3:
            return None
        pc = [_to_sympy(x) for x in pc] + [sp.S.Zero] * (3 - len(pc))
        if erf_ab is not None and (pc[1] != 0 or pc[2] != 0):
            return None  # erf × exponential: not handled in closed form
        if not (pc[2].is_real):
            return None
        terms.append((c * sp.exp(pc[0]), m, pc[1], pc[2], erf_ab))
    return terms


def _G_list(alpha, beta, kmax):
    """[G_k(α, β) for k = 0..kmax], G_k = E[He_k(z) e^{αz+βz²}]."""
    if beta == 0:
        e = sp.exp(alpha**2 / 2)
        return [sp.expand(alpha**k * e) if k else e for k in range(kmax + 1)]
    s2 = 1 / (1 - 2 * beta)
    s = sp.sqrt(s2)
    t = alpha * s
    pref = s * sp.exp(alpha**2 * s2 / 2)
    out = []
    for k in range(kmax + 1):
        tot = sp.S.Zero
        for i in range(k // 2 + 1):
            n = k - 2 * i
            tn = t**n if n else sp.S.One
            tot += sp.Rational(factorial(k), factorial(i) * factorial(n) * 2**i) * (s2 - 1) ** i * s**n * tn
        out.append(sp.expand(pref * tot))
    return out


def _zm_he(m, j):
    """He-basis coefficients of z^m He_j (exact ints)."""
    if m == 0:
        return {j: 1}
    prod = poly_mul([0] * m + [1], list(he_coeffs(j)))
    he = poly_to_he(prod)
    return {k: v for k, v in enumerate(he) if v}


def _gaussian_closed(expr, K):
    terms = _decompose(expr)
    if terms is None:
        return None
    for c, _, _, beta, _ in terms:
        if c != 0 and float(sp.re(beta)) >= 0.25:
            raise NotSquareIntegrable(
                f"σ = {expr} grows like exp({beta}·z²): E[σ²] = ∞ under N(0,1) (needs growth below exp(z²/4)); "
                "it has no Hermite expansion in L²"
            )
    cache = {}
    out = []
    for j in range(K + 1):
        tot = sp.S.Zero
        for c, m, alpha, beta, erf_ab in terms:
            q = _zm_he(m, j)
            if erf_ab is None:
                key = (alpha, beta)
                kmax = K + m
                if key not in cache:
                    cache[key] = _G_list(alpha, beta, kmax)
                G = cache[key]
                tot += c * sum(v * G[k] for k, v in q.items())
            else:
                a, b = erf_ab
                key = ("erf", a, b)
                if key not in cache:
                    cache[key] = _G_list(-2 * a * b, -(a**2), K + m)
                G = cache[key]
                pre = 2 * a / sp.sqrt(sp.pi) * sp.exp(-(b**2))
                for k, v in q.items():
                    if k == 0:
                        tot += c * v * sp.erf(b / sp.sqrt(1 + 2 * a**2))
                    else:
                        tot += c * v * pre * G[k - 1]
        tot = sp.expand(tot / factorial(j))
        if tot.has(sp.I):
            re, im = sp.expand_complex(tot).as_real_imag()
            if abs(float(sp.N(im, 30))) > 1e-20 * (1 + abs(float(sp.N(re, 30)))):
                return None
            tot = sp.expand(re)
        out.append(tot)
    return out


def exact_coefficients(expr: sp.Expr, K: int):
    """(list of exact sympy c_j for j = 0..K in the He basis, route name) or (None, reason)."""
    expr = rationalize(expr)
    if not expr.has(Z):
        return [expr] + [sp.S.Zero] * K, "constant"
    big = [p for p in expr.atoms(sp.Pow) if p.base.has(Z) and p.exp.is_Number and abs(p.exp) > 400]
    if big:
        return None, f"power {big[0].exp} too large for the exact routes (limit 400)"
    res = _polynomial(expr, K)
    if res is not None:
        return res, "polynomial change of basis"
    res = _piecewise(expr, K)
    if res is not None:
        return res, "piecewise polynomial, truncated Gaussian moments"
    res = _gaussian_closed(expr, K)
    if res is not None:
        return res, "Gaussian-closed form (exp/trig/erf × polynomial, Stein)"
    # coefficients are linear in σ: a sum of piecewise-polynomial and Gaussian-closed parts
    terms = sp.Add.make_args(sp.expand(expr))
    pw = [t for t in terms if t.has(*_PW_ATOMS)]
    rest = [t for t in terms if not t.has(*_PW_ATOMS)]
    if pw and rest:
        a = _piecewise(sp.Add(*pw), K)
        b = _gaussian_closed(sp.Add(*rest), K) if a is not None else None
        if a is not None and b is not None:
            return [sp.expand(x + y) for x, y in zip(a, b, strict=True)], "piecewise polynomial + Gaussian-closed"
    return None, "no closed form route applies"
