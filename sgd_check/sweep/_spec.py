"""Sweep specifications: a TOML file naming one CLI command, fixed options and a grid, expanded into cells.

A spec (TOML)::

    command = "theory quadratic"          # theory|simulate|check  quadratic|homogeneous
    retries = 2                           # optional: extra attempts for a cell that raised (default 2)
    [fixed]                               # options named exactly as the CLI spells them, without "--"
    d = 256
    M = 64
    t-max = 200.0
    [grid]                                # lists, combined as a cartesian product (one dimension each)
    beta = [0.6, 0.8, 1.0, 1.5]
    N = [4, 8, 16, 32]
    [zip]                                 # optional: lists of one length that vary together (one dimension "zip")
    seed = [0, 1, 2]
    eta = [0.01, 0.02, 0.04]
    [cluster]                             # optional: type = "local" | "slurm" | "pbs" | "address", plus options
    type = "local"
    workers = 2

Each cell is the argument vector ``[command, model, --name value, ...]`` that the command's own argparse parser
accepts; the spec is checked against that parser (names, then every cell's values) before anything runs, so a
bad spec fails at once with one line. A ``true`` value of a flag option passes the flag, ``false`` omits it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import hashlib
import io
import itertools
import json
import math
import os
import tomllib

__all__ = ["SweepSpec", "Cell", "load_spec", "load_cluster", "COMMANDS", "ZIP_DIM"]

COMMANDS = ("theory", "simulate", "check")
MODELS = ("quadratic", "homogeneous")
ZIP_DIM = "zip"
# Options the sweep itself controls (output format, output folder, progress) or that make no sense per cell.
_RESERVED = {
    "json": "the sweep always reads the command's --json output",
    "out": "each cell writes into its own temporary folder; the sweep's --out is the store",
    "quiet": "the sweep passes --quiet itself",
    "help": "not a run parameter",
    "resume": "a sweep resumes by cells (rerun the same sweep), not by checkpoints",
    "from-dir": "re-judging a saved check is not a sweep",
    "pdf": "cell output folders are temporary; draw figures from the store with `sweep plot`",
}
_TOP_KEYS = ("command", "fixed", "grid", "zip", "cluster", "retries", "name", "description")
_CLUSTER_TYPES = ("local", "slurm", "pbs", "address")
# Commands whose run always writes files (check defaults to ./shallowlaws-out/check-MODEL): give them a temporary
# per-cell folder so concurrent cells never share one.
_NEEDS_OUT = ("check",)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One point of the sweep.

    Attributes:
        index: position along each sweep dimension (grid parameters in spec order, then ``zip``).
        params: every option of the run (fixed, grid and zip values), as written in the spec.
        argv: the command line (without ``--json``/``--quiet``/``--out``, which the runner adds).
        key: 16 hex digits of sha256 over the command line: the cell's identity in the store.
    """

    index: tuple[int, ...]
    params: dict
    argv: tuple[str, ...]
    key: str


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A validated sweep specification (build it with :func:`load_spec`).

    Attributes:
        command: ``(command, model)``, e.g. ``("theory", "quadratic")``.
        fixed: options shared by every cell.
        grid: ``{name: values}``, one dimension per name, combined as a cartesian product.
        zip: ``{name: values}`` of one common length, varying together along the dimension ``"zip"``.
        cluster: the ``[cluster]`` table (``type`` plus the options of the cluster class).
        retries: extra attempts for a cell whose run raised (a crash, a killed worker), before it is recorded failed.
        source: the spec as a plain dict (kept in the store's attributes); ``text``: the TOML text if read from a file.
    """

    command: tuple[str, str]
    fixed: dict
    grid: dict
    zip: dict
    cluster: dict
    retries: int
    source: dict
    text: str | None = None

    @property
    def dims(self) -> tuple[str, ...]:
        """Names of the sweep dimensions: the grid parameters in spec order, then ``"zip"`` if present."""
        return tuple(self.grid) + ((ZIP_DIM,) if self.zip else ())

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.grid.values()) + ((len(next(iter(self.zip.values()))),) if self.zip else ())

    @property
    def needs_out(self) -> bool:
        """Whether each cell gets a temporary ``--out`` folder (commands that always write files)."""
        return self.command[0] in _NEEDS_OUT

    def cells(self) -> list[Cell]:
        """Every cell of the sweep, in C order over :attr:`dims`."""
        out = []
        ranges = [range(n) for n in self.shape]
        zip_names = list(self.zip)
        for index in itertools.product(*ranges):
            params = dict(self.fixed)
            for name, i in zip(self.grid, index, strict=False):
                params[name] = self.grid[name][i]
            if self.zip:
                for name in zip_names:
                    params[name] = self.zip[name][index[-1]]
            argv = tuple(self.command) + _options_argv(self.command, params)
            out.append(Cell(index=tuple(index), params=params, argv=argv, key=cell_key(argv)))
        return out


def cell_key(argv) -> str:
    """16 hex digits of sha256 over the JSON of the command line: equal runs share a key across sweeps."""
    blob = json.dumps(list(argv), ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ parsing


def load_spec(spec) -> SweepSpec:
    """Read and validate a sweep spec from a TOML file path, a TOML string (containing a newline) or a dict.

    Raises:
        ValueError: one line naming the problem and the fix: TOML syntax, unknown command, unknown or reserved
            parameter, empty grid, a parameter given twice (``fixed`` and ``grid``/``zip``), zip lists of unequal
            length, repeated grid values, a value the command rejects (its own parser's message), a bad
            ``[cluster]`` table.
    """
    text = None
    where = "spec"
    if isinstance(spec, dict):
        raw = spec
    elif isinstance(spec, str | os.PathLike):
        s = os.fspath(spec)
        if isinstance(spec, str) and "\n" in s:
            text = s
        else:
            where = f"spec {s!r}"
            try:
                with open(s, encoding="utf-8") as fh:
                    text = fh.read()
            except FileNotFoundError:
                raise ValueError(f"{where}: no such file; give the path of a TOML sweep spec") from None
            except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
                raise ValueError(f"{where}: cannot read it ({type(exc).__name__}); give a UTF-8 TOML file") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{where}: not valid TOML ({exc})") from None
    else:
        raise TypeError(f"`spec`={spec!r} must be a TOML file path, a TOML string or a dict")
    return _validate(raw, where, text)


def load_cluster(path) -> dict:
    """The ``[cluster]`` table of a TOML file (validated as in a sweep spec), for commands that take ``--cluster``.

    The file may be a sweep spec or hold only the table, e.g. ``[cluster]`` / ``type = "slurm"`` / ``cores = 8`` /
    ``memory = "16GB"`` / ``jobs = 4`` (docs/sweeps.md lists the options).
    """
    where = f"--cluster {os.fspath(path)!r}"
    try:
        with open(path, encoding="utf-8") as fh:
            raw = tomllib.loads(fh.read())
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file; give a TOML file with a [cluster] table") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where}: cannot read it ({type(exc).__name__}); give a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: not valid TOML ({exc})") from None
    cluster = raw.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError(f'{where}: no [cluster] table; add one, e.g. [cluster] type = "local" workers = 2')
    _check_cluster(where, cluster)
    return dict(cluster)


def _err(where: str, msg: str) -> ValueError:
    return ValueError(f"{where}: {msg}")


def _validate(raw: dict, where: str, text: str | None) -> SweepSpec:
    unknown = [k for k in raw if k not in _TOP_KEYS]
    if unknown:
        raise _err(where, f"unknown top-level key {unknown[0]!r}; allowed: {', '.join(_TOP_KEYS)}")
    command = raw.get("command")
    if not isinstance(command, str) or len(command.split()) != 2:
        raise _err(
            where,
            f"`command`={command!r} must be one of "
            + ", ".join(f"'{c} {m}'" for c in COMMANDS for m in MODELS)
            + '; e.g. command = "theory quadratic"',
        )
    cmd, model = command.split()
    if cmd not in COMMANDS or model not in MODELS:
        raise _err(
            where,
            f"unknown command {command!r}: use one of " + ", ".join(f"'{c} {m}'" for c in COMMANDS for m in MODELS),
        )
    tables = {}
    for name in ("fixed", "grid", "zip", "cluster"):
        t = raw.get(name, {})
        if not isinstance(t, dict):
            raise _err(where, f"`{name}` must be a table ([{name}]), got {type(t).__name__}")
        tables[name] = dict(t)
    fixed, grid, zipped, cluster = tables["fixed"], tables["grid"], tables["zip"], tables["cluster"]

    options = _command_options(cmd, model)
    for table in ("fixed", "grid", "zip"):
        for name in tables[table]:
            _check_name(where, table, name, cmd, model, options)
    for name in grid:
        if name in fixed:
            raise _err(where, f"parameter {name!r} is in both [fixed] and [grid]; keep one (a grid list or one value)")
        if name in zipped:
            raise _err(where, f"parameter {name!r} is in both [grid] and [zip]; keep one")
    for name in zipped:
        if name in fixed:
            raise _err(where, f"parameter {name!r} is in both [fixed] and [zip]; keep one")

    for name, v in fixed.items():
        _check_value(where, "fixed", name, v, options[name])
    if not grid and not zipped:
        raise _err(where, "empty grid: give [grid] (or [zip]) lists of values to sweep, e.g. beta = [0.5, 1.0]")
    for table, t in (("grid", grid), ("zip", zipped)):
        for name, vals in t.items():
            if not isinstance(vals, list):
                raise _err(where, f"[{table}] {name} = {vals!r} must be a list of values, e.g. {name} = [{vals!r}]")
            if not vals:
                raise _err(where, f"empty grid: [{table}] {name} = [] has no values; give at least one")
            for v in vals:
                _check_value(where, table, name, v, options[name])
            if len({isinstance(v, str) for v in vals}) > 1:
                raise _err(where, f"[{table}] {name} = {vals!r} mixes strings and numbers; use one kind")
            if table == "grid" and len(set(map(_hashable, vals))) != len(vals):
                raise _err(where, f"[grid] {name} = {vals!r} repeats a value; list each value once")
    if zipped:
        lengths = {name: len(v) for name, v in zipped.items()}
        if len(set(lengths.values())) != 1:
            raise _err(where, f"[zip] lists must have one common length, got {lengths}")
        if ZIP_DIM in grid:
            raise _err(where, f"[grid] may not name a parameter {ZIP_DIM!r} together with [zip]")

    retries = raw.get("retries", 2)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 20:
        raise _err(where, f"`retries`={retries!r} must be an integer in 0..20 (extra attempts per failed cell)")
    _check_cluster(where, cluster)

    spec = SweepSpec(
        command=(cmd, model),
        fixed=fixed,
        grid=grid,
        zip=zipped,
        cluster=cluster,
        retries=retries,
        source=json.loads(json.dumps(raw, default=str)),
        text=text,
    )
    _check_cells(where, spec)
    return spec


def _hashable(v):
    return (type(v).__name__, v) if not isinstance(v, float) else ("num", v)


def _command_options(cmd: str, model: str | None = None) -> dict[str, argparse.Action]:
    """``{name: argparse action}`` of the command's options, names without the leading ``--``.

    A command whose models are subcommands of their own (``theory quadratic|homogeneous``) contributes the
    options of ``model``'s subparser as well as its own."""
    from sgd_check.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    p = sub.choices[cmd]
    nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    actions = list(p._actions)
    if nested and model is not None and model in nested[0].choices:
        actions += nested[0].choices[model]._actions
    out = {}
    for action in actions:
        for opt in action.option_strings:
            if opt.startswith("--"):
                out[opt[2:]] = action
    return out


def _check_name(where, table, name, cmd, model, options) -> None:
    if name in _RESERVED:
        raise _err(where, f"[{table}] parameter {name!r} is set by the sweep itself ({_RESERVED[name]}); remove it")
    if name not in options:
        allowed = sorted(n for n in options if n not in _RESERVED)
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise _err(
            where,
            f"[{table}] unknown parameter {name!r} for `{cmd} {model}`; {hint}"
            f"parameters are the command's options without '--': {', '.join(allowed)}",
        )


def _is_flag(action: argparse.Action) -> bool:
    return isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction)


def _check_value(where, table, name, v, action) -> None:
    if _is_flag(action):
        if not isinstance(v, bool):
            raise _err(where, f"[{table}] {name} = {v!r}: `--{name}` is a flag; use true or false")
        return
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise _err(where, f"[{table}] {name} = {v!r} must be a number or a string (as given to `--{name}`)")
    if isinstance(v, float) and not math.isfinite(v):
        raise _err(where, f"[{table}] {name} = {v!r} must be finite")


def _format_value(v) -> str:
    if isinstance(v, float):
        return repr(v)  # shortest round-trip form: argparse's float() reads back the same number
    return str(v)


def _options_argv(command: tuple[str, ...], params: dict) -> tuple[str, ...]:
    key = tuple(command[:2])
    options = _OPTIONS_CACHE.get(key)
    if options is None:
        options = _OPTIONS_CACHE[key] = _command_options(*key)
    argv = []
    for name, v in sorted(params.items()):  # canonical order: a cell's key does not depend on the spec's layout
        if _is_flag(options[name]):
            if v:
                argv.append(f"--{name}")
        else:
            argv += [f"--{name}", _format_value(v)]
    return tuple(argv)


_OPTIONS_CACHE: dict[tuple, dict] = {}


def _check_cells(where: str, spec: SweepSpec) -> None:
    """Parse every cell's command line with the command's own parser (types, choices, exclusive options)."""
    from sgd_check.cli import build_parser

    parser = build_parser()
    for cell in spec.cells():
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                parser.parse_args(list(cell.argv) + ["--json"])
        except SystemExit:
            msg = err.getvalue().strip().splitlines()
            msg = msg[-1] if msg else "rejected by the command's parser"
            params = ", ".join(f"{k}={v!r}" for k, v in cell.params.items() if k in spec.grid or k in spec.zip)
            raise _err(where, f"cell ({params}) is not a valid `{' '.join(spec.command)}` run: {msg}") from None


def _check_cluster(where: str, cluster: dict) -> None:
    if not cluster:
        return
    kind = cluster.get("type", "local")
    if kind not in _CLUSTER_TYPES:
        raise _err(where, f"[cluster] type = {kind!r} is not one of {', '.join(map(repr, _CLUSTER_TYPES))}")
    if kind == "address" and not isinstance(cluster.get("address"), str):
        raise _err(where, '[cluster] type = "address" needs address = "tcp://HOST:PORT" (the scheduler)')
    if kind == "local":
        allowed = ("type", "workers", "threads_per_worker", "processes", "memory_limit", "dashboard_address")
        bad = [k for k in cluster if k not in allowed]
        if bad:
            raise _err(
                where, f"[cluster] option {bad[0]!r} is not a local-cluster option; allowed: {', '.join(allowed)}"
            )
        w = cluster.get("workers")
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 1):
            raise _err(where, f"[cluster] workers = {w!r} must be an integer ≥ 1")
    if kind in ("slurm", "pbs"):
        j = cluster.get("jobs", 1)
        if isinstance(j, bool) or not isinstance(j, int) or j < 1:
            raise _err(where, f"[cluster] jobs = {j!r} must be an integer ≥ 1 (batch jobs to start)")
