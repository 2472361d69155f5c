"""What the page knows: the Config (one frozen dataclass, the single source of truth), the runs it
holds, the optimizer presets, and the option lists the controls offer. Its URL form is lab.link."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import surfaces
from engine import optimizers
from engine.network import ACTIVATIONS, DEFAULT_CONFIG as NETWORK_DEFAULTS
from surfaces.expression import EXPRESSION_NAME
from lab.learning_rates import LR_OPTIONS, learning_rate_options, snap_learning_rate  # noqa: F401
from lab.user_data import UPLOADED, admitted_names, held_surface, is_uploaded  # noqa: F401  (UPLOADED: the name prefix)

MAX_RUNS = 6
MIN_LR, MAX_LR = 1e-4, 10.0
MAX_EPOCHS = 2000
MAX_SEED = 2**31 - 1
SPEEDS = ("instant", "slow", "normal", "fast")  # playback speeds, as the view's menu names them
CLIPS = ("off", "norm", "value")
SCHEDULES = ("constant", "step", "exponential", "cosine")
LOG_MODES = ("auto", "on", "off")
MODES = ("surface", "network")
MAX_HIDDEN_TEXT = 60
DEFAULT_SURFACE = "rosenbrock"
TYPED = EXPRESSION_NAME  # the surface the user types as f(x, y)
DEFAULT_EXPRESSION = "sin(x)*cos(y) + 0.1*(x^2 + y^2)"
DEFAULT_EXPR_BOUNDS = ((-3.0, 3.0), (-3.0, 3.0))
MAX_EXPR_SPAN = 1e4
MAX_EXPR_COORD = 1e4  # the box's number inputs take -1e4 to 1e4
MIN_EXPR_SPAN = 1e-6  # narrower, the start sliders' step (1/200 of the box) is lost in rounding
# The range each hyperparameter's number input on the page takes (a value outside would crash
# the widget); the engine's own rules (torch's) apply on top.
HYPER_RANGES = {"eps": (0.0, 1.0), "beta1": (0.0, 0.9999), "beta2": (0.0, 0.9999), "alpha": (0.0, 1.0),
                "rho": (0.0, 1.0), "momentum": (0.0, 1.0), "dampening": (0.0, 1.0),
                "etaminus": (0.001, 0.999), "etaplus": (1.001, 10.0), "step_size_min": (0.0, 1.0),
                "step_size_max": (0.0, 1e3), "t0": (0.0, 1e7), "beta2_decay": (-10.0, 0.0),
                "eps2": (0.0, 1.0), "d": (1.0, 1e3), "ns_a": (-10.0, 10.0), "ns_b": (-10.0, 10.0),
                "ns_c": (-10.0, 10.0), "ns_steps": (0, 99), "max_iter": (1, 50), "max_eval": (1, 100),
                "history_size": (1, 100), "tolerance_grad": (0.0, 1.0), "tolerance_change": (0.0, 1.0)}
# Hyperparameters that are a choice of words (torch's None shown as a word), and whole numbers.
HYPER_CHOICES = {"line_search_fn": ("none", "strong_wolfe"), "adjust_lr_fn": ("original", "match_rms_adamw")}
INT_HYPER = frozenset({"ns_steps", "max_iter", "max_eval", "history_size"})
OTHER_HYPER_RANGE = (0.0, 1e3)


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
    Preset("rprop", "Rprop", "rprop"),
    # t0 = 20 starts the averaging early enough to see (torch's 1e6 makes ax a copy of p)
    Preset("asgd", "ASGD", "asgd", {"t0": 20.0}),
    Preset("adafactor", "Adafactor", "adafactor"),
    Preset("muon", "Muon", "muon"),
    Preset("lbfgs", "L-BFGS", "lbfgs"),
    Preset("lbfgs_wolfe", "L-BFGS (Wolfe)", "lbfgs", {"line_search_fn": "strong_wolfe"}),
    Preset("newton", "Newton (not torch)", "newton"),
)}

# Hyperparameters the page does not offer: lr has its own slider; the rest change the algorithm
# rather than tune it (maximize), or are fixed by the preset (AdamW is decoupled Adam).
HIDDEN_HYPER = {"lr", "maximize", "decoupled_weight_decay", "foreach", "fused", "capturable",
                "differentiable"}


def torch_defaults(optimizer: str) -> dict[str, Any]:
    """torch's defaults for an optimizer, in the page's form (beta1 and beta2)."""
    return page_hyper(optimizers.defaults(optimizer))


def preset_hyper(key: str) -> dict[str, Any]:
    """The editable hyperparameters of a preset with their starting values (torch's defaults
    with the preset's settings on top); betas split into beta1 and beta2."""
    preset = PRESETS[key]
    values = dict(optimizers.defaults(preset.optimizer))
    values.update(preset.settings)
    return page_hyper(values)


def page_hyper(values: Mapping[str, Any]) -> dict[str, Any]:
    """torch keywords → the page's editable hyperparameters (betas split into beta1, beta2)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in HIDDEN_HYPER:
            continue
        if name in _PAIRS:  # a tuple of torch's becomes one number per entry
            parts = _PAIRS[name]
            if name == "eps" and isinstance(value, tuple):  # Adafactor: eps1 stays torch's None
                out["eps2"] = float(value[1])
            elif name != "eps":
                out.update((part, float(v)) for part, v in zip(parts, value))
            else:
                out[name] = value
        elif name == "max_eval" and value is None:  # torch's default, written out
            out[name] = int(values.get("max_iter", 20)) * 5 // 4
        elif name in HYPER_CHOICES:
            out[name] = HYPER_CHOICES[name][0] if value is None else value
        else:
            out[name] = value
    return out


# torch's tuple hyperparameters and the page's name for each entry (Adafactor's eps = (None, eps2))
_PAIRS = {"betas": ("beta1", "beta2"), "etas": ("etaminus", "etaplus"),
          "step_sizes": ("step_size_min", "step_size_max"), "ns_coefficients": ("ns_a", "ns_b", "ns_c"),
          "eps": (None, "eps2")}


def to_torch_hyper(hyper: Mapping[str, Any]) -> dict[str, Any]:
    """Page hyperparameters (beta1, beta2, …) → torch keywords (betas, …)."""
    parts = {part for pair in _PAIRS.values() for part in pair if part}
    out = {k: v for k, v in hyper.items() if k not in parts}
    for name, pair in _PAIRS.items():
        if name == "eps":
            if "eps2" in hyper:
                out["eps"] = (None, hyper["eps2"])
        elif pair[0] in hyper:
            out[name] = tuple(hyper[part] for part in pair)
    for name in INT_HYPER & set(out):
        value = out[name]  # a number input or a link gives 20.0; torch takes the int
        if isinstance(value, float) and value.is_integer():
            out[name] = int(value)
    if out.get("line_search_fn") == "none":
        out["line_search_fn"] = None
    return out


@dataclass(frozen=True)
class RunChoice:
    """One run on the page: an optimizer (a preset and the hyperparameters that differ from it)
    and, optionally, its own batch size, clipping and schedule; None means the page's setting.
    `copy` tells apart runs of the same preset (0 for the first; the link writes sgd, sgd-2)."""

    preset: str
    changes: tuple[tuple[str, Any], ...] = ()
    batch: int | None = None  # None: the page's; 0: the full batch; n: mini-batches of n
    clip: str | None = None  # None: the page's; "off", "norm:10", "value:0.5"
    schedule: str | None = None  # None: the page's; one of SCHEDULES
    copy: int = 0

    @property
    def key(self) -> str:
        """The run's name in the link and the widgets: the preset, then sgd-2, sgd-3 for copies."""
        return self.preset if self.copy == 0 else f"{self.preset}-{self.copy + 1}"

    @property
    def own_lr(self) -> float | None:
        """This optimizer's own learning rate, or None to use the page's shared one."""
        return dict(self.changes).get("lr")

    def own_settings(self) -> list[str]:
        """Words for the settings this run has of its own (not the η)."""
        words = []
        if self.batch is not None:
            words.append("full batch" if self.batch == 0 else f"batch {self.batch}")
        if self.clip is not None:
            kind, limit = clip_parts(self.clip)
            words.append("no clipping" if kind == "off" else f"clip {kind} {limit:g}")
        if self.schedule is not None:
            words.append("constant η" if self.schedule == "constant" else self.schedule)
        return words

    def own_hyper_words(self) -> list[str]:
        """Words for the hyperparameters this run changes from its preset (not the η), so two
        runs of one optimizer are told apart in the legend by what differs ("damping 4")."""
        base = preset_hyper(self.preset)
        return [f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"
                for name, value in self.changes if name != "lr" and base.get(name) != value]

    @property
    def label(self) -> str:
        name = PRESETS[self.preset].label
        extra = ([] if self.own_lr is None else [f"η={self.own_lr:g}"]) + self.own_hyper_words()
        extra += self.own_settings()
        if not extra and self.copy:
            extra = [str(self.copy + 1)]
        return name if not extra else f"{name} ({', '.join(extra)})"

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


def clip_parts(text: str) -> tuple[str, float]:
    """A run's clipping as written in the link ("off", "norm:10", "value:0.5") → (kind, limit);
    ValueError for anything else."""
    kind, _, limit = text.partition(":")
    if kind == "off" and not limit:
        return "off", 0.0
    if kind not in ("norm", "value"):
        raise ValueError("write clipping as off, norm:LIMIT or value:LIMIT")
    try:
        value = float(limit)
    except ValueError:
        raise ValueError("write clipping as off, norm:LIMIT or value:LIMIT") from None
    if not (math.isfinite(value) and 0 < value <= 1e6):
        raise ValueError("the clipping limit must be above 0")
    return kind, value


def clip_text(kind: str, limit: float) -> str:
    return "off" if kind == "off" else f"{kind}:{float(limit):g}"


def parse_run_key(text: str) -> tuple[str, int] | None:
    """A run's key in the link ("sgd", "sgd-2") → (preset, copy), or None when unknown."""
    preset, _, number = text.partition("-")
    if preset not in PRESETS:
        return None
    if not number:
        return preset, 0
    if not number.isdigit() or not 2 <= int(number) <= MAX_RUNS:
        return None
    return preset, int(number) - 1


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
    """A registered surface by name, the typed one, or an uploaded one ("upload:<key>", held by
    lab.user_data while a session uses it; KeyError in words otherwise)."""
    if name == TYPED:
        return typed_surface(expression, tuple(tuple(map(float, b)) for b in bounds))
    if is_uploaded(name):
        return held_surface(name)
    return surfaces.get(name)


def surface_names() -> list[str]:
    """The names a link (or a saved file) may use: the registry's and the typed one; uploaded
    surfaces only while a saved file that carries their data is read (lab.user_data.admitted)."""
    return surfaces.names() + [TYPED] + admitted_names()


def hyper_range(name: str) -> tuple[float, float]:
    """The values a number hyperparameter may take on the page (its number input's range)."""
    return HYPER_RANGES.get(name, OTHER_HYPER_RANGE)


def check_bounds(bounds) -> tuple:
    """Bounds ((x0, x1), (y0, y1)) for a typed surface, or ValueError saying what is wrong."""
    (x0, x1), (y0, y1) = bounds
    values = [float(v) for v in (x0, x1, y0, y1)]
    if not all(math.isfinite(v) for v in values):
        raise ValueError("the bounds must be finite numbers")
    if not all(abs(v) <= MAX_EXPR_COORD for v in values):
        raise ValueError(f"the bounds must lie between {-MAX_EXPR_COORD:g} and {MAX_EXPR_COORD:g}")
    if not (values[0] < values[1] and values[2] < values[3]):
        raise ValueError("each lower bound must be below its upper bound")
    if max(values[1] - values[0], values[3] - values[2]) > MAX_EXPR_SPAN:
        raise ValueError(f"the box may be at most {MAX_EXPR_SPAN:g} wide")
    if min(values[1] - values[0], values[3] - values[2]) < MIN_EXPR_SPAN:
        raise ValueError(f"the box must be at least {MIN_EXPR_SPAN:g} wide")
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
    dataset: str = NETWORK_DEFAULTS["dataset"]  # network mode: the data set
    hidden: str = "-".join(map(str, NETWORK_DEFAULTS["layers"][1:-1]))  # network mode: hidden sizes
    activation: str = NETWORK_DEFAULTS["activation"]  # network mode
    test_share: float = 0.2  # network mode: the held-out share of all samples (0: none)

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



def network_defaults() -> Config:
    """The Neural network mode's starting point: Adam that trains two moons in 100 epochs."""
    return replace(Config(), mode="network", learning_rate=NETWORK_DEFAULTS["lr"],
                   epochs=NETWORK_DEFAULTS["epochs"], batch_size=NETWORK_DEFAULTS["batch_size"])



def network_data(config: Config):
    """The network mode's data set (X, y) and its description."""
    from surfaces import datasets

    return datasets.load(config.dataset, seed=config.seed), datasets.get(config.dataset)


def network_test_data(config: Config):
    """The network mode's held-out samples (X, y), never trained on; None at a share of 0."""
    from surfaces import datasets

    n_train = len(datasets.load(config.dataset, seed=config.seed)[1])
    return datasets.held_out(config.dataset, n_train, config.test_share, seed=config.seed)


def network_layers(config: Config) -> list[int]:
    """Input, hidden and output sizes for the network mode (ValueError for bad hidden sizes)."""
    from engine.network import parse_layers
    from surfaces import datasets

    info = datasets.get(config.dataset)
    hidden = parse_layers(config.hidden) if config.hidden.strip() else []
    n_in = 1 if info.task == "regression" else 2
    n_out = 1 if info.task == "regression" else info.classes
    return [n_in, *hidden, n_out]
