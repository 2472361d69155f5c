"""The page's configuration: one frozen dataclass, its optimizer presets, and its URL form.

The Config is the single source of truth for the page. It is written to the query string
after every change and read back from it when a link is opened, so a link reproduces the page.
Reading never raises: a bad or unknown parameter falls back to its default and yields a notice.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

import surfaces
from engine import optimizers

MAX_RUNS = 6
MIN_LR, MAX_LR = 1e-4, 10.0
MAX_EPOCHS = 2000
MAX_SEED = 2**31 - 1
SPEEDS = ("instant", "slow", "normal", "fast")
CLIPS = ("off", "norm", "value")
SCHEDULES = ("constant", "step", "exponential", "cosine")
LOG_MODES = ("auto", "on", "off")
MODES = ("surface", "network")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
MAX_HIDDEN_TEXT = 60
DEFAULT_SURFACE = "rosenbrock"
TYPED = "typed"  # the surface the user types as f(x, y)
DEFAULT_EXPRESSION = "sin(x)*cos(y) + 0.1*(x^2 + y^2)"
DEFAULT_EXPR_BOUNDS = ((-3.0, 3.0), (-3.0, 3.0))
MAX_EXPR_SPAN = 1e4


@dataclass(frozen=True)
class Preset:
    """A quick choice in the optimizer menu: a torch optimizer and the settings that name it."""

    key: str
    label: str
    optimizer: str
    settings: Mapping[str, Any] = field(default_factory=dict)


PRESETS = {p.key: p for p in (
    Preset("sgd", "SGD", "sgd"),
    Preset("momentum", "Momentum", "sgd", {"momentum": 0.9}),
    Preset("nesterov", "Nesterov", "sgd", {"momentum": 0.9, "nesterov": True}),
    Preset("adagrad", "Adagrad", "adagrad"),
    Preset("rmsprop", "RMSprop", "rmsprop"),
    Preset("adadelta", "Adadelta", "adadelta"),
    Preset("adam", "Adam", "adam"),
    Preset("adamw", "AdamW", "adamw"),
    Preset("nadam", "NAdam", "nadam"),
    Preset("adamax", "Adamax", "adamax"),
    Preset("radam", "RAdam", "radam"),
)}

# Hyperparameters the page does not offer: lr has its own slider; the rest change the algorithm
# rather than tune it (maximize), or are fixed by the preset (AdamW is decoupled Adam).
HIDDEN_HYPER = {"lr", "maximize", "decoupled_weight_decay", "foreach", "fused", "capturable",
                "differentiable"}


def preset_hyper(key: str) -> dict[str, Any]:
    """The editable hyperparameters of a preset with their starting values (torch's defaults
    with the preset's settings on top); betas split into beta1 and beta2."""
    preset = PRESETS[key]
    values = dict(optimizers.defaults(preset.optimizer))
    values.update(preset.settings)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in HIDDEN_HYPER:
            continue
        if name == "betas":
            out["beta1"], out["beta2"] = float(value[0]), float(value[1])
        else:
            out[name] = value
    return out


def to_torch_hyper(hyper: Mapping[str, Any]) -> dict[str, Any]:
    """Page hyperparameters (beta1, beta2) → torch keywords (betas)."""
    out = {k: v for k, v in hyper.items() if k not in ("beta1", "beta2")}
    if "beta1" in hyper:
        out["betas"] = (hyper["beta1"], hyper["beta2"])
    return out


@dataclass(frozen=True)
class RunChoice:
    """One optimizer on the page: a preset and the hyperparameters that differ from it."""

    preset: str
    changes: tuple[tuple[str, Any], ...] = ()

    @property
    def own_lr(self) -> float | None:
        """This optimizer's own learning rate, or None to use the page's shared one."""
        return dict(self.changes).get("lr")

    @property
    def label(self) -> str:
        name = PRESETS[self.preset].label
        return name if self.own_lr is None else f"{name} (η={self.own_lr:g})"

    def hyper(self) -> dict[str, Any]:
        values = preset_hyper(self.preset)
        values.update((k, v) for k, v in self.changes if k != "lr")
        return values

    def lr(self, shared_lr: float) -> float:
        return self.own_lr if self.own_lr is not None else shared_lr

    def make(self, shared_lr: float):
        """The engine optimizer for this choice (raises ValueError on a bad hyperparameter)."""
        preset = PRESETS[self.preset]
        return optimizers.create(preset.optimizer, lr=self.lr(shared_lr),
                                 **to_torch_hyper(self.hyper()))


def learning_rate_options() -> list[float]:
    """The learning-rate slider's stops: twelve round numbers per decade from 1e-4 to 10 (61
    stops, neighbours 1.1 to 1.34 times apart). The sweep runs exactly these, so any of its points can be
    loaded into the main view."""
    stops = []
    for exponent in range(-4, 1):
        for mantissa in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9):
            stops.append(float(f"{mantissa}e{exponent}"))
    stops.append(10.0)
    return stops


LR_OPTIONS = learning_rate_options()


def snap_learning_rate(value: float) -> float:
    """The slider stop nearest to `value` on a log scale."""
    return min(LR_OPTIONS, key=lambda stop: abs(math.log(stop) - math.log(value)))


def batch_options(n: int) -> list[int]:
    """Batch sizes offered for a data set of n samples: powers of two below n, then n (full)."""
    sizes = [1]
    while sizes[-1] * 2 < n:
        sizes.append(sizes[-1] * 2)
    if sizes[-1] != n:
        sizes.append(n)
    return sizes


@functools.lru_cache(maxsize=32)
def typed_surface(text: str, bounds: tuple):
    """The surface of a typed f(x, y) (ExpressionError for text that is refused)."""
    from surfaces import expression

    return expression.make_surface(text, bounds)


def surface_for(name: str, expression: str = DEFAULT_EXPRESSION, bounds: tuple = DEFAULT_EXPR_BOUNDS):
    """A registered surface by name, or the typed one."""
    if name == TYPED:
        return typed_surface(expression, tuple(tuple(map(float, b)) for b in bounds))
    return surfaces.get(name)


def surface_names() -> list[str]:
    return surfaces.names() + [TYPED]


def check_bounds(bounds) -> tuple:
    """Bounds ((x0, x1), (y0, y1)) for a typed surface, or ValueError saying what is wrong."""
    (x0, x1), (y0, y1) = bounds
    values = [float(v) for v in (x0, x1, y0, y1)]
    if not all(math.isfinite(v) for v in values):
        raise ValueError("the bounds must be finite numbers")
    if not (values[0] < values[1] and values[2] < values[3]):
        raise ValueError("each lower bound must be below its upper bound")
    if max(values[1] - values[0], values[3] - values[2]) > MAX_EXPR_SPAN:
        raise ValueError(f"the box may be at most {MAX_EXPR_SPAN:g} wide")
    return ((values[0], values[1]), (values[2], values[3]))


@dataclass(frozen=True)
class Config:
    surface: str = DEFAULT_SURFACE
    runs: tuple[RunChoice, ...] = (RunChoice("adam"),)
    learning_rate: float = 0.1
    epochs: int = 500
    batch_size: int | None = None  # None: the full batch
    start: tuple[float, float] | None = None  # None: the surface's default start
    seed: int = 0
    clip: str = "off"
    clip_limit: float = 10.0
    schedule: str = "constant"
    warmup: int = 0
    speed: str = "normal"
    log_scale: str = "auto"
    lesson: str = ""  # the lesson this page was opened from, if any
    presenter: bool = False  # big type and dots, advanced controls hidden
    expression: str = DEFAULT_EXPRESSION  # the typed surface's f(x, y), when surface is "typed"
    expr_bounds: tuple = DEFAULT_EXPR_BOUNDS
    mode: str = "surface"  # "surface": two weights; "network": an MLP seen on a 2-D slice
    dataset: str = "two_moons"  # network mode: the data set
    hidden: str = "16-16"  # network mode: hidden layer sizes
    activation: str = "relu"  # network mode

    def surface_obj(self):
        return surface_for(self.surface, self.expression, self.expr_bounds)

    def surface_key(self) -> tuple:
        """What identifies the surface: its name, and for a typed one its text and box."""
        typed = (self.expression, self.expr_bounds) if self.surface == TYPED else None
        return (self.surface, typed)

    def start_point(self) -> tuple[float, float]:
        if self.start is not None:
            return self.start
        x, y = self.surface_obj().start
        return float(x), float(y)

    def use_log(self) -> bool:
        if self.log_scale == "auto":
            return bool(self.surface_obj().log_scale)
        return self.log_scale == "on"


# ---------------------------------------------------------------------------------------------
# The URL: short keys, only values that differ from the defaults.


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def network_defaults() -> Config:
    """The Neural network mode's starting point: Adam that trains two moons in 100 epochs."""
    return replace(Config(), mode="network", learning_rate=0.03, epochs=100, batch_size=32)


def base_config(lesson: str, mode: str = "surface") -> Config:
    """What a link's values are read against: a lesson's config, or the mode's defaults."""
    from views import lessons

    if lesson in lessons.LESSONS:
        return lessons.get(lesson).config
    return network_defaults() if mode == "network" else Config()


def to_query(config: Config) -> dict[str, str]:
    """The query-string form of a config: only what differs from its base (the lesson it came
    from, or the defaults), plus the surface and optimizers, always."""
    default = base_config(config.lesson, config.mode)
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
    if config.learning_rate != default.learning_rate:
        q["lr"] = _fmt(config.learning_rate)
    if config.epochs != default.epochs:
        q["epochs"] = str(config.epochs)
    if config.batch_size != default.batch_size:
        q["batch"] = "full" if config.batch_size is None else str(config.batch_size)
    if config.start != default.start or config.surface != default.surface:
        if config.start is not None:
            q["x0"], q["y0"] = _fmt(config.start[0]), _fmt(config.start[1])
        elif default.start is not None:
            q["x0"], q["y0"] = (_fmt(float(v)) for v in config.surface_obj().start)
    for name in ("seed", "clip", "clip_limit", "schedule", "warmup", "speed", "log_scale"):
        value = getattr(config, name)
        if value != getattr(default, name):
            q[name] = _fmt(value)
    if config.presenter:
        q["present"] = "1"
    if config.mode == "network":
        q["mode"] = "network"
        q["data"], q["hidden"], q["act"] = config.dataset, config.hidden, config.activation
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


def from_query(query: Mapping[str, str]) -> tuple[Config, list[str]]:
    """Read a config from query parameters. Never raises: each bad value falls back to its
    default and adds a notice in words."""
    notices: list[str] = []
    values: dict[str, Any] = {}
    q = {str(k): str(v) for k, v in query.items()}

    def bad(key: str, why: str) -> None:
        shown = q[key] if len(q[key]) <= 40 else q[key][:40] + "…"
        notices.append(f"Ignored `{key}={shown}` in the link: {why}. Using the default instead.")

    from views import lessons

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
    _read_network(q, values, bad)
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

    def read(key: str, name: str, kind, ok, why: str) -> None:
        if key not in q:
            return
        try:
            value = _number(q[key], kind)
        except ValueError:
            bad(key, "not a number" if kind is float else "not a whole number")
            return
        if not ok(value):
            bad(key, why)
            return
        values[name] = value

    read("lr", "learning_rate", float, lambda v: MIN_LR <= v <= MAX_LR,
         f"the learning rate must be between {MIN_LR:g} and {MAX_LR:g}")
    if "learning_rate" in values:
        values["learning_rate"] = snap_learning_rate(values["learning_rate"])
    read("epochs", "epochs", int, lambda v: 1 <= v <= MAX_EPOCHS, f"epochs must be 1 to {MAX_EPOCHS}")
    if q.get("batch") == "full":
        values["batch_size"] = None
    else:
        read("batch", "batch_size", int, lambda v: v in batch_options(n_samples),
             f"batch size must be one of {', '.join(map(str, batch_options(n_samples)))}")
        if values.get("batch_size") == n_samples:
            values["batch_size"] = None
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
    read("seed", "seed", int, lambda v: 0 <= v <= MAX_SEED, f"the seed must be 0 to {MAX_SEED}")
    for key, choices in (("clip", CLIPS), ("schedule", SCHEDULES), ("speed", SPEEDS),
                         ("log_scale", LOG_MODES)):
        if key in q:
            if q[key] in choices:
                values[key] = q[key]
            else:
                bad(key, f"choose one of {', '.join(choices)}")
    read("clip_limit", "clip_limit", float, lambda v: 0 < v <= 1e6, "the clipping limit must be above 0")
    read("warmup", "warmup", int, lambda v: 0 <= v <= MAX_EPOCHS, f"warm-up must be 0 to {MAX_EPOCHS} epochs")

    if "present" in q:
        if q["present"] in ("0", "1"):
            values["presenter"] = q["present"] == "1"
        else:
            bad("present", "use 0 or 1")
    values["lesson"] = lesson
    known = {"f", "fx", "fy", "mode", "data", "hidden", "act", "lesson", "present", "surface", "opt", "lr", "epochs", "batch", "x0", "y0", "seed", "clip", "clip_limit",
             "schedule", "warmup", "speed", "log_scale"}
    strays = [k for k in q if k not in known and "." not in k]
    if strays:
        notices.append("Ignored unknown link parameter(s): " + ", ".join(f"`{k[:30]}`" for k in strays[:5]) + ".")
    return replace(default, **values), notices


def network_data(config: Config):
    """The network mode's data set (X, y) and its description."""
    from surfaces import datasets

    return datasets.load(config.dataset, seed=config.seed), datasets.get(config.dataset)


def network_layers(config: Config) -> list[int]:
    """Input, hidden and output sizes for the network mode (ValueError for bad hidden sizes)."""
    from engine.network import parse_layers
    from surfaces import datasets

    info = datasets.get(config.dataset)
    hidden = parse_layers(config.hidden) if config.hidden.strip() else []
    n_in = 1 if info.task == "regression" else 2
    n_out = 1 if info.task == "regression" else info.classes
    return [n_in, *hidden, n_out]


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


def _read_network(q: Mapping[str, str], values: dict, bad) -> None:
    from surfaces import datasets

    if "mode" in q:
        if q["mode"] in MODES:
            values["mode"] = q["mode"]
        else:
            bad("mode", f"choose one of {', '.join(MODES)}")
    if "data" in q:
        if q["data"] in datasets.names():
            values["dataset"] = q["data"]
        else:
            bad("data", f"choose one of {', '.join(datasets.names())}")
    if "hidden" in q:
        text = q["hidden"]
        if len(text) <= MAX_HIDDEN_TEXT and all(c.isdigit() or c == "-" for c in text):
            values["hidden"] = text
        else:
            bad("hidden", "write the hidden layer sizes as e.g. 16-16")
    if "act" in q:
        if q["act"] in ACTIVATIONS:
            values["activation"] = q["act"]
        else:
            bad("act", f"choose one of {', '.join(ACTIVATIONS)}")


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
