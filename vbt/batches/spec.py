"""Batch specs: what a batch runs, validated as a whole before anything runs.

A spec (YAML or JSON, or a mapping) has ``defaults`` and a list of ``jobs``; each job is the
defaults with its own fields on top (``config``, ``train`` and ``sweep`` are merged key by key,
``grid`` is replaced)::

    defaults: {data_dir: data_fixtures, config: {commission: 0.001}}
    rank_by: sharpe_ratio
    jobs:
      - model: models/rsi_bbands_mtf/1h_latest
        start_date: "2024-03-01"
      - model: models/rsi_bbands_mtf/1h_latest
        grid: {confidence_threshold: "0.4:0.6:0.1"}
      - strategy: strategies/rsi_single_tf.yaml     # trained first (once per strategy + train)
        train: {end_date: "2024-04-30", epochs: 5}
        start_date: "2024-05-01"

``plan_batch`` checks everything that needs no bars and no weights: the structure (unknown keys,
types), the model directories' JSON files, the strategy files and their training settings, the
data folder, every run setting (``config``: any ``BacktestConfig`` field), the grid and the sweep
settings, duplicates. The first problem raises ``ConfigError`` naming the job index and the field,
e.g. ``jobs[3].config.commission = 2.0: input should be less than 1``. What needs the bars or
the weights (a date range without bars, a corrupt ``model.pt``) is that job's error record.

Relative paths are relative to the spec file's folder (the current folder for a mapping). A job's
id is a hash of its canonical form (defaults applied, paths absolute, ``_latest`` pointers
resolved, the strategy file's content hash, the symbol and data folder filled in); ``name`` and
``save`` are not part of it.
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

import vbt
from vbt.config import BacktestConfig, resolve_data_dir
from vbt.data.load import date_bounds
from vbt.errors import ConfigError, VbtError
from vbt.metrics import check_metric
from vbt.model.bundle import resolve_model_dir
from vbt.model.metadata import load_config, load_metadata, reconstruct_strategy_config
from vbt.model.train_config import TrainParams
from vbt.model.trainer import training_timeframes
from vbt.model.validation import check_training_setup
from vbt.params import describe_errors
from vbt.paths import read_bytes
from vbt.stages import resolve
from vbt.strategy.yamlfile import read_yaml
from vbt.sweeps.constraint import MAX_CHARS as MAX_CONSTRAINT_CHARS
from vbt.sweeps.grid import Grid, parse_constraint, select

SPEC_VERSION = 1
MAX_JOBS = 1_000_000
#: job fields that are not ``config`` (the BacktestConfig fields a job names directly)
JOB_RUN_FIELDS = ("data_dir", "symbol", "timeframe", "start_date", "end_date")
_MERGED = ("config", "train", "sweep")  # merged key by key with the defaults


class TrainSpec(BaseModel):
    """How a job's ``strategy`` is trained before its backtest (``vbt.train``)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    start_date: str | None = Field(None, description="first training bar (default: the strategy's "
                                   "training_data.start_date, else the first bar)")  # fmt: skip
    end_date: str | None = Field(None, description="last training bar, inclusive")
    epochs: int | None = Field(None, ge=1, le=100_000, description="overrides training.epochs")
    seed: int = Field(0, ge=0, le=2**64 - 1, description="seed of weight init and batch order")


class SweepSpec(BaseModel):
    """Settings of a job's sweep (see ``vbt.sweep``)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    constraint: str | None = Field(None, description="keep combinations where it holds, e.g. "
                                   "'slippage <= commission'; the bounded grammar of README "
                                   f"'Sweeps' (at most {MAX_CONSTRAINT_CHARS:,} characters)")  # fmt: skip
    max_combos: int | None = Field(None, ge=1, description="a seeded random subset of this many")
    seed: int = Field(0, ge=0, le=2**64 - 1, description="seed of the max_combos draw")
    top: int = Field(5, ge=1, le=1000, description="best rows kept in the job's record")


def _config_model() -> type[BaseModel]:
    """The ``config`` block: every BacktestConfig field a job does not name directly, optional."""
    fields = {}
    for name, info in BacktestConfig.model_fields.items():
        if name in (*JOB_RUN_FIELDS, "model_path"):
            continue
        copy = info._copy() if hasattr(info, "_copy") else info
        copy.default = None
        fields[name] = (info.annotation | None, copy)
    return create_model("RunConfig", __config__=ConfigDict(extra="forbid"), **fields)


RunConfig = _config_model()


class JobSpec(BaseModel):
    """One job: a model (or a strategy trained first), the data, the run settings and optionally
    a sweep grid. Every field may also be given in ``defaults``."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, description="a label for people (not part of the job's id)")
    model: str | None = Field(None, description="a v3 model directory (or its <tf>_latest)")
    strategy: str | None = Field(None, description="a v3 strategy YAML, trained before the "
                                 "backtest (once per strategy, symbol, data and train)")  # fmt: skip
    train: TrainSpec | None = None
    data_dir: str | None = Field(None, description="bar files (default: VBT_DATA_DIR)")
    symbol: str | None = Field(None, description="default: the model's training symbol")
    timeframe: str | None = Field(None, description="base timeframe (default: the model's)")
    start_date: str | None = Field(None, description="first bar, inclusive, ISO 8601")
    end_date: str | None = Field(None, description="last bar, inclusive (a bare date: its day)")
    config: RunConfig | None = Field(None, description="run settings: costs, sizing, decisions, "
                                     "risk exits (any BacktestConfig field)")  # fmt: skip
    grid: dict[str, Any] | None = Field(None, description="sweep grid {parameter: values}; "
                                        "see vbt.sweep")  # fmt: skip
    sweep: SweepSpec | None = None
    save: bool = Field(False, description="also write runs/<id>/ (metrics, trades, equity)")


class BatchSpec(BaseModel):
    """A batch: defaults, jobs, and the metric that ranks them in ``summary.json``."""

    model_config = ConfigDict(extra="forbid", title="vbt batch spec")
    version: Literal[1] = SPEC_VERSION
    rank_by: str = Field("sharpe_ratio", description="metric ranking summary.json")
    defaults: JobSpec = Field(default_factory=JobSpec)
    jobs: list[JobSpec] = Field(min_length=1, max_length=MAX_JOBS)


def batch_schema() -> dict[str, Any]:
    """The JSON Schema of a batch spec (``vbt schema batch``)."""
    schema = BatchSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (__doc__ or "").split("\n\n")[0].replace("\n", " ")
    return schema


# ------------------------------------------------------------------------------------ planning


@dataclass(frozen=True)
class PlannedJob:
    """A validated job.

    index: its place in the spec's ``jobs``; id: 16 hex digits, the hash of ``canonical``;
    canonical: the job as it runs (JSON-safe); model_dir: the resolved model directory (None for a
    strategy job until trained); strategy_path: the strategy file (strategy jobs); symbol: the
    resolved symbol; unit: jobs with the same unit share a model (scheduled on one worker);
    inference: jobs with the same value share one inference.
    """

    index: int
    id: str
    name: str | None
    canonical: dict[str, Any]
    spec: JobSpec
    model_dir: str | None
    strategy_path: str | None
    symbol: str
    data_dir: str
    unit: str
    inference: str
    save: bool = False

    @property
    def has_grid(self) -> bool:
        return bool(self.spec.grid)


@dataclass(frozen=True)
class BatchPlan:
    """A validated spec: its jobs in order, the ranking metric and where it came from."""

    jobs: list[PlannedJob]
    rank_by: str
    source: str
    base_dir: str
    spec: dict[str, Any] = field(default_factory=dict)


def read_spec(source: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], Path, str]:
    """(the spec's data, the folder its relative paths are relative to, its name for messages).
    A file is read as YAML (JSON is YAML) with ``vbt.strategy.yamlfile.read_yaml``."""
    if isinstance(source, Mapping):
        return dict(source), Path.cwd(), "<spec>"
    path = Path(source)
    data = read_yaml(path, "batch spec")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: a batch spec is a mapping with 'jobs' (and 'defaults')")
    return dict(data), path.resolve().parent, str(path)


def plan_batch(source: str | Path | Mapping[str, Any]) -> BatchPlan:
    """Validate a whole spec (see the module docstring) and plan its jobs; the first problem
    raises ``ConfigError`` naming the job index and the field. Reads no bars and no weights."""
    data, base_dir, where = read_spec(source)
    unknown = [k for k in data if k not in BatchSpec.model_fields]
    if unknown:
        raise ConfigError(f"{where}: {unknown[0]!r}: unknown key{_hint(unknown[0], BatchSpec)}; "
                          f"known: {', '.join(BatchSpec.model_fields)}")  # fmt: skip
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"{where}: defaults: must be a mapping of job fields")
    # the defaults are checked in each job they reach (the merged job), so an error names it
    jobs = data.get("jobs")
    if not isinstance(jobs, list) or not jobs:
        raise ConfigError(f"{where}: jobs: must be a non-empty list of jobs")
    if len(jobs) > MAX_JOBS:
        raise ConfigError(f"{where}: jobs: {len(jobs):,} jobs; at most {MAX_JOBS:,}")
    rank_by = data.get("rank_by", "sharpe_ratio")
    _check_metric(rank_by, "rank_by")
    version = data.get("version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise ConfigError(f"{where}: version = {version!r}: this vbt reads version {SPEC_VERSION}")
    planned: list[PlannedJob] = []
    seen: dict[str, int] = {}
    context = _Context(base_dir)
    for i, job in enumerate(jobs):
        at = f"jobs[{i}]"
        if not isinstance(job, Mapping):
            raise ConfigError(f"{at}: must be a mapping of job fields")
        merged = merge_job(defaults, job)
        spec = _validate(JobSpec, merged, at, given=job)
        try:
            p = _plan_job(i, spec, context)
        except VbtError as exc:
            raise type(exc)(_located(str(exc), at, job, defaults)) from None
        if p.id in seen:
            raise ConfigError(f"{at}: the same job as jobs[{seen[p.id]}] (id {p.id}); "
                              "every job must differ")  # fmt: skip
        seen[p.id] = i
        planned.append(p)
    return BatchPlan(jobs=planned, rank_by=rank_by, source=where, base_dir=str(base_dir),
                     spec=data)  # fmt: skip


def merge_job(defaults: Mapping[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults with the job's fields on top; ``config``, ``train`` and ``sweep`` merged key
    by key (a job's ``None`` removes a default)."""
    out = dict(defaults)
    for k, v in job.items():
        if k in _MERGED and isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    for k in _MERGED:
        if isinstance(out.get(k), Mapping):
            out[k] = {kk: vv for kk, vv in out[k].items() if vv is not None}
    return out


def job_id(canonical: Mapping[str, Any]) -> str:
    """16 hex digits of the sha256 of the canonical job's JSON (sorted keys)."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Context:
    """What jobs share while a spec is planned: model and strategy files read once."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.models: dict[str, Any] = {}
        self.strategies: dict[str, Any] = {}

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def model(self, value: str) -> tuple[Path, Any]:
        path = resolve_model_dir(self.path(value)).resolve()
        if str(path) not in self.models:
            meta = load_metadata(path)
            strategy_config = reconstruct_strategy_config(meta, load_config(path))
            self.models[str(path)] = SimpleNamespace(
                metadata=meta, strategy_config=strategy_config, output_type=meta.output_type
            )
        return path, self.models[str(path)]

    def strategy(self, value: str, epochs: int | None) -> tuple[Path, Any, str]:
        path = self.path(value).resolve()
        key = f"{path}:{epochs}"
        if key not in self.strategies:
            digest = hashlib.sha256(read_bytes(path, "strategy file")).hexdigest()
            strategy = vbt.load_strategy(path)
            check_training_setup(strategy, epochs=epochs, device="cpu")
            light = SimpleNamespace(
                metadata=SimpleNamespace(training_timeframes=training_timeframes(strategy)),
                strategy_config=strategy.raw,
                output_type=TrainParams.from_strategy(strategy).output_type,
                strategy=strategy,
            )
            self.strategies[key] = (light, digest)
        light, digest = self.strategies[key]
        return path, light, digest


def _plan_job(index: int, spec: JobSpec, ctx: _Context) -> PlannedJob:
    if (spec.model is None) == (spec.strategy is None):
        raise ConfigError("model: give either model (a model directory) or strategy (a strategy "
                          "file to train first), not " + ("both" if spec.model else "neither"))  # fmt: skip
    if spec.train is not None and spec.strategy is None:
        raise ConfigError("train: only a job with a strategy is trained")
    if spec.sweep is not None and not spec.grid:
        raise ConfigError("sweep: sweep settings without a grid")
    if spec.sweep is not None:
        try:  # the grammar: before any file is read
            parse_constraint(spec.sweep.constraint)
        except ConfigError as exc:
            raise ConfigError(f"sweep.{exc}") from None
    try:
        data_dir = str(Path(resolve_data_dir(ctx.path(spec.data_dir) if spec.data_dir else None))
                       .resolve())  # fmt: skip
    except ConfigError as exc:
        raise ConfigError(f"data_dir: {str(exc).removeprefix('data_dir: ')}") from None
    canonical: dict[str, Any] = {}
    train = spec.train or TrainSpec()
    if spec.model is not None:
        try:
            model_dir, light = ctx.model(spec.model)
        except VbtError as exc:
            raise ConfigError(f"model: {exc}") from None
        canonical["model"] = str(model_dir)
        symbols = list(light.metadata.training_symbols)
        unit = f"model:{model_dir}"
        strategy_path = None
    else:
        try:
            spath, light, digest = ctx.strategy(spec.strategy, train.epochs)
        except VbtError as exc:
            raise ConfigError(f"strategy: {exc}") from None
        canonical["strategy"] = str(spath)
        canonical["strategy_sha256"] = digest
        canonical["train"] = train.model_dump(exclude_none=True)
        symbols = list(light.strategy.symbols)
        model_dir = None
        strategy_path = str(spath)
    symbol = spec.symbol
    if symbol is None:
        if len(symbols) != 1:
            listed = ", ".join(symbols) or "none"
            raise ConfigError(f"symbol: not given, and the model lists {listed}; choose one")
        symbol = symbols[0]
    if not _has_bars(Path(data_dir), symbol):
        raise ConfigError(f"symbol: no bar files of {symbol!r} in {data_dir} "
                          f"(looked for {symbol}_<timeframe>.parquet or .csv)")  # fmt: skip
    for name in ("start_date", "end_date"):
        if getattr(train, name) is not None:
            try:
                date_bounds(getattr(train, name), None)
            except VbtError as exc:
                raise ConfigError(f"train.{name}: {exc}") from None
    try:
        date_bounds(spec.start_date, spec.end_date)
    except VbtError as exc:
        raise ConfigError(f"start_date: {exc}") from None
    run = {k: getattr(spec, k) for k in JOB_RUN_FIELDS if getattr(spec, k) is not None}
    overrides = spec.config.model_dump(exclude_none=True) if spec.config is not None else {}
    if overrides.get("feature_cache_dir") is not None:
        overrides["feature_cache_dir"] = str(ctx.path(overrides["feature_cache_dir"]).resolve())
    cfg = BacktestConfig(model_path=canonical.get("model", "<to be trained>"),
                         **{**run, "data_dir": data_dir, "symbol": symbol}, **overrides)  # fmt: skip
    _, tfs, base = resolve(cfg, light)
    if spec.grid:
        try:
            grid = Grid.parse(spec.grid, base)
            s = spec.sweep or SweepSpec()
            select(grid, base, s.constraint, s.max_combos, s.seed)
        except ConfigError as exc:
            text = str(exc)
            if text.startswith(("constraint", "max_combos", "seed")):
                raise ConfigError(f"sweep.{text}") from None
            raise ConfigError(text if text.startswith("grid.") else f"grid: {text}") from None
        canonical["grid"] = json.loads(json.dumps(spec.grid, default=str))
        canonical["sweep"] = (spec.sweep or SweepSpec()).model_dump(exclude_none=True)
    canonical.update({k: v for k, v in run.items()})
    canonical.update({"data_dir": data_dir, "symbol": symbol})
    if overrides:
        canonical["config"] = overrides
    if strategy_path is not None:
        unit = "train:" + job_id({k: canonical[k] for k in
                                  ("strategy", "strategy_sha256", "train", "data_dir", "symbol")})  # fmt: skip
    inference = job_id({"unit": unit, "symbol": symbol, "data_dir": data_dir, "tfs": tfs,
                        **{k: run.get(k) for k in ("start_date", "end_date")},
                        "cache": overrides.get("feature_cache_dir"),
                        "tfs_given": overrides.get("timeframes")})  # fmt: skip
    return PlannedJob(
        index=index, id=job_id(canonical), name=spec.name, canonical=canonical, spec=spec,
        model_dir=str(model_dir) if model_dir is not None else None, strategy_path=strategy_path,
        symbol=symbol, data_dir=data_dir, unit=unit, inference=inference, save=spec.save,
    )  # fmt: skip


# ------------------------------------------------------------------------------------ messages


def _validate(model: type[BaseModel], data: Mapping[str, Any], at: str, given=None) -> Any:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        text = describe_errors(exc, at, model)
        loc = exc.errors()[0]["loc"] if exc.errors() else ()
        if given is not None and loc and not _holds(given, [str(k) for k in loc]):
            text += " (set in defaults)"
        raise ConfigError(text) from None


def _holds(data: Any, path: list[str]) -> bool:
    """Whether ``data`` (a job as written) holds the dotted ``path`` (or a prefix of it that is
    not a mapping: a value that was replaced as a whole)."""
    for key in path:
        if not isinstance(data, Mapping):
            return True
        if key not in data:
            return False
        data = data[key]
    return True


def _located(message: str, at: str, job: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    """``jobs[i].<field>: ...`` from a message that starts with a field name (or with
    ``BacktestConfig: <field>: ...``): config fields go under ``config.``; a field that came
    from the defaults says so."""
    text = message.removeprefix("BacktestConfig: ")
    head = text.split(":", 1)[0].split(" ", 1)[0]
    name = head.split(".", 1)[0]
    if name in RunConfig.model_fields and name not in JobSpec.model_fields:
        text, name = f"config.{text}", "config"
    elif name not in JobSpec.model_fields:
        return f"{at}: {text}"
    path = head.split(".")
    source = " (set in defaults)" if not _holds(job, path) and (
        _holds(defaults, path) or name in defaults) else ""  # fmt: skip
    rest = text[len(head) :]
    if head == name and not rest.startswith((":", " =", ".")):
        text = f"{name}:{rest}"  # e.g. "timeframe '7x' is not valid" -> "timeframe: '7x' ..."
    return f"{at}.{text}{source}"


def _has_bars(data_dir: Path, symbol: str) -> bool:
    """Whether ``data_dir`` holds a bar file of ``symbol`` (any timeframe)."""
    pattern = f"{glob.escape(symbol)}_*"
    return any(p.suffix.lower() in (".parquet", ".csv") for p in data_dir.glob(pattern))


def _hint(name: str, model: type[BaseModel]) -> str:
    close = difflib.get_close_matches(str(name), tuple(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_metric(name: Any, where: str) -> None:
    check_metric(name, f"{where} = {name!r}", suggest=True)
