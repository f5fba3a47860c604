"""Activation specs → ``Activation`` objects with JAX-jittable σ and σ' (docs/theory.md §1).

A spec is a sympy expression or string in ``z``, a common name, ``HeK``/``hK`` (probabilists' / orthonormal
Hermite polynomial of degree K), a Python/JAX callable, or an existing ``Activation``.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np
import scipy.special as sps
import sympy as sp
from sympy.core.function import AppliedUndef

__all__ = ["Activation", "activation", "Z"]

#: The real variable every expression is written in.
Z = sp.Symbol("z", real=True)

_SQRT2 = float(np.sqrt(2.0))
_INV_SQRT2PI = float(1.0 / np.sqrt(2.0 * np.pi))


def _he_expr(k: int) -> sp.Expr:
    return sp.expand(sp.hermite_prob(k, Z))


# name -> (sympy expression, jax fn, jax dfn, numpy fn); None entries are derived from the expression.
def _named_table():
    z = Z
    return {
        "relu": (sp.Max(z, 0), lambda x: jnp.maximum(x, 0), lambda x: (x > 0).astype(x.dtype), None),
        "abs": (sp.Abs(z), jnp.abs, jnp.sign, np.abs),
        "sign": (sp.sign(z), jnp.sign, jnp.zeros_like, np.sign),
        "heaviside": (sp.Heaviside(z), lambda x: (x > 0).astype(x.dtype), jnp.zeros_like, None),
        "step": (sp.Heaviside(z), lambda x: (x > 0).astype(x.dtype), jnp.zeros_like, None),
        "linear": (z, lambda x: x, jnp.ones_like, None),
        "identity": (z, lambda x: x, jnp.ones_like, None),
        "tanh": (sp.tanh(z), jnp.tanh, lambda x: 1 - jnp.tanh(x) ** 2, np.tanh),
        "erf": (sp.erf(z), jss.erf, lambda x: (2 / np.sqrt(np.pi)) * jnp.exp(-x * x), sps.erf),
        "sigmoid": (
            1 / (1 + sp.exp(-z)),
            jax.nn.sigmoid,
            lambda x: jax.nn.sigmoid(x) * jax.nn.sigmoid(-x),
            sps.expit,
        ),
        "softplus": (sp.log(1 + sp.exp(z)), jax.nn.softplus, jax.nn.sigmoid, lambda x: np.logaddexp(0.0, x)),
        "gelu": (
            z * (1 + sp.erf(z / sp.sqrt(2))) / 2,
            lambda x: 0.5 * x * (1 + jss.erf(x / _SQRT2)),
            lambda x: 0.5 * (1 + jss.erf(x / _SQRT2)) + x * _INV_SQRT2PI * jnp.exp(-0.5 * x * x),
            lambda x: 0.5 * x * (1 + sps.erf(x / _SQRT2)),
        ),
    }


_NAMED = _named_table()
_HERMITE_NAME = re.compile(r"^(He|h)(\d+)$")

_JAX_MODULES = [
    {
        "erf": jss.erf,
        "erfc": jss.erfc,
        "select": jnp.select,
        "Heaviside": lambda x, h=0.5: jnp.heaviside(x, h),
        "DiracDelta": jnp.zeros_like,
    },
    "jax",
]
_NP_MODULES = [
    {"erf": sps.erf, "erfc": sps.erfc, "Heaviside": lambda x, h=0.5: np.heaviside(x, h)},
    "numpy",
    "scipy",
]


@dataclasses.dataclass(frozen=True)
class Activation:
    """An activation (or link) σ: R → R, with exact expression when known and JAX-jittable σ, σ'.

    Attributes:
        name: a readable name (the common name, or the expression as a string).
        expr: the sympy expression in the real symbol ``z`` (``hermite.Z``), or ``None`` for a callable.
        fn: ``fn(z)`` elementwise σ, pure ``jax.numpy``: jittable, vmappable, any shape, keeps float32/float64.
        dfn: ``dfn(z)`` elementwise σ' (almost-everywhere derivative: 0 at the jumps of sign/Heaviside, the
            one-sided value 0 at the kink of ReLU); for a callable, ``jax.grad`` of it (needs a JAX-traceable
            callable).
        is_even, is_odd: parity, decided numerically at 16 points to 1e-12 relative (``None`` if σ could not
            be evaluated there).
    """

    name: str
    expr: sp.Expr | None
    fn: Callable = dataclasses.field(repr=False, compare=False)
    dfn: Callable = dataclasses.field(repr=False, compare=False)
    is_even: bool | None = None
    is_odd: bool | None = None
    _np: Callable = dataclasses.field(default=None, repr=False, compare=False)
    _callable: Callable | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"`name`={self.name!r} must be a non-empty string")
        if self.expr is not None and not isinstance(self.expr, sp.Expr):
            raise TypeError(f"`expr`={self.expr!r} must be a sympy expression in z or None")
        if not callable(self.fn) or not callable(self.dfn):
            raise TypeError("`fn` and `dfn` must be callables")

    def numpy(self, z) -> np.ndarray:
        """σ evaluated in float64 numpy (used by the quadrature); NaN/inf are passed through."""
        z = np.asarray(z, dtype=np.float64)
        with np.errstate(all="ignore"):
            out = self._np(z) if self._np is not None else np.asarray(self.fn(z))
        return np.broadcast_to(np.asarray(out, dtype=np.float64), z.shape)


def _dtype_wrap(raw: Callable) -> Callable:
    """Elementwise wrapper: float input keeps its dtype; ints become the default float; constants broadcast.

    The result is ``jax.jit``-compiled (once per shape/dtype), and inlines when used inside other jitted code.
    """

    @jax.jit
    def f(z):
        z = jnp.asarray(z)
        if not jnp.issubdtype(z.dtype, jnp.floating):
            z = z.astype(jnp.result_type(float))
        out = jnp.asarray(raw(z), dtype=z.dtype)
        return jnp.broadcast_to(out, z.shape)

    return f


def _grad_dfn(fn: Callable) -> Callable:
    scalar = jax.grad(lambda x: fn(x))

    @jax.jit
    def d(z):
        z = jnp.asarray(z)
        if not jnp.issubdtype(z.dtype, jnp.floating):
            z = z.astype(jnp.result_type(float))
        return jnp.vectorize(scalar)(z)

    return d


# Functions a string may call: a fixed whitelist (the string is parsed with ``ast`` and the sympy expression
# is built node by node; it is never evaluated as Python). Names map to sympy callables.
_FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "cbrt": sp.cbrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "asinh": sp.asinh,
    "acosh": sp.acosh,
    "atanh": sp.atanh,
    "erf": sp.erf,
    "erfc": sp.erfc,
    "Abs": sp.Abs,
    "abs": sp.Abs,
    "sign": sp.sign,
    "Heaviside": sp.Heaviside,
    "DiracDelta": sp.DiracDelta,
    "Max": sp.Max,
    "Min": sp.Min,
    "floor": sp.floor,
    "ceiling": sp.ceiling,
    "Piecewise": sp.Piecewise,
    "relu": lambda x: sp.Max(x, 0),
    "sigmoid": lambda x: 1 / (1 + sp.exp(-x)),
    "softplus": lambda x: sp.log(1 + sp.exp(x)),
    "gelu": lambda x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
}
# Argument counts (min, max); None = any number ≥ min.
_ARITY = {"Max": (1, None), "Min": (1, None), "Piecewise": (1, None), "Heaviside": (1, 2), "log": (1, 2)}
_CONSTANTS = {"z": Z, "pi": sp.pi, "E": sp.E, "True": sp.true, "False": sp.false}
_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: None,  # checked in _pow
    ast.BitAnd: lambda a, b: sp.And(a, b),  # conditions of Piecewise: (z > 0) & (z < 1)
    ast.BitOr: lambda a, b: sp.Or(a, b),
}
_COMPARE = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}
#: Longest accepted expression string (characters) and deepest accepted expression tree.
MAX_SPEC_LENGTH = 500
MAX_SPEC_DEPTH = 40
_MAX_POWER_BITS = 20000  # |exponent| · bits(base) for an exact rational power: keeps 9**9**9 from hanging
_HINT = "write σ in z, e.g. 'Max(z,0)', 'tanh(z)', 'Abs(z)**3', 'exp(z/2)', or a name such as 'relu', 'h4'"


class _Refused(ValueError):
    pass


def _parse_string(text: str) -> sp.Expr:
    """Parse ``text`` into a sympy expression without evaluating it as Python (whitelist of node kinds/names)."""
    if not text.strip():
        raise ValueError("`spec`='' is empty: give an expression in z such as 'Max(z,0)' or a name such as 'relu'")
    shown = text if len(text) <= 80 else text[:77] + "..."
    if len(text) > MAX_SPEC_LENGTH:
        raise ValueError(
            f"`spec`={shown!r} is {len(text)} characters long: at most {MAX_SPEC_LENGTH} are accepted; "
            "simplify the expression"
        )
    if not text.isprintable():
        raise ValueError(f"`spec`={shown!r} contains non-printable characters; {_HINT}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"`spec`={shown!r} is not a valid expression ({type(exc).__name__}); {_HINT}") from None
    try:
        expr = _build(tree.body, 0)
    except _Refused as exc:
        raise ValueError(f"`spec`={shown!r} {exc}") from None
    except RecursionError:
        raise ValueError(f"`spec`={shown!r} is nested too deeply; simplify the expression") from None
    except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:  # sympy refusing e.g. Max(True)
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"`spec`={shown!r} could not be built ({msg}); {_HINT}") from None
    return expr


def _build(node: ast.AST, depth: int):
    if depth > MAX_SPEC_DEPTH:
        raise _Refused(f"is nested deeper than {MAX_SPEC_DEPTH} levels; simplify the expression")
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):  # conditions of Piecewise: (0, True)
            return sp.true if v else sp.false
        if not isinstance(v, int | float):
            raise _Refused(f"contains the literal {v!r}: only real numbers are allowed; {_HINT}")
        if isinstance(v, float):
            if not np.isfinite(v):
                raise _Refused(f"contains the number {v!r}, which is not finite in float64; use a smaller number")
            return sp.Float(repr(v))
        return sp.Integer(v)
    if isinstance(node, ast.Name):
        name = node.id
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        m = _HERMITE_NAME.match(name)
        if m and int(m.group(2)) <= 200:
            return sp.Symbol(name)  # substituted by _check_expr
        if name in _FUNCTIONS:
            raise _Refused(f"uses the function {name} without calling it; write e.g. {name}(z)")
        raise _Refused(
            f"uses unknown symbol(s) {name}; σ must be a function of z only (known constants: pi, E), "
            "with numbers substituted for parameters"
        )
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return -_build(node.operand, depth + 1)
        if isinstance(node.op, ast.UAdd):
            return _build(node.operand, depth + 1)
        raise _Refused(f"uses the operator {type(node.op).__name__}: only + - * / ** are allowed; {_HINT}")
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            hint = " (use ** for powers)" if isinstance(node.op, ast.BitXor) else ""
            raise _Refused(f"uses the operator {type(node.op).__name__}{hint}: only + - * / ** are allowed")
        a, b = _build(node.left, depth + 1), _build(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            return _pow(a, b)
        return _BINOPS[type(node.op)](a, b)
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise _Refused("uses a comparison other than one of <, <=, >, >= between two terms; e.g. 'z > 1'")
        return _COMPARE[type(node.ops[0])](_build(node.left, depth + 1), _build(node.comparators[0], depth + 1))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _Refused(
                f"calls the result of Python syntax ({type(node.func).__name__}): only the allowed functions may be "
                f"called, by name, e.g. exp(z); {_HINT}"
            )
        if node.func.id not in _FUNCTIONS:
            what = node.func.id
            raise _Refused(
                f"uses unknown function(s) {what}; allowed functions: {', '.join(sorted(_FUNCTIONS))}"
                " (and the symbols HeK/hK)"
            )
        name = node.func.id
        if node.keywords:
            raise _Refused(f"passes keyword arguments to {name}: only positional arguments are allowed")
        lo, hi = _ARITY.get(name, (1, 1))
        n = len(node.args)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if hi == lo else (f"{lo} or more" if hi is None else f"{lo} to {hi}")
            raise _Refused(f"calls {name} with {n} argument(s): it takes {want}")
        if name == "Piecewise":
            pieces = []
            for arg in node.args:
                if not isinstance(arg, ast.Tuple) or len(arg.elts) != 2:
                    raise _Refused("calls Piecewise with a piece that is not (value, condition)")
                pieces.append((_build(arg.elts[0], depth + 2), _build(arg.elts[1], depth + 2)))
            return sp.Piecewise(*pieces)
        args = [_build(arg, depth + 1) for arg in node.args]
        return _FUNCTIONS[name](*args)
    kind = type(node).__name__
    raise _Refused(
        f"contains Python syntax that is not allowed ({kind}): only numbers, z, "
        f"pi, E, + - * / **, comparisons and calls of the allowed functions are accepted; {_HINT}"
    )


def _pow(base, exp):
    if isinstance(exp, sp.Number) and isinstance(base, sp.Number):
        if isinstance(base, sp.Rational) and isinstance(exp, sp.Integer):
            bits = max(int(base.p).bit_length(), int(base.q).bit_length(), 1) * abs(int(exp))
            if bits > _MAX_POWER_BITS:
                raise _Refused("contains a power whose exact value has too many digits; use a smaller number")
    elif isinstance(exp, sp.Number) and abs(exp) > 1000:
        raise _Refused(f"raises to the power {exp}: exponents must satisfy |p| ≤ 1000")
    out = base**exp
    if isinstance(out, sp.Pow) and isinstance(out.exp, sp.Number) and abs(out.exp) > 1000:
        raise _Refused(f"raises to the power {out.exp}: exponents must satisfy |p| ≤ 1000")
    return out


def _check_expr(expr, label: str) -> sp.Expr:
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"`spec`={label!r} is a {type(expr).__name__}, not an expression in z; give e.g. 'Max(z,0)'")
    # map any plain Symbol('z') onto the real z
    subs = {s: Z for s in expr.free_symbols if s.name == "z" and s != Z}
    if subs:
        expr = expr.xreplace(subs)
    herm = {}
    for s in expr.free_symbols:
        m = _HERMITE_NAME.match(s.name)
        if m and int(m.group(2)) <= 200:
            k = int(m.group(2))
            herm[s] = _he_expr(k) if m.group(1) == "He" else _he_expr(k) / sp.sqrt(sp.factorial(k))
    if herm:
        expr = sp.expand(expr.xreplace(herm))
    undef = sorted({f.func.__name__ for f in expr.atoms(AppliedUndef)})
    other = sorted(s.name for s in expr.free_symbols if s != Z)
    if undef or other:
        parts = []
        if undef:
            parts.append(f"unknown function(s) {', '.join(undef)}")
        if other:
            parts.append(f"unknown symbol(s) {', '.join(other)}")
        raise ValueError(
            f"`spec`={label!r} uses {' and '.join(parts)}; σ must be a function of z only, built from sympy "
            "functions (exp, tanh, erf, Max, Abs, sign, Heaviside, Piecewise, ...) or relu/sigmoid/softplus/gelu, "
            "with numbers substituted for parameters"
        )
    if expr.has(sp.DiracDelta):
        raise ValueError(
            f"`spec`={label!r} contains DiracDelta, a distribution rather than a function: E[σ²] = ∞ under N(0,1), "
            "so it has no Hermite expansion and cannot be an activation; use e.g. Heaviside(z) or exp(-z**2/2)"
        )
    if expr.has(sp.I) or expr.has(sp.zoo) or expr.has(sp.nan) or expr.has(sp.oo):
        raise ValueError(f"`spec`={label!r} is not a finite real function of z; give a real-valued expression")
    return expr


def _parity(np_fn: Callable) -> tuple[bool | None, bool | None]:
    x = np.array([0.137, 0.412, 0.731, 1.093, 1.517, 1.962, 2.333, 2.871, 3.219, 3.777, 0.05, 0.29, 1.3, 2.6, 4.4, 5.1])
    with np.errstate(all="ignore"):
        try:
            a = np.asarray(np_fn(x), dtype=np.float64)
            b = np.asarray(np_fn(-x), dtype=np.float64)
        except Exception:
            return None, None
    a, b = np.broadcast_to(a, x.shape), np.broadcast_to(b, x.shape)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None, None
    scale = 1e-12 * (1.0 + np.maximum(np.abs(a), np.abs(b)))
    return bool(np.all(np.abs(a - b) <= scale)), bool(np.all(np.abs(a + b) <= scale))


def _from_expr(name: str, expr: sp.Expr, jfn=None, jdfn=None, npfn=None) -> Activation:
    if jfn is None:
        jfn = sp.lambdify(Z, expr, modules=_JAX_MODULES)
    fn = _dtype_wrap(jfn)
    if jdfn is None:
        try:
            d = sp.diff(expr, Z).replace(sp.DiracDelta, lambda *a: sp.S.Zero)
            if d.has(sp.Derivative, sp.Subs):
                raise ValueError("no symbolic derivative")
            dfn = _dtype_wrap(sp.lambdify(Z, d, modules=_JAX_MODULES))
        except Exception:
            dfn = _grad_dfn(fn)
    else:
        dfn = _dtype_wrap(jdfn)
    if npfn is None:
        npfn = sp.lambdify(Z, expr, modules=_NP_MODULES)
    even, odd = _parity(npfn)
    return Activation(name=name, expr=expr, fn=fn, dfn=dfn, is_even=even, is_odd=odd, _np=npfn)


def _from_callable(f: Callable) -> Activation:
    name = getattr(f, "__name__", None) or type(f).__name__
    fn = _dtype_wrap(f)

    def npfn(x):
        y = np.asarray(f(x))
        if np.iscomplexobj(y):
            if np.any(y.imag != 0):
                raise ValueError(f"`spec`={name} returned complex values; σ must be real-valued")
            y = y.real
        return y.astype(np.float64)

    even, odd = _parity(npfn)
    return Activation(
        name=f"<callable {name}>", expr=None, fn=fn, dfn=_grad_dfn(fn), is_even=even, is_odd=odd, _np=npfn, _callable=f
    )


def activation(spec) -> Activation:
    """Build an ``Activation`` σ from a spec.

    Args:
        spec: one of
            - a common name: ``relu``, ``abs``, ``sign``, ``heaviside``/``step``, ``linear``/``identity``,
              ``tanh``, ``erf``, ``sigmoid``, ``softplus``, ``gelu`` (exact erf form, z·Φ(z));
            - ``HeK`` (probabilists' Hermite He_K, monic) or ``hK`` (orthonormal h_K = He_K/√(K!)), any K ≥ 0;
            - a sympy expression or a string in ``z`` (``"Max(z,0)"``, ``"Abs(z)**3"``, ``"exp(z/2)"``,
              ``"Piecewise((z, z > 0), (0, True))"``, ``"He3 + 2*h5"``; ``relu(.)``, ``sigmoid(.)``,
              ``softplus(.)``, ``gelu(.)`` and symbols ``HeK``/``hK`` may be used inside strings);
            - a Python/JAX callable acting elementwise on arrays (``fn``/``dfn`` are jittable only if it is
              JAX-traceable; coefficients only need it to accept float64 numpy arrays);
            - an ``Activation`` (returned unchanged).

    Returns:
        ``Activation`` with ``.fn``, ``.dfn`` pure-jnp elementwise functions (docs/theory.md §1).

    Raises:
        ValueError: syntax errors, unknown symbols or functions (named), negative Hermite degree.
        TypeError: a spec of another kind.

    Examples:
        >>> act = activation("h4"); float(act.fn(1.0))  # (1 - 6 + 3)/√24
        -0.4082482904638629
    """
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str):
        key = spec.strip()
        low = key.lower()
        if low in _NAMED:
            expr, jfn, jdfn, npfn = _NAMED[low]
            return _from_expr(low, expr, jfn, jdfn, npfn)
        m = _HERMITE_NAME.match(key)
        if m:
            k = int(m.group(2))
            if k > 200:
                raise ValueError(f"`spec`={key!r}: Hermite degree {k} is out of range: need 0 ≤ K ≤ 200")
            he = _he_expr(k)
            expr = he if m.group(1) == "He" else sp.expand(he / sp.sqrt(sp.factorial(k)))
            return _from_expr(key, expr)
        if re.match(r"^(He|h)-\d+$", key):
            raise ValueError(f"`spec`={key!r}: Hermite degree must be ≥ 0; use e.g. 'h4' or 'He2'")
        expr = _check_expr(_parse_string(key), key)
        return _from_expr(key, expr)
    if isinstance(spec, sp.Basic):
        expr = _check_expr(spec, str(spec))
        return _from_expr(str(expr), expr)
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        expr = sp.nsimplify(spec) if isinstance(spec, float) else sp.Integer(spec)
        return _from_expr(str(expr), expr)
    if callable(spec):
        return _from_callable(spec)
    raise TypeError(
        f"`spec`={spec!r} of type {type(spec).__name__} is not an activation spec; give a name ('relu', 'h4'), "
        "an expression in z ('tanh(z)'), a sympy expression, or a callable"
    )
