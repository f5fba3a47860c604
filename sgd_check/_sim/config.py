"""Frozen, validated run specifications for the online-SGD simulator (docs/theory.md §2-§3).

Conventions shared by both models:

* Teacher coefficients ``a_m = m^{-beta}`` normalised to ``ã = a/‖a‖₂`` (``Σ ã_m² = 1``), computed by
  ``riccati.teacher_coefficients`` (the one home of that formula).
* Teacher directions are the first ``M`` coordinate axes. This loses no generality: the inputs
  ``x ~ N(0, I_d)`` are isotropic, so any orthonormal teacher frame Θ can be rotated onto the axes together
  with the student, and every reported quantity (overlaps ``ΘᵀU``, ``WΘ``, risks) is rotation invariant.
* Time: quadratic model canonical Riccati time ``t = 4 c η · steps``; homogeneous model ``t = η · steps``.
* Risk is the *relative* population risk ``E(f − f_*)² / E f_*²`` unless a field name says otherwise.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from hermite.validation import require_choice, require_int, require_real

__all__ = [
    "QuadraticSGDConfig",
    "HomogeneousSGDConfig",
    "config_params",
    "eta_schedule_arrays",
    "log_schedule",
    "steps_for_time",
]

_DTYPES = ("float32", "float64")
_DEVICES = ("auto", "cpu", "gpu")
_PHASE2 = ("end", "logged", "none")
_ENGINES = ("auto", "full", "reduced")


def log_schedule(steps: int, n_log: int) -> np.ndarray:
    """Logged step numbers: 0 and about ``n_log`` log-spaced integers in ``[1, steps]`` (always ending at ``steps``;
    at most ``n_log + 1`` entries, duplicates removed)."""
    steps = require_int("steps", steps, lo=1)
    n_log = require_int("n_log", n_log, lo=1)
    pts = np.unique(np.round(np.geomspace(1, steps, n_log)).astype(np.int64))
    return np.concatenate([[0], pts]).astype(np.int64)


#: Largest accepted number of SGD steps (beyond it the log schedule leaves int64 and no run could finish).
MAX_STEPS = 10**12
#: Largest accepted step size: finite in float32 with room to spare; SGD on either model diverges at the first
#: step long before it (the stable η is O(1/d)), so this only stops values whose squares leave float32.
MAX_ETA = 1e6


def steps_for_time(t_max: float, time_per_step: float) -> int:
    """Smallest number of SGD steps whose flow time ``steps · time_per_step`` reaches ``t_max``."""
    t_max = require_real("t_max", t_max, lo=0.0, lo_open=True, fix="give a positive flow time")
    steps = t_max / time_per_step
    if not steps <= MAX_STEPS:
        raise ValueError(
            f"`t_max`={t_max:g} needs {steps:.3g} SGD steps of flow time {time_per_step:.3g}: more than the "
            f"{MAX_STEPS:.0e} allowed; lower --t-max or raise --eta"
        )
    return max(1, math.ceil(steps - 1e-9))


def _common_checks(cfg) -> None:
    d = require_int("d", cfg.d, lo=1, fix="the input dimension must be a positive integer")
    M = require_int(
        "M", cfg.M, lo=1, hi=d, fix=f"teacher directions live in R^d: need M ≤ d={d}; raise --d or lower --M"
    )
    N = require_int("N", cfg.N, lo=1, hi=d, fix=f"need N ≤ d={d}; raise --d or lower --N")
    object.__setattr__(cfg, "d", d)
    object.__setattr__(cfg, "M", M)
    object.__setattr__(cfg, "N", N)
    object.__setattr__(cfg, "beta", require_real("beta", cfg.beta, lo=0.0, fix="use a power-law exponent β ≥ 0"))
    object.__setattr__(
        cfg,
        "eta",
        require_real(
            "eta", cfg.eta, lo=0.0, lo_open=True, hi=MAX_ETA, fix=f"the step size η must be in (0, {MAX_ETA:g}]"
        ),
    )
    object.__setattr__(
        cfg,
        "steps",
        require_int("steps", cfg.steps, lo=1, hi=MAX_STEPS, fix="run at least one SGD step and at most 10^12"),
    )
    object.__setattr__(cfg, "batch", require_int("batch", cfg.batch, lo=1, fix="the batch size B must be ≥ 1"))
    object.__setattr__(cfg, "seeds", require_int("seeds", cfg.seeds, lo=1, fix="simulate at least one seed"))
    object.__setattr__(cfg, "seed", require_int("seed", cfg.seed, lo=0, hi=2**32 - 1, fix="use a seed in [0, 2^32)"))
    object.__setattr__(cfg, "n_log", require_int("n_log", cfg.n_log, lo=1, hi=10_000, fix="log 1..10000 points"))
    require_choice("dtype", cfg.dtype, _DTYPES, fix="use --dtype float32 (fast) or float64 (exact comparisons)")
    require_choice("device", cfg.device, _DEVICES, fix="use --device auto, cpu or gpu")
    if cfg.chunk is not None:
        object.__setattr__(cfg, "chunk", require_int("chunk", cfg.chunk, lo=1, hi=1 << 16, fix="or leave it None"))
    object.__setattr__(
        cfg,
        "checkpoint_every",
        require_int("checkpoint_every", cfg.checkpoint_every, lo=1, fix="checkpoint every ≥ 1 chunks"),
    )
    object.__setattr__(
        cfg,
        "blowup",
        require_real("blowup", cfg.blowup, lo=1.0, lo_open=True, fix="relative risk above which a seed is diverged"),
    )


def _schedule_checks(cfg) -> None:
    """Validate ``eta_schedule`` and store it as a tuple of ``(int, float)`` pairs (hashable, JSON-ready).

    Piece ``(s, η)`` sets the step size of every update after the first ``s`` (updates ``s + 1, s + 2, …``) until
    the next piece; ``eta`` is the step size before the first piece. Starts strictly increase in ``[1, steps − 1]``."""
    sched = cfg.eta_schedule
    if sched is None:
        sched = ()
    if isinstance(sched, str | bytes) or not hasattr(sched, "__iter__"):
        raise TypeError(
            f"`eta_schedule`={sched!r} must be a sequence of (start_step, eta) pairs, e.g. ((1000, 1e-4),); "
            "use () for a constant step size"
        )
    out = []
    prev = 0
    for i, piece in enumerate(sched):
        if isinstance(piece, str | bytes) or not hasattr(piece, "__len__") or len(piece) != 2:
            raise TypeError(
                f"`eta_schedule[{i}]`={piece!r} must be a (start_step, eta) pair; e.g. eta_schedule=((1000, 1e-4),)"
            )
        start = require_int(
            f"eta_schedule[{i}][0]",
            piece[0],
            lo=prev + 1,
            hi=cfg.steps - 1,
            fix=f"start steps must increase strictly within [1, steps − 1 = {cfg.steps - 1}] "
            "(the step size before the first start is `eta`)",
        )
        eta = require_real(
            f"eta_schedule[{i}][1]",
            piece[1],
            lo=0.0,
            lo_open=True,
            hi=MAX_ETA,
            fix=f"each η must be in (0, {MAX_ETA:g}]",
        )
        out.append((start, eta))
        prev = start
    object.__setattr__(cfg, "eta_schedule", tuple(out))


def eta_schedule_arrays(cfg, pad: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, values)``: update number ``n`` (1-based) uses ``values[#{starts < n}]``.

    ``values[0] = eta``; with ``pad`` the arrays are padded to a power of two (starts with 2^62, never reached,
    values with the last rate) so that schedules of similar length share one compiled chunk."""
    starts = np.array([s for s, _ in cfg.eta_schedule], dtype=np.int64)
    values = np.array([cfg.eta] + [e for _, e in cfg.eta_schedule], dtype=np.float64)
    if pad:
        P = 1 << max(0, (len(starts) - 1)).bit_length() if len(starts) else 0
        starts = np.concatenate([starts, np.full(P - len(starts), 2**62, np.int64)])
        values = np.concatenate([values, np.full(P + 1 - len(values), values[-1])])
    return starts, values


def _engine_checks(cfg) -> None:
    """Validate ``engine``; ``reduced`` needs room for the frame, d ≥ M + N (docs/theory.md §5)."""
    require_choice("engine", cfg.engine, _ENGINES, fix="use --engine auto, full or reduced")
    if cfg.engine == "reduced" and cfg.d < cfg.M + cfg.N:
        raise ValueError(
            f"`engine`='reduced' needs d ≥ M + N = {cfg.M + cfg.N} (its frame holds the M teacher and N student "
            f"directions), got d={cfg.d}; use --engine full (or auto), or raise --d to ≥ {cfg.M + cfg.N}"
        )


def _resolve_engine(cfg) -> str:
    """``auto`` → ``reduced`` when d ≥ M + N and the frame (D = M + N + E coordinates) is at most a quarter of d.

    Below that the reduced engine's fixed costs (χ² draws, fold-backs, a longer compilation) eat its gain."""
    if cfg.engine != "auto":
        return cfg.engine
    from .reduced import layout

    D = layout(cfg.M, cfg.N, cfg.batch).D
    return "reduced" if cfg.d >= cfg.M + cfg.N and 4 * D <= cfg.d else "full"


def _auto_chunk(batch: int, d: int, budget: int = 1 << 18) -> int:
    """Steps per compiled chunk: about ``budget`` Gaussian numbers per seed per chunk (a power of two in [1, 1024])."""
    c = max(1, budget // (batch * d))
    return int(min(1024, 1 << (c.bit_length() - 1)))


class _SGDConfigMethods:
    """Methods both frozen SGD configs share (the fields and their validation stay in each dataclass)."""

    def teacher(self) -> np.ndarray:
        """``ã`` (shape ``(M,)``, float64): :func:`riccati.teacher_coefficients` of ``beta`` and ``M``."""
        import riccati

        return riccati.teacher_coefficients(self.beta, self.M)

    @property
    def engine_used(self) -> str:
        """``"full"`` (d-dim state) or ``"reduced"`` (frame coordinates, docs/theory.md §5); ``auto`` resolved."""
        return _resolve_engine(self)

    @property
    def reduced_layout(self):
        """Frame sizes of the reduced engine (``reduced.Layout``)."""
        from .reduced import layout

        return layout(self.M, self.N, self.batch, self.chunk_size)

    def eta_at(self, steps) -> np.ndarray:
        """Step size of update number ``steps`` (1-based; array-like), from ``eta`` and ``eta_schedule``."""
        starts, values = eta_schedule_arrays(self, pad=False)
        n = np.asarray(steps, dtype=np.int64)
        return values[np.sum(starts[:, None] < n.ravel()[None, :], axis=0).reshape(n.shape)]

    def flow_time(self, steps) -> np.ndarray:
        """Flow time after ``steps`` updates (array-like, float64): ``time_per_step/eta · Σ_{n ≤ steps} η_n``, i.e.
        ``steps · time_per_step`` for a constant step size (quadratic ``4c Σ η_n``, homogeneous ``Σ η_n``)."""
        n = np.asarray(steps, dtype=np.float64)
        if not self.eta_schedule:
            return n * self.time_per_step
        starts, values = eta_schedule_arrays(self, pad=False)
        edges = np.concatenate([[0.0], starts.astype(np.float64), [np.inf]])
        t = np.zeros_like(n)
        for j, eta in enumerate(values):
            t = t + eta * np.clip(n - edges[j], 0.0, edges[j + 1] - edges[j])
        return t * (self.time_per_step / self.eta)

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class QuadraticSGDConfig(_SGDConfigMethods):
    """Online SGD on the Stiefel manifold for the quadratic network of [BEVW25] (docs/theory.md §2).

    Student ``f_U(x) = c Σ_i He_2(⟨u_i, x⟩)`` with ``U ∈ St(d, N)``; teacher ``f_*(x) = Σ_m ã_m He_2(x_m)``.
    Each step draws ``batch`` fresh ``x ~ N(0, I_d)``, takes the embedded-metric Riemannian gradient of the
    batch-mean loss ``½(f − y)²`` and the polar retraction (closed form, rank ``batch``). Flow time is the
    canonical Riccati time ``t = 4 c η · steps``. ``U0`` is Haar on ``St(d, N)``.

    Phase II (``phase2``: ``"end"``, ``"logged"`` or ``"none"``) fits the radial part ``Ω`` (``W = UΩ^{1/2}``)
    by least squares on ``n_prime`` fresh samples; its risk is evaluated exactly. The default ``n_prime`` aims
    at an expected excess risk of ``phase2_target`` (default 0.1) times the oracle risk ``1 − tr(ÃGÃG)``:
    ``n′ = p + 1 + ⌈1.5 p / phase2_target⌉``, ``p = N(N+1)/2`` (``reduced.default_n_prime``).

    ``engine``: ``"full"`` (the d-dimensional state), ``"reduced"`` (the exact reduced-state chain of docs/theory.md
    §5, cost independent of d; needs ``d ≥ M + N``) or ``"auto"`` (default: reduced when ``d ≥ M + N`` and its
    frame of ``M + N + E`` coordinates is at most a quarter of d, full otherwise; see ``engine_used``).

    Fields: ``d ≥ 1``, ``1 ≤ M ≤ d``, ``1 ≤ N ≤ d``, ``beta ≥ 0``, ``eta > 0``, ``steps ≥ 1``, ``batch ≥ 1``,
    ``seeds ≥ 1``, ``c > 0`` (default ``1/√N``), ``dtype`` (``"float32"``/``"float64"``), ``seed`` (base PRNG
    seed), ``n_log`` (number of log-spaced logged steps), ``device`` (``"auto"``/``"cpu"``/``"gpu"``),
    ``chunk`` (steps per compiled chunk, default automatic), ``checkpoint_every`` (chunks between checkpoints),
    ``blowup`` (unused by this model: its relative risk is ≤ 1 by construction; kept for a uniform interface),
    ``eta_schedule`` (piecewise-constant step size: ``((s_1, η_1), (s_2, η_2), …)``, strictly increasing starts in
    ``[1, steps − 1]``; updates ``s_j + 1 … s_{j+1}`` use ``η_j``, updates ``1 … s_1`` use ``eta``; default ``()``,
    a constant ``eta``; flow time is then ``4c Σ_n η_n``, see ``flow_time``).
    Raises ``ValueError``/``TypeError`` naming the argument, the allowed range and the fix.
    """

    d: int
    M: int
    N: int
    beta: float
    eta: float
    steps: int
    batch: int = 1
    seeds: int = 1
    c: float | None = None
    dtype: str = "float32"
    seed: int = 0
    n_log: int = 60
    phase2: str = "end"
    n_prime: int | None = None
    device: str = "auto"
    chunk: int | None = None
    checkpoint_every: int = 8
    blowup: float = 1e3
    engine: str = "auto"
    phase2_target: float = 0.1
    eta_schedule: tuple = ()

    model = "quadratic"
    time_unit = "canonical Riccati time t = 4*c*eta*steps"

    def __post_init__(self):
        _common_checks(self)
        c = 1.0 / math.sqrt(self.N) if self.c is None else self.c
        object.__setattr__(self, "c", require_real("c", c, lo=0.0, lo_open=True, fix="the output scale c must be > 0"))
        require_choice("phase2", self.phase2, _PHASE2, fix="fit the radial part at the end, at logged steps, or never")
        _engine_checks(self)
        _schedule_checks(self)
        object.__setattr__(
            self,
            "phase2_target",
            require_real(
                "phase2_target",
                self.phase2_target,
                lo=0.0,
                hi=10.0,
                lo_open=True,
                fix="the Phase-II excess risk aimed at, as a fraction of the oracle risk (default 0.1)",
            ),
        )
        from .reduced import default_n_prime

        n_prime = default_n_prime(self.N, self.phase2_target) if self.n_prime is None else self.n_prime
        object.__setattr__(
            self, "n_prime", require_int("n_prime", n_prime, lo=1, fix="use ≥ N(N+1)/2 samples for the radial fit")
        )
        if self.phase2 != "none" and self.n_prime < self.N * (self.N + 1) // 2:
            raise ValueError(
                f"`n_prime`={self.n_prime} is out of range: need n_prime ≥ N(N+1)/2 = {self.N * (self.N + 1) // 2} "
                "for the least-squares radial fit; raise --n-prime or set phase2='none'"
            )

    @property
    def time_per_step(self) -> float:
        """Flow time per SGD step, ``4 c η``."""
        return 4.0 * self.c * self.eta

    @property
    def chunk_size(self) -> int:
        """Steps per compiled chunk (``chunk`` or an automatic power of two)."""
        # ≤ 2^17 numbers and ≤ 256 steps: the float32 Stiefel drift between two re-orthonormalisations (one
        # per chunk) stays well under 1e-5.
        if self.chunk is not None:
            return self.chunk
        if self.engine_used == "reduced":
            return 256
        return min(256, _auto_chunk(self.batch, self.d, 1 << 17))


@dataclasses.dataclass(frozen=True)
class HomogeneousSGDConfig(_SGDConfigMethods):
    """Online SGD for the two-homogeneous network of [RNWL25] (docs/theory.md §3).

    Student ``f(x) = Σ_i ‖w_i‖² σ(⟨w_i, x⟩/‖w_i‖)``; teacher ``f_*(x) = Σ_p ã_p σ(x_p)``; plain online SGD
    on the rows ``w_i`` of ``W ∈ R^{N×d}`` (norms and directions together) with the batch-mean loss
    ``½(f − y)²``. Flow time ``t = η · steps``. ``W0`` has i.i.d. ``N(0, init_scale²/d)`` entries, so
    ``‖w_i‖ ≈ init_scale``. The relative risk ``2L/K(1)`` is computed exactly from the overlaps through the
    Gaussian kernel ``K`` of ``σ``.

    Fields as :class:`QuadraticSGDConfig` plus ``activation`` (any ``hermite.activation`` spec; default
    ``"h4"`` = He_4/√24) and ``init_scale > 0`` (default 0.1); ``blowup``: a logged relative risk above it
    (or any non-finite value) marks the seed as diverged. ``engine`` as :class:`QuadraticSGDConfig` (reduced
    state: ``P = WΘ`` and the frame coordinates of W's rows; ``Q0 − P0P0ᵀ ~ Wishart_N(d − M, s²/d·I)``);
    ``eta_schedule`` as :class:`QuadraticSGDConfig` (flow time ``t = Σ_n η_n``).

    ``label_noise = σ_ε ≥ 0`` (default 0): the SGD labels are ``y = f_*(x) + σ_ε ε`` with ``ε ~ N(0, 1)`` i.i.d.,
    one per sample, independent of ``x``; each step descends the batch-mean ``½(f − y)²`` of these noisy labels.
    The logged ``risk`` stays the noise-free population relative risk ``2L/K(1)`` (the Bayes error ``σ_ε²`` is
    NOT included; the population noisy loss is ``L + σ_ε²/2``). The inputs ``x`` are the same numbers as with
    ``label_noise = 0`` (ε comes from its own key), and ``label_noise = 0`` compiles no noise at all, so such runs
    are bit-identical to runs of a simulator without this field.
    """

    d: int
    M: int
    N: int
    beta: float
    eta: float
    steps: int
    activation: object = "h4"
    batch: int = 1
    seeds: int = 1
    init_scale: float = 0.1
    dtype: str = "float32"
    seed: int = 0
    n_log: int = 60
    device: str = "auto"
    chunk: int | None = None
    checkpoint_every: int = 8
    blowup: float = 1e3
    engine: str = "auto"
    eta_schedule: tuple = ()
    label_noise: float = 0.0

    model = "homogeneous"
    time_unit = "t = eta*steps"

    def __post_init__(self):
        _common_checks(self)
        object.__setattr__(
            self,
            "init_scale",
            require_real("init_scale", self.init_scale, lo=0.0, lo_open=True, fix="the initial norm scale must be > 0"),
        )
        object.__setattr__(
            self,
            "label_noise",
            require_real(
                "label_noise",
                self.label_noise,
                lo=0.0,
                fix="the label-noise standard deviation σ_ε must be ≥ 0 and finite (0: noise-free labels)",
            ),
        )
        _engine_checks(self)
        _schedule_checks(self)

    @property
    def time_per_step(self) -> float:
        """Flow time per SGD step, ``η``."""
        return self.eta

    @property
    def chunk_size(self) -> int:
        """Steps per compiled chunk (``chunk`` or an automatic power of two)."""
        if self.chunk is not None:
            return self.chunk
        return 256 if self.engine_used == "reduced" else _auto_chunk(self.batch, self.d)


def config_params(cfg) -> dict:
    """The configuration as a JSON-ready dict (resolved defaults included: c, n_prime, chunk size)."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if f.name == "activation" and not isinstance(v, str | int | float):
            v = getattr(v, "name", None) or repr(v)
        out[f.name] = v
    out["chunk"] = cfg.chunk_size
    out["engine"] = cfg.engine_used  # the engine that ran (``auto`` resolved)
    out["model"] = cfg.model
    out["time_per_step"] = cfg.time_per_step
    return out
