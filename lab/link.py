"""The link: a Config to and from the page's query string, driven by one table of fields.

Each setting is declared once, in FIELDS (its key in the link, its Config attribute, its widget
key, its kind and allowed values); writing a link, reading one, loading a config into the widgets
and reading the widgets back are loops over that table. Reading never raises: a bad or unknown
parameter falls back to its default and yields a notice in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np

from lab import lessons
from lab.config import (ACTIVATIONS, CLIPS, DEFAULT_EXPR_BOUNDS, DEFAULT_EXPRESSION, LOG_MODES,
                        MAX_EPOCHS, MAX_HIDDEN_TEXT, MAX_LR, MAX_RUNS, MAX_SEED, MIN_LR, MODES,
                        PRESETS, SCHEDULES, SPEEDS, TYPED, Config, RunChoice, batch_options,
                        check_bounds, network_data, network_defaults, preset_hyper,
                        snap_learning_rate, surface_for, surface_names, typed_surface)
from surfaces import datasets


@dataclass(frozen=True)
class Field:
    """One plain setting of the page: `key` in the link, `attr` on the Config, `widget` in the
    sidebar's session state. `kind` is float, int, bool, a tuple of choices, or a callable that
    returns the allowed choices; `ok` and `why` bound a number; `network` fields are written
    whenever the page is in network mode."""

    key: str
    attr: str
    widget: str
    kind: Any
    ok: Callable[[Any], bool] | None = None
    why: str = ""
    network: bool = False

    def choices(self) -> tuple | None:
        if isinstance(self.kind, tuple):
            return self.kind
        if callable(self.kind) and self.kind not in (float, int, bool, str):
            return tuple(self.kind())
        return None


def _hidden_ok(text: str) -> bool:
    return len(text) <= MAX_HIDDEN_TEXT and all(c.isdigit() or c == "-" for c in text)


FIELDS = (
    Field("mode", "mode", "mode", MODES),
    Field("data", "dataset", "net_data", datasets.names, network=True),
    Field("hidden", "hidden", "net_hidden", str, _hidden_ok,
          "write the hidden layer sizes as e.g. 16-16", network=True),
    Field("act", "activation", "net_act", ACTIVATIONS, network=True),
    Field("lr", "learning_rate", "learning_rate", float, lambda v: MIN_LR <= v <= MAX_LR,
          f"the learning rate must be between {MIN_LR:g} and {MAX_LR:g}"),
    Field("epochs", "epochs", "epochs", int, lambda v: 1 <= v <= MAX_EPOCHS,
          f"epochs must be 1 to {MAX_EPOCHS}"),
    Field("seed", "seed", "seed", int, lambda v: 0 <= v <= MAX_SEED, f"the seed must be 0 to {MAX_SEED}"),
    Field("clip", "clip", "clip", CLIPS),
    Field("clip_limit", "clip_limit", "clip_limit", float, lambda v: 0 < v <= 1e6,
          "the clipping limit must be above 0"),
    Field("schedule", "schedule", "schedule", SCHEDULES),
    Field("warmup", "warmup", "warmup", int, lambda v: 0 <= v <= MAX_EPOCHS,
          f"warm-up must be 0 to {MAX_EPOCHS} epochs"),
    Field("speed", "speed", "speed", SPEEDS),
    Field("log_scale", "log_scale", "log_scale", LOG_MODES),
    Field("present", "presenter", "presenter", bool),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
# Settings with a shape of their own, read and written by the code below the table.
SPECIAL_KEYS = ("lesson", "surface", "f", "fx", "fy", "opt", "batch", "x0", "y0")
KNOWN_KEYS = frozenset(SPECIAL_KEYS) | frozenset(FIELD_BY_KEY)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def base_config(lesson: str, mode: str = "surface") -> Config:
    """What a link's values are read against: a lesson's config, or the mode's defaults."""
    if lesson in lessons.LESSONS:
        return lessons.get(lesson).config
    return network_defaults() if mode == "network" else Config()


def to_query(config: Config) -> dict[str, str]:
    """The query-string form of a config: only what differs from its base (the lesson it came
    from, or the defaults), plus the surface and optimizers, always."""
    default = base_config(config.lesson, config.mode)
    network = config.mode == "network"
    q: dict[str, str] = {}
    if config.lesson:
        q["lesson"] = config.lesson
    q["surface"] = config.surface
    if config.surface == TYPED:
        q["f"] = config.expression
        q["fx"] = ",".join(_fmt(float(v)) for v in config.expr_bounds[0])
        q["fy"] = ",".join(_fmt(float(v)) for v in config.expr_bounds[1])
    q["opt"] = ",".join(run.preset for run in config.runs)
    for run in config.runs:
        for name, value in run.changes:
            q[f"{run.preset}.{name}"] = _fmt(value)
    if config.batch_size != default.batch_size:
        q["batch"] = "full" if config.batch_size is None else str(config.batch_size)
    if config.start != default.start or config.surface != default.surface:
        if config.start is not None:
            q["x0"], q["y0"] = _fmt(config.start[0]), _fmt(config.start[1])
        elif default.start is not None:
            q["x0"], q["y0"] = (_fmt(float(v)) for v in config.surface_obj().start)
    for f in FIELDS:
        value = getattr(config, f.attr)
        written = network if (f.network or f.key == "mode") else value != getattr(default, f.attr)
        if written:
            q[f.key] = _fmt(value)
    return q


def _number(text: str, kind=float) -> float | int:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    if kind is int:
        if not value.is_integer():
            raise ValueError("not a whole number")
        return int(value)
    return value


def read_field(f: Field, text: str) -> Any:
    """A field's value from its link text (ValueError with the words of a notice)."""
    choices = f.choices()
    if choices is not None:
        if text not in choices:
            raise ValueError(f"choose one of {', '.join(choices)}")
        return text
    if f.kind is bool:
        if text not in ("0", "1"):
            raise ValueError("use 0 or 1")
        return text == "1"
    if f.kind is str:
        if not f.ok(text):
            raise ValueError(f.why)
        return text
    try:
        value = _number(text, f.kind)
    except ValueError:
        raise ValueError("not a number" if f.kind is float else "not a whole number") from None
    if f.ok is not None and not f.ok(value):
        raise ValueError(f.why)
    return snap_learning_rate(value) if f.attr == "learning_rate" else value


def from_query(query: Mapping[str, str]) -> tuple[Config, list[str]]:
    """Read a config from query parameters. Never raises: each bad value falls back to its
    default and adds a notice in words."""
    notices: list[str] = []
    values: dict[str, Any] = {}
    q = {str(k): str(v) for k, v in query.items()}

    def bad(key: str, why: str) -> None:
        shown = q[key] if len(q[key]) <= 40 else q[key][:40] + "…"
        notices.append(f"Ignored `{key}={shown}` in the link: {why}. Using the default instead.")

    lesson = q.get("lesson", "")
    if lesson and lesson not in lessons.LESSONS:
        bad("lesson", "unknown lesson")
        lesson = ""
    default = base_config(lesson)

    surface = q.get("surface", default.surface)
    if surface not in surface_names():
        bad("surface", "unknown surface")
        surface = default.surface
    if surface == TYPED:
        surface = _read_typed(q, values, bad) or default.surface
    values["surface"] = surface
    surf = surface_for(surface, values.get("expression", DEFAULT_EXPRESSION),
                       values.get("expr_bounds", DEFAULT_EXPR_BOUNDS))
    for f in FIELDS:
        if f.key in q:
            try:
                values[f.attr] = read_field(f, q[f.key])
            except ValueError as err:
                bad(f.key, str(err))
    if values.get("mode") == "network" and not lesson:
        default = base_config("", "network")
    network = replace(default, **values)
    n_samples = (len(network_data(network)[0][1]) if network.mode == "network" else surf.n_samples)

    runs: list[RunChoice] = []
    if "opt" in q:
        keys = [k.strip().lower() for k in q["opt"].split(",") if k.strip()]
        unknown = [k for k in keys if k not in PRESETS]
        keys = list(dict.fromkeys(k for k in keys if k in PRESETS))
        if unknown:
            bad("opt", f"unknown optimizer(s) {', '.join(unknown[:6])}")
        if len(keys) > MAX_RUNS:
            notices.append(f"The link asks for {len(keys)} optimizers; showing the first {MAX_RUNS}.")
            keys = keys[:MAX_RUNS]
        for key in keys:
            runs.append(_read_run(key, q, bad))
    values["runs"] = tuple(runs) or default.runs

    if q.get("batch") == "full":
        values["batch_size"] = None
    elif "batch" in q:
        sizes = batch_options(n_samples)
        try:
            size = _number(q["batch"], int)
            if size not in sizes:
                raise ValueError
            values["batch_size"] = None if size == n_samples else size
        except ValueError:
            bad("batch", f"batch size must be one of {', '.join(map(str, sizes))}")
    (x0, x1), (y0, y1) = surf.bounds
    start = {}
    for key, lo, hi in (("x0", x0, x1), ("y0", y0, y1)):
        if key in q:
            try:
                v = _number(q[key])
                if lo <= v <= hi:
                    start[key] = v
                else:
                    bad(key, f"the start must lie in [{lo:g}, {hi:g}] on this surface")
            except ValueError:
                bad(key, "not a number")
    if len(start) == 2:
        values["start"] = (start["x0"], start["y0"])
        if np.array_equal(np.array(values["start"]), surf.start):
            values["start"] = None  # the surface's own start: keep it exact
    elif start:
        notices.append("The link gives only one start coordinate; using the surface's default start.")
    elif surface != default.surface:
        values["start"] = None
    values["lesson"] = lesson
    strays = [k for k in q if k not in KNOWN_KEYS and "." not in k]
    if strays:
        notices.append("Ignored unknown link parameter(s): " + ", ".join(f"`{k[:30]}`" for k in strays[:5]) + ".")
    return replace(default, **values), notices


def _read_typed(q: Mapping[str, str], values: dict, bad) -> str | None:
    """The typed surface from `f`, `fx`, `fy`; None (with a notice) when it cannot be used."""
    from surfaces.expression import ExpressionError

    bounds = DEFAULT_EXPR_BOUNDS
    for key, axis in (("fx", 0), ("fy", 1)):
        if key in q:
            try:
                lo, hi = (float(part) for part in q[key].split(","))
                pair = list(bounds)
                pair[axis] = (lo, hi)
                bounds = check_bounds(tuple(pair))
            except ValueError as err:
                bad(key, f"give the range as two numbers, low,high ({err})")
    text = q.get("f", DEFAULT_EXPRESSION)
    try:
        typed_surface(text, bounds)
    except ExpressionError as err:
        if "f" in q:
            bad("f", f"the function cannot be used: {err}")
        return None
    values["expression"], values["expr_bounds"] = text, bounds
    return TYPED


def _read_run(key: str, q: Mapping[str, str], bad) -> RunChoice:
    """One optimizer's hyperparameter changes from `<preset>.<name>` query keys."""
    base = preset_hyper(key)
    changes: dict[str, Any] = {}
    lr_key = f"{key}.lr"
    if lr_key in q:
        try:
            lr = _number(q[lr_key])
            if not MIN_LR <= lr <= MAX_LR:
                raise ValueError
            changes["lr"] = snap_learning_rate(lr)
        except ValueError:
            bad(lr_key, f"the learning rate must be between {MIN_LR:g} and {MAX_LR:g}")
    for name, start_value in base.items():
        qkey = f"{key}.{name}"
        if qkey not in q:
            continue
        text = q[qkey]
        if isinstance(start_value, bool):
            if text not in ("0", "1", "true", "false"):
                bad(qkey, "use 0 or 1")
                continue
            value: Any = text in ("1", "true")
        else:
            try:
                value = _number(text)
            except ValueError:
                bad(qkey, "not a number")
                continue
        if value != start_value:
            changes[name] = value
    choice = RunChoice(key, tuple(sorted(changes.items())))
    try:
        choice.make(1e-3)
    except ValueError as err:
        for name in changes:
            if name != "lr":
                bad(f"{key}.{name}", str(err))
                break
        choice = RunChoice(key)
    return choice
