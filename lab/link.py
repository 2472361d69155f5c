"""The link: a Config to and from the page's query string, driven by one table of fields.

Each setting is declared once, in FIELDS (its key in the link, its Config attribute, its widget
key, its kind and allowed values); writing a link, reading one, loading a config into the widgets
and reading the widgets back are loops over that table. Reading never raises: a bad or unknown
parameter falls back to its default and yields a notice in words.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np

from engine import optimizers

from lab import lessons
from lab.config import (ACTIVATIONS, CLIPS, DEFAULT_EXPR_BOUNDS, DEFAULT_EXPRESSION, LOG_MODES,
                        MAX_EPOCHS, MAX_HIDDEN_TEXT, MAX_LR, MAX_RUNS, MAX_SEED, MIN_LR, MODES,
                        PRESETS, SCHEDULES, SPEEDS, TYPED, Config, RunChoice, batch_options,
                        HYPER_CHOICES, INT_HYPER, check_bounds, clip_parts, clip_text, hyper_range,
                        network_data,
                        network_defaults, parse_run_key, preset_hyper, snap_learning_rate,
                        surface_for, surface_names, to_torch_hyper, torch_defaults,
                        typed_surface)
from surfaces import datasets

SHOWN_CHARS = 40  # a notice shows at most this much of a value from the link
MAX_UNUSED_NOTICES = 5


def visible(text: str) -> str:
    """The text with each character that would not show (a newline, a tab, a control character)
    written as its escape, so that a notice shows exactly what was in the link on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def code(text: str, limit: int = SHOWN_CHARS) -> str:
    """User text as a Markdown code span that shows it literally: nothing in it is read as
    Markdown or HTML (no emphasis, link, image, icon, colour or formula). The fence is longer
    than any run of backticks inside, so a backtick in the text cannot close it."""
    text = visible(text)
    if len(text) > limit:
        text = text[:limit] + "…"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if not text:
        return "` `"  # nothing: a blank
    # CommonMark strips one space from each end when both ends have one (unless all are blank).
    pad = " " if (text[0] == "`" or text[-1] == "`"
                  or (text[0] == " " and text[-1] == " " and text.strip(" "))) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text: str) -> str:
    """Text that may hold fragments of user text, escaped so that Markdown shows it as it is:
    every ASCII punctuation character gets a backslash (CommonMark's escape), and characters
    that would not show are written as escapes."""
    return "".join("\\" + c if c in _PUNCTUATION else c for c in visible(text))


_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


class _Seen(dict):
    """The link's parameters, remembering which ones the reading code looked at: every other
    one gets a notice (unknown, or not used by these settings)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.seen: set[str] = set()

    def __contains__(self, key) -> bool:
        self.seen.add(key)
        return super().__contains__(key)

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)


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
    Field("test", "test_share", "net_test", float, lambda v: v in datasets.TEST_SHARES,
          "the held-out share must be one of " + ", ".join(f"{v:g}" for v in datasets.TEST_SHARES),
          network=True),
    Field("lr", "learning_rate", "learning_rate", float, lambda v: MIN_LR <= v <= MAX_LR,
          f"the learning rate must be between {MIN_LR:g} and {MAX_LR:g}"),
    Field("epochs", "epochs", "epochs", int, lambda v: 1 <= v <= MAX_EPOCHS,
          f"epochs must be 1 to {MAX_EPOCHS}"),
    Field("seed", "seed", "seed", int, lambda v: 0 <= v <= MAX_SEED, f"the seed must be 0 to {MAX_SEED}"),
    Field("clip", "clip", "clip", CLIPS),
    Field("clip_limit", "clip_limit", "clip_limit", float, lambda v: 1e-6 <= v <= 1e6,
          "the clipping limit must be between 1e-06 and 1e+06"),
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
    q["opt"] = ",".join(run.key for run in config.runs)
    for run in config.runs:
        for name, value in run.changes:
            q[f"{run.key}.{name}"] = _fmt(value)
        if run.batch is not None:
            q[f"{run.key}.batch"] = "full" if run.batch == 0 else str(run.batch)
        if run.clip is not None:
            q[f"{run.key}.clip"] = run.clip
        if run.schedule is not None:
            q[f"{run.key}.schedule"] = run.schedule
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
    q = _Seen((str(k), str(v)) for k, v in query.items())

    def bad(key: str, why: str, used: str | None = "the default") -> None:
        """A notice: the parameter as it was in the link (shown literally), why it was not
        used, and what is used instead. `why` and `used` are the page's words."""
        instead = f" Using {used} instead." if used else ""
        notices.append(f"Ignored {code(f'{key}={q[key]}')} in the link: {why}.{instead}")

    lesson = q.get("lesson", "")
    if lesson and lesson not in lessons.LESSONS:
        bad("lesson", "there is no such lesson", "no lesson")
        lesson = ""
    default = base_config(lesson)

    surface = q.get("surface", default.surface)
    if surface not in surface_names():
        bad("surface", "there is no such surface", f"the {surface_for(default.surface).title} surface")
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
                bad(f.key, str(err), f"the default ({_fmt(getattr(default, f.attr))})")
    if values.get("mode", default.mode) != "network":
        for f in FIELDS:
            if f.network and f.key in q:
                values.pop(f.attr, None)
                bad(f.key, "it applies only to the Neural network mode (mode=network)", None)
    if "learning_rate" in values and values["learning_rate"] != float(q["lr"]):
        notices.append(f"The link's learning rate {code(q['lr'])} is not one of the slider's "
                       f"stops; using the nearest stop, η = {values['learning_rate']:g}.")
    if values.get("mode") == "network" and not lesson:
        default = base_config("", "network")
    network = replace(default, **values)
    n_samples = (len(network_data(network)[0][1]) if network.mode == "network" else surf.n_samples)

    runs: list[RunChoice] = []
    if "opt" in q:
        keys = [k.strip().lower() for k in q["opt"].split(",") if k.strip()]
        unknown = [k for k in keys if parse_run_key(k) is None]
        keys = list(dict.fromkeys(k for k in keys if parse_run_key(k) is not None))
        if unknown:
            bad("opt", "there is no optimizer called " + ", ".join(code(u, 20) for u in unknown[:6]),
                "the others" if keys else "the default")
        elif not keys:
            bad("opt", "it names no optimizer", "the default")
        if len(keys) > MAX_RUNS:
            notices.append(f"The link asks for {len(keys)} optimizers; showing the first {MAX_RUNS}.")
            keys = keys[:MAX_RUNS]
        for key in keys:
            runs.append(_read_run(key, q, bad, n_samples))
    values["runs"] = tuple(runs) or default.runs

    sizes = batch_options(n_samples)
    # A lesson's batch size belongs to the lesson's data: on other data it may not be offered.
    fallback = default.batch_size if default.batch_size in sizes[:-1] else None
    if q.get("batch") == "full":
        values["batch_size"] = None
    elif "batch" in q:
        try:
            size = _number(q["batch"], int)
            if size not in sizes:
                raise ValueError
            values["batch_size"] = None if size == n_samples else size
        except ValueError:
            bad("batch", f"batch size must be one of {', '.join(map(str, sizes))}",
                "the full batch" if fallback is None else f"the default ({fallback})")
    values.setdefault("batch_size", fallback)
    (x0, x1), (y0, y1) = surf.bounds
    start = {}
    for key, lo, hi in (("x0", x0, x1), ("y0", y0, y1)):
        if key in q:
            try:
                v = _number(q[key])
                if lo <= v <= hi:
                    start[key] = v
                else:
                    bad(key, f"the start must lie in [{lo:g}, {hi:g}] on this surface",
                        "the surface's default start")
            except ValueError:
                bad(key, "not a number", "the surface's default start")
    if len(start) == 2:
        values["start"] = (start["x0"], start["y0"])
        if np.array_equal(np.array(values["start"]), surf.start):
            values["start"] = None  # the surface's own start: keep it exact
    else:
        if start:
            notices.append("The link gives only one start coordinate; using the surface's default start.")
        if surface != default.surface:  # a lesson's start belongs to the lesson's surface
            values["start"] = None
    values["lesson"] = lesson
    chosen = {run.key for run in values["runs"]} if "opt" in q else None
    unused = [k for k in q if k not in q.seen]
    for key in unused[:MAX_UNUSED_NOTICES]:
        bad(key, _why_unused(key, chosen), None)
    if len(unused) > MAX_UNUSED_NOTICES:
        notices.append(f"The link has {len(unused) - MAX_UNUSED_NOTICES} more parameters that this page "
                       "does not know; they were ignored.")
    return replace(default, **values), notices


def _why_unused(key: str, chosen: set[str] | None) -> str:
    """Why the link's parameter `key` was not used, in the page's words."""
    if key in ("f", "fx", "fy"):
        return "it applies only to your own f(x, y) (surface=typed)"
    if key in KNOWN_KEYS:
        return "these settings do not use it"
    run, dot, name = key.partition(".")
    preset = run.split("-")[0]
    if dot and preset in PRESETS:
        label = PRESETS[preset].label
        if chosen is None:
            return f"the link does not choose its optimizers (opt=…), so settings for {label} are not used"
        if run in chosen:
            return f"{label} has no setting {code(name, 30)}"
        return f"{label} is not among the link's optimizers (opt=…)"
    return "this page has no such setting"


def _read_typed(q: Mapping[str, str], values: dict, bad) -> str | None:
    """The typed surface from `f`, `fx`, `fy`; None (with a notice) when it cannot be used."""
    from surfaces.expression import ExpressionError

    bounds = DEFAULT_EXPR_BOUNDS
    for key, axis in (("fx", 0), ("fy", 1)):
        if key in q:
            parts = q[key].split(",")
            try:
                try:
                    lo, hi = (_number(part) for part in parts)
                except ValueError:
                    raise ValueError("give the range as two numbers, low,high, e.g. -3,3") from None
                pair = list(bounds)
                pair[axis] = (lo, hi)
                bounds = check_bounds(tuple(pair))
            except ValueError as err:
                lo, hi = DEFAULT_EXPR_BOUNDS[axis]
                bad(key, str(err), f"the default range {lo:g},{hi:g}")
    text = q.get("f", DEFAULT_EXPRESSION)
    try:
        typed_surface(text, bounds)
    except ExpressionError as err:
        if "f" in q:
            bad("f", "the function cannot be used: " + plain(str(err)), "the default surface")
        return None
    values["expression"], values["expr_bounds"] = text, bounds
    return TYPED


def _read_run(key: str, q: Mapping[str, str], bad, n_samples: int) -> RunChoice:
    """One run from `<key>.<name>` query keys: its optimizer's hyperparameter changes and its
    own batch size, clipping and schedule (`sgd.batch=4`, `sgd-2.clip=norm:1`)."""
    preset, copy = parse_run_key(key)
    own = {}
    if f"{key}.batch" in q:
        text = q[f"{key}.batch"]
        sizes = batch_options(n_samples)
        if text == "full" or text == str(n_samples):
            own["batch"] = 0
        elif text.isdigit() and len(text) <= 9 and int(text) in sizes:  # int() refuses 4,300+ digits
            own["batch"] = int(text)
        else:
            bad(f"{key}.batch", f"batch size must be full or one of {', '.join(map(str, sizes[:-1]))}")
    if f"{key}.clip" in q:
        try:
            own["clip"] = clip_text(*clip_parts(q[f"{key}.clip"]))
        except ValueError as err:
            bad(f"{key}.clip", str(err))
    if f"{key}.schedule" in q:
        if q[f"{key}.schedule"] in SCHEDULES:
            own["schedule"] = q[f"{key}.schedule"]
        else:
            bad(f"{key}.schedule", f"choose one of {', '.join(SCHEDULES)}")
    choice = _read_optimizer(key, preset, q, bad)
    return replace(choice, copy=copy, **own)


def _read_optimizer(key: str, preset: str, q: Mapping[str, str], bad) -> RunChoice:
    """One optimizer's hyperparameter changes from `<key>.<name>` query keys."""
    base = preset_hyper(preset)
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
                bad(qkey, "use 0 or 1", "1" if start_value else "0")
                continue
            value: Any = text in ("1", "true")
        elif name in HYPER_CHOICES:  # a word (line_search_fn, adjust_lr_fn)
            if text not in HYPER_CHOICES[name]:
                bad(qkey, f"choose one of {', '.join(HYPER_CHOICES[name])}", start_value)
                continue
            value = text
        else:
            try:
                value = _number(text, int if name in INT_HYPER else float)
            except ValueError as err:
                bad(qkey, "not a whole number" if "whole" in str(err) else "not a number", f"{start_value:g}")
                continue
            lo, hi = hyper_range(name)
            if not lo <= value <= hi:
                bad(qkey, f"{name} must be between {lo:g} and {hi:g} here", f"{start_value:g}")
                continue
        if value != start_value:
            changes[name] = value
    for name in [n for n in changes if n != "lr"]:
        refused = _alone_error(preset, name, changes[name])
        if refused is not None:
            bad(f"{key}.{name}", plain(refused),
                base[name] if isinstance(base[name], str) else f"{base[name]:g}")
            del changes[name]
    # A combination the engine refuses although each value is fine alone (Nesterov at momentum
    # 0) is kept, as the widgets keep it: the page shows the engine's message for that run.
    return RunChoice(preset, tuple(sorted(changes.items())))


def _alone_error(preset: str, name: str, value: Any) -> str | None:
    """The engine's words when `name = value` is refused on its own, that is with the preset's
    other values and with torch's defaults alike; None when either accepts it."""
    optimizer = PRESETS[preset].optimizer
    first = None
    for others in (preset_hyper(preset), torch_defaults(optimizer)):
        try:
            optimizers.create(optimizer, lr=1e-3, **to_torch_hyper({**others, name: value}))
            return None
        except ValueError as err:
            first = first or str(err)
    return first
