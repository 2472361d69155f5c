"""Any run of the page as one self-contained PyTorch script: `torch_script(config, run) -> str`.

The script is the same run written with torch: the loss in torch operations (each classic
surface's formula, a data surface with its data embedded, a typed f(x, y) translated from its
parsed tree into torch calls, or the network as nn.Sequential with its data set and initial
weights), torch.optim with the same hyperparameters, the same torch.optim.lr_scheduler and
torch.nn.utils clipping, and the same mini-batches: the engine's seeded sample order is embedded
as one index list per epoch. It trains in float64, compares every epoch's weights with the
trajectory embedded from this engine, prints the largest difference and exits 0 when it is
within 1e-10. Above that, it measures how far torch strays from itself: it trains again from a
start one ulp away (every weight moved to the next float64 up). A run past the edge of stability
is chaotic, and any two float64 implementations separate there, torch against itself included.
So when torch's own one-ulp gap also passes 1e-10, the script reports agreement up to the epoch
where that happens, then the ratio of our difference to torch's own, and exits 1 only when our
run leaves torch sooner or further than torch leaves itself: when, at some epoch, our gap passes
both 1e-10 and SELF_FACTOR (10) times the largest one-ulp gap so far. (Our arithmetic rounds
differently at every step, not once at the start, so on the README's edge-of-stability link our
gap runs about 2 times ahead of the one-ulp gap: one epoch sooner.) When torch's own gap stays
within 1e-10 the strict limit holds.
`--out FILE` also writes torch's own trajectory as JSON, {"params": [[...], ...],
"loss": [...]}, one row per epoch, row 0 the start.

Nothing typed by the user is evaluated here: a typed surface is parsed by surfaces.expression
(ast, against a whitelist) and its tree is printed as torch code. This module writes text only;
it does not import torch.
"""

from __future__ import annotations

import base64
import math
import textwrap
from string import Template
from urllib.parse import urlencode

import numpy as np

from engine.train import check_batch_size, collect, epoch_batches, far_limits
from lab.config import PRESETS, TYPED, Config, RunChoice, to_torch_hyper
from lab.link import to_query
from lab import runs as lab_runs
from lab.runs import build_mlp

TOLERANCE = 1e-10
# A chaotic run passes when our gap stays within this factor of torch's gap against itself from a
# start one ulp away: our arithmetic rounds differently at every step, which runs a small factor
# (about 2 measured on the README's edge-of-stability link) ahead of a single one-ulp nudge.
SELF_FACTOR = 10.0

TORCH_CLASSES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adadelta": "Adadelta",
                 "adam": "Adam", "adamw": "AdamW", "nadam": "NAdam", "adamax": "Adamax",
                 "radam": "RAdam", "rprop": "Rprop", "asgd": "ASGD", "adafactor": "Adafactor",
                 "muon": "Muon", "lbfgs": "LBFGS"}
NO_FOREACH = {"muon", "lbfgs"}  # their constructors take no foreach keyword

_TWO_PI = repr(2 * np.pi)

# Each classic surface's f(x, y) in torch operations, written in the order of surfaces/analytic.py
# so that the values agree to rounding; the gradients come from autograd.
_CLASSIC = {
    "bowl": "return 0.5 * (x**2 + {stretch} * y**2)",
    "rosenbrock": "return (1 - x) ** 2 + 100 * (y - x**2) ** 2",
    "beale": ("y2 = y * y\n"
              "y3 = y2 * y\n"
              "return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y2) ** 2 + (2.625 - x + x * y3) ** 2"),
    "himmelblau": "return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2",
    "rastrigin": ("return (20 + x**2 - 10 * torch.cos(TWO_PI * x) + y**2"
                  " - 10 * torch.cos(TWO_PI * y))"),
    "ackley": ("# r = sqrt((x² + y²)/2); at the origin the cone's kink gets the gradient 0, as in\n"
               "# Descent Lab (the where() keeps autograd away from sqrt's infinite slope at 0).\n"
               "s = 0.5 * (x**2 + y**2)\n"
               "pos = s > 0\n"
               "r = torch.sqrt(torch.where(pos, s, torch.ones_like(s)))\n"
               "cone = torch.where(pos, -20 * torch.exp(-0.2 * r), torch.full_like(s, -20.0))\n"
               "ripple = torch.exp(0.5 * (torch.cos(TWO_PI * x) + torch.cos(TWO_PI * y)))\n"
               "return cone - ripple + math.e + 20"),
    "saddle": "return x**2 - y**2",
    "booth": "return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2",
    "six_hump_camel": ("x2, y2 = x * x, y * y\n"
                       "return (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + x * y + (-4 + 4 * y2) * y2"),
    "styblinski_tang": ("x2, y2 = x * x, y * y\n"
                        "return 0.5 * (x2 * x2 - 16 * x2 + 5 * x + y2 * y2 - 16 * y2 + 5 * y)"),
    "plateau": "return 1 - torch.exp(-(x**2 + y**2) / {width})",
}


# --------------------------------------------------------------------------- small printers

def _f(value) -> str:
    """A float as Python source that reads back to the same float64."""
    value = float(value)
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "-math.inf"
    return repr(value)


def _wrapped(items: list[str], width: int = 96) -> str:
    """A list literal of the items, broken into lines of about `width` characters when long."""
    flat = "[" + ", ".join(items) + "]"
    if len(flat) <= width:
        return flat
    lines, line = [], ""
    for item in items:
        if line and len(line) + len(item) + 2 > width:
            lines.append(line)
            line = ""
        line += item + ", "
    lines.append(line)
    return "[\n" + "".join(f"    {ln.rstrip()}\n" for ln in lines) + "]"


def _floats(values) -> str:
    return _wrapped([_f(v) for v in values])


def _ints(values) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def _comment(text: str) -> str:
    return "\n".join("# " + line for line in textwrap.wrap(" ".join(text.split()), 94))


def _rows(rows, indent: str = "    ") -> str:
    return "[\n" + "".join(f"{indent}{_floats(r)},\n" for r in rows) + "]"


def _b64(values) -> str:
    """float64 values, little-endian, as base64 text (exact and compact for large vectors)."""
    array = np.ascontiguousarray(np.asarray(values, dtype="<f8").ravel())
    text = base64.b64encode(array.tobytes()).decode("ascii")
    return "(\n" + "".join(f'    "{text[i:i + 96]}"\n' for i in range(0, len(text), 96)) + ")"


def _indent(code: str, by: str = "    ") -> str:
    return "".join(by + line if line.strip() else line for line in code.splitlines(True))


def _value(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    if isinstance(v, (float, np.floating)):
        return _f(v)
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(_value(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    return repr(v)


# --------------------------------------------------------------------------- typed f(x, y)

def expression_to_torch(node) -> str:
    """A parsed surfaces.expression tree as torch source in x and y (tensors). Every operation is
    parenthesized; the conventions follow Descent Lab's: abs has the subgradient sign(u), min and
    max pass the gradient to the branch they pick (the first on a tie), u^w for a non-constant w is
    exp(w·log u)."""
    from surfaces.expression import Binary, Const, Unary, Var

    def tensor(n) -> str:  # torch functions need a tensor, not a Python float
        return f"torch.tensor({_f(n.value)})" if isinstance(n, Const) else emit(n)

    def emit(n) -> str:
        if isinstance(n, Const):
            return f"({_f(n.value)})" if n.value < 0 else _f(n.value)
        if isinstance(n, Var):
            return "xy"[n.index]
        if isinstance(n, Unary):
            if n.op == "neg":
                return f"(-{emit(n.arg)})"
            return f"torch.{n.op}({tensor(n.arg)})"
        if isinstance(n, Binary):
            if n.op in ("+", "-", "*", "/"):
                return f"({emit(n.left)} {n.op} {emit(n.right)})"
            if n.op == "^":
                if isinstance(n.right, Const):
                    p = n.right.value
                    if p == 0:
                        return "torch.ones_like(x)"
                    if p == 1:
                        return emit(n.left)
                    if p == 0.5:
                        return f"torch.sqrt({tensor(n.left)})"
                    return f"({emit(n.left)} ** {emit(n.right)})"
                return f"torch.exp({emit(n.right)} * torch.log({tensor(n.left)}))"
            if n.op in ("min", "max"):
                return f"pick_{n.op}({emit(n.left)}, {emit(n.right)})"
        raise ValueError(f"Cannot write this part of the function in torch: {n!r}")

    code = emit(node)
    if isinstance(node, Const):
        code = f"(0.0 * x + {code})"  # a constant loss is still a tensor of the weights
    return code


# --------------------------------------------------------------------------- the loss blocks

def _offsets_of(surface) -> np.ndarray:
    """The per-sample gradient offsets a_i of an analytic surface (its copies f(w) + a_i·w),
    read from the surface's gradient function and checked against its mini-batch gradients."""
    fn = surface.grad_fn
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    if "offsets" not in cells:
        raise ValueError(f"The surface {surface.name!r} does not expose its per-sample offsets")
    offsets = np.array(cells["offsets"].cell_contents, dtype=np.float64)
    w = np.asarray(surface.start, dtype=np.float64)
    full = surface.grad(w)
    for i in range(offsets.shape[0]):
        seen = surface.grad(w, np.array([i])) - full
        if not np.allclose(seen, offsets[i], rtol=1e-9, atol=1e-9 * (1 + np.abs(full).max())):
            raise ValueError(f"The offsets of surface {surface.name!r} do not match its gradients")
    return offsets


_ANALYTIC_LOSS = '''\
def loss(idx=None):
    """The full-batch loss f(w), or the mini-batch idx: the mean of the copies f(w) + a_i·w."""
    value = f(W[0], W[1])
    if idx is None:
        return value
    return value + torch.dot(W, OFFSETS[idx].mean(dim=0))
'''


def _analytic_block(config: Config, surface, start) -> tuple[str, str]:
    if surface.name == TYPED:
        from surfaces import expression

        expr = expression.parse(config.expression)  # ast + whitelist; nothing is evaluated
        body = "return " + expression_to_torch(expr.root)
        what = (f"The typed function f(x, y) = {expr.text} on the box {config.expr_bounds}, "
                f"translated from its parsed tree into torch operations.")
        helpers = ('''\
def pick_min(a, b):
    """min(a, b) whose gradient goes to the branch it picks (the first on a tie)."""
    a, b = torch.broadcast_tensors(torch.as_tensor(a), torch.as_tensor(b))
    return torch.where(a <= b, a, b)


def pick_max(a, b):
    """max(a, b) whose gradient goes to the branch it picks (the first on a tie)."""
    a, b = torch.broadcast_tensors(torch.as_tensor(a), torch.as_tensor(b))
    return torch.where(a >= b, a, b)


''')
    elif surface.name in _CLASSIC:
        from surfaces import analytic

        body = _CLASSIC[surface.name].format(stretch=_f(analytic.BOWL_STRETCH),
                                             width=_f(analytic.PLATEAU_WIDTH))
        what = f"{surface.title}: {surface.about}"
        helpers = ""
    else:
        raise ValueError(f"There is no torch form of the surface {surface.name!r} yet")
    offsets = _offsets_of(surface)
    two_pi = f"TWO_PI = {_TWO_PI}\n" if "TWO_PI" in body else ""
    code = (f'''\
{_comment(what)}
# Mini-batches: the loss is the mean of {surface.n_samples} copies f(w) + a_i·w whose offsets a_i
# sum to zero; the full batch is exactly f, a mini-batch adds the mean offset of its samples.
{two_pi}N_SAMPLES = {surface.n_samples}
OFFSETS = torch.tensor({_rows(offsets)})
W = torch.tensor({_floats(start)}, requires_grad=True)
PARAMS = [W]


{helpers}def f(x, y):
{_indent(body)}


{_ANALYTIC_LOSS}''')
    return code, surface.title


_DATA_LOSS = {
    "linear_regression": ("Linear regression ŷ = w·x + b with mean squared error",
                          "return ((W[0] * x + W[1] - y) ** 2).mean()"),
    "logistic_regression": ("Logistic regression p = sigmoid(w·x + b) with cross-entropy",
                            "return F.binary_cross_entropy_with_logits(W[0] * x + W[1], y)"),
    "two_weight_net": ("A network with one hidden unit, ŷ = w2·tanh(w1·x), with mean squared error",
                       "return ((W[1] * torch.tanh(W[0] * x) - y) ** 2).mean()"),
}


def _data_block(surface, start) -> tuple[str, str]:
    name = getattr(surface.model, "name", None)
    if name not in _DATA_LOSS:
        raise ValueError(f"There is no torch form of the data surface {surface.name!r} yet")
    words, body = _DATA_LOSS[name]
    x, y = surface.data
    code = (f'''\
{_comment(f"{words}, on its {len(x)} samples (embedded).")}
X_DATA = torch.tensor({_floats(x)})
Y_DATA = torch.tensor({_floats(y)})
N_SAMPLES = {len(x)}
W = torch.tensor({_floats(start)}, requires_grad=True)
PARAMS = [W]


def loss(idx=None):
    """The mean loss over all samples, or over the samples idx (a mini-batch)."""
    x, y = (X_DATA, Y_DATA) if idx is None else (X_DATA[idx], Y_DATA[idx])
{_indent(body)}
''')
    return code, surface.title


_ACTIVATION_MODULES = {"relu": "nn.ReLU()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()"}


def _network_block(config: Config, mlp) -> tuple[str, str]:
    layers = list(mlp.layers)
    parts = []
    for i, (n_in, n_out) in enumerate(zip(layers[:-1], layers[1:])):
        parts.append(f"nn.Linear({n_in}, {n_out})")
        if i < len(layers) - 2:
            parts.append(_ACTIVATION_MODULES[mlp.activation])
    model = "nn.Sequential(\n" + "".join(f"    {p},\n" for p in parts) + ")"
    X, y = mlp.X, mlp.y
    if mlp.task == "classification":
        targets = f"torch.tensor({_ints(y)}, dtype=torch.long)"
        criterion = "nn.CrossEntropyLoss()  # softmax + mean cross-entropy of the logits"
    else:
        targets = f"torch.tensor({_rows(y)})"
        criterion = "nn.MSELoss()  # mean squared error"
    title = (f"network {'-'.join(map(str, layers))} ({mlp.activation}) on {config.dataset}")
    code = (f'''\
# The {title}: {mlp.task}, {mlp.n_samples} samples (embedded), {mlp.d} weights.
# Descent Lab's flat weight vector is torch's model.parameters() order: W1 (row-major), b1, W2, ...
X_DATA = torch.tensor({_rows(X)})
Y_DATA = {targets}
N_SAMPLES = {mlp.n_samples}
MODEL = {model}.double()
CRITERION = {criterion}
START = floats_from_base64{_b64(mlp.start)}
with torch.no_grad():
    offset = 0
    for p in MODEL.parameters():
        p.copy_(torch.tensor(START[offset:offset + p.numel()]).reshape(p.shape))
        offset += p.numel()
PARAMS = list(MODEL.parameters())


def loss(idx=None):
    """The mean loss over all samples, or over the samples idx (a mini-batch)."""
    x, y = (X_DATA, Y_DATA) if idx is None else (X_DATA[idx], Y_DATA[idx])
    return CRITERION(MODEL(x), y)
''')
    return code, title


# --------------------------------------------------------------------------- training parts

def _optimizer_code(choice: RunChoice, lr: float) -> tuple[str, str]:
    name = PRESETS[choice.preset].optimizer
    if name not in TORCH_CLASSES:
        raise ValueError("not a torch optimizer, so there is no PyTorch script for it")
    cls = TORCH_CLASSES[name]
    hyper = to_torch_hyper(choice.hyper())
    args = ", ".join([f"lr={_f(lr)}"] + [f"{k}={_value(v)}" for k, v in hyper.items()]
                     + ([] if name in NO_FOREACH else ["foreach=False"]))
    return f"torch.optim.{cls}(params, {args})", cls


# Muon takes 2-D parameters only: the two weights become one 1×2 matrix, and the loss reads them
# through a view of it made at each evaluation (a view made once stops carrying gradients after
# the matrix is updated in place and read under no_grad).
_MUON_PARAMS = """\
W_MATRIX = W.detach().clone().reshape(1, 2).requires_grad_()  # Muon: 2-D parameters only
PARAMS = [W_MATRIX]
"""
_MUON_LOSS = '''

_loss_of_two_weights = loss


def loss(idx=None):
    """The loss with W read from Muon's 1×2 matrix, a fresh view at every evaluation."""
    global W
    W = W_MATRIX.view(2)
    return _loss_of_two_weights(idx)
'''

# Network-mode Muon is Muon's authors' recipe, as engine/muon_network.py trains it: one torch
# optimizer object (so the schedule, clipping and the training loop stay as for any other) that
# steps torch.optim.Muon and torch.optim.AdamW, sharing their param_groups with the scheduler.
_MUON_WITH_ADAMW = '''

class MuonWithAdamW(torch.optim.Optimizer):
    """torch.optim.Muon on each hidden layer's weight matrix, torch.optim.AdamW (torch's
    defaults, the same lr) on the biases and the output layer: Muon's authors' recipe."""

    def __init__(self, params, lr, **muon):
        params = list(params)
        hidden = [p for p in params[:-2] if p.ndim == 2]  # the last two are the output layer
        rest = [p for p in params if all(p is not h for h in hidden)]
        self.parts = [torch.optim.AdamW(rest, lr=lr, foreach=False)]
        if hidden:
            self.parts.append(torch.optim.Muon(hidden, lr=lr, **muon))
        super().__init__(params, {"lr": lr})
        # a scheduler sets each inner optimizer's lr through these shared groups
        self.param_groups = [g for part in self.parts for g in part.param_groups]

    def step(self, closure=None):
        value = None
        if closure is not None:
            with torch.enable_grad():
                value = closure()
        for part in self.parts:
            part.step()
        return value
'''


def _run_settings(config: Config, choice: RunChoice) -> tuple:
    """(batch size, clip, schedule) of one run exactly as lab.runs trains it: the run's own
    settings, or the page's."""
    return (lab_runs.batch_size(config, choice), lab_runs.make_clip(config, choice),
            lab_runs.make_schedule(config, choice))


def _schedule_code(sched) -> tuple[str, str]:
    """An engine schedule as torch.optim.lr_scheduler code, and its words."""
    if sched is None:
        return "None", "constant learning rate"
    h, name = sched.hyper, sched.name
    if name == "step":
        inner = f"StepLR(opt, step_size={h['step_size']}, gamma={_f(h['gamma'])})"
    elif name == "exponential":
        inner = f"ExponentialLR(opt, gamma={_f(h['gamma'])})"
    elif name == "cosine":
        inner = f"CosineAnnealingLR(opt, T_max={h['T_max']}, eta_min={_f(h['eta_min'])})"
    elif name == "constant":
        inner = None
    else:
        raise ValueError(f"There is no torch form of the schedule {name!r} yet")
    words = "constant" if inner is None else inner.replace("opt, ", "")
    warmup = h["warmup"]
    if warmup == 0:
        return f"torch.optim.lr_scheduler.{inner}", words
    linear = f"LinearLR(opt, start_factor={_f(h['start_factor'])}, end_factor=1.0, total_iters={warmup})"
    if inner is None:
        return (f"torch.optim.lr_scheduler.{linear}",
                f"linear warm-up over {warmup} epochs, then constant")
    return (f"torch.optim.lr_scheduler.SequentialLR(\n"
            f"        opt, [torch.optim.lr_scheduler.{linear},\n"
            f"              torch.optim.lr_scheduler.{inner}],\n"
            f"        milestones=[{warmup}])",
            f"linear warm-up over {warmup} epochs, then {words}")


def _clip_code(clip) -> tuple[str, str]:
    if clip is None:
        return "pass", "no gradient clipping"
    kind, limit = clip
    if kind == "norm":
        return (f"torch.nn.utils.clip_grad_norm_(params, max_norm={_f(limit)}, foreach=False)",
                f"clip_grad_norm_({limit:g})")
    return (f"torch.nn.utils.clip_grad_value_(params, clip_value={_f(limit)}, foreach=False)",
            f"clip_grad_value_({limit:g})")


def _choice_of(config: Config, run) -> RunChoice:
    if isinstance(run, RunChoice):
        return run
    choice = getattr(run, "choice", None)  # a lab.runs.RunResult or NetRun
    if isinstance(choice, RunChoice):
        return choice
    if isinstance(run, (int, np.integer)) and not isinstance(run, bool):
        if not 0 <= run < len(config.runs):
            raise IndexError(f"Run {run} is out of range: this configuration has "
                             f"{len(config.runs)} run(s), numbered 0 to {len(config.runs) - 1}")
        return config.runs[int(run)]
    raise TypeError(f"run must be a run index, a RunChoice or a run result; got {run!r}")


def _replay(config: Config, choice: RunChoice, run):
    """The run as lab.runs trains it (or as given, for a run result of the page), the weights it
    started from, and each epoch's sample order, drawn by engine.train's own epoch_batches from
    numpy's default_rng(seed) (one permutation per epoch, cut into consecutive batches)."""
    if config.mode == "network":
        model = build_mlp(config)
        start = np.array(model.start, dtype=np.float64)
    else:
        model = config.surface_obj()
        start = np.array(config.start_point(), dtype=np.float64)
    trajectory = getattr(run, "trajectory", None)
    if trajectory is None:
        error = getattr(run, "error", None)
        if error:
            raise ValueError(error)
        trajectory = collect(lab_runs.stream_run(config, choice, model, start))
    batch = check_batch_size(model, _run_settings(config, choice)[0])
    orders = []
    if batch is not None:  # the engine's own draw, epoch by epoch: the batches, put end to end
        rng = np.random.default_rng(config.seed)
        orders = [[int(i) for b in epoch_batches(rng, int(model.n_samples), batch) for i in b]
                  for _ in range(len(trajectory.loss) - 1)]
    return model, start, trajectory, orders, float(choice.lr(config.learning_rate))


# --------------------------------------------------------------------------- the script

_SCRIPT = Template('''\
#!/usr/bin/env python3
"""$title

Generated by Descent Lab from the page link
    ?$query

This file trains the same run with PyTorch: the same loss written with torch operations, the
same start, torch.optim.$cls with the same hyperparameters, the same learning-rate schedule and
gradient clipping, and the same mini-batches (Descent Lab's seeded sample order is embedded
below, one index list per epoch). It trains in float64, compares every epoch's weights with the
trajectory Descent Lab computed (also embedded), prints the largest difference, and exits with
status 0 when it is within $tolerance.

Above that limit, it asks whether the run is chaotic: it trains torch a second time from a start
one ulp away (each weight moved to the next float64 up). Past the edge of stability any two
float64 implementations separate, torch against itself included, so when torch's own gap also
passes $tolerance the script reports agreement up to the epoch where it does, then the ratio of
Descent Lab's difference to torch's own, and exits 1 only when Descent Lab leaves torch sooner
or further than torch leaves itself: when at some epoch its gap passes both $tolerance and
$self_factor times torch's own largest gap so far (Descent Lab rounds differently at every step,
not once at the start, so its gap may run a small factor ahead). When torch's own gap stays
within $tolerance, the strict limit holds and the script exits 1.

    python this_file.py [--out torch_trajectory.json]

--out FILE also writes torch's own trajectory: {"params": [[...], ...], "loss": [...]}, one row
per epoch, row 0 the start (a number that is not finite is written as null).
"""
import argparse
import base64
import json
import math
import struct
import sys
import warnings

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:
    sys.exit("This script needs PyTorch (pip install torch); it is not installed here.")

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)  # tiny tensors: threads would only add overhead
# Passing an epoch to SequentialLR's inner scheduler is torch's own doing; its warning is noise.
warnings.filterwarnings("ignore", category=UserWarning, module="torch.optim.lr_scheduler")
TOLERANCE = $tolerance
SELF_FACTOR = $self_factor  # how far past torch's own one-ulp gap our gap may run (chaotic runs)
DESCRIPTION = $description


def floats_from_base64(*parts):
    """float64 values stored exactly as little-endian base64 text."""
    data = base64.b64decode("".join(parts))
    return list(struct.unpack("<%dd" % (len(data) // 8), data))


# ---- the loss --------------------------------------------------------------------------------
$loss_block

# ---- optimizer, learning-rate schedule, clipping ---------------------------------------------
def make_optimizer(params):
    return $optimizer


def make_scheduler(opt):
    """Stepped once at the end of every epoch; $schedule_words."""
    return $scheduler


def clip(params):
    """Gradient clipping between the backward pass and the optimizer step: $clip_words."""
    $clip


# ---- Descent Lab's run: mini-batches, divergence box, trajectory -----------------------------
# None: the full batch, one step per epoch on the exact gradient. Otherwise each epoch's order
# (below) is cut into consecutive batches of this size, ceil(n / batch) steps per epoch.
BATCH_SIZE = $batch
# A run diverges when a weight leaves this box (or stops being a number); the epoch stops there.
LOWER = torch.tensor($lower)
UPPER = torch.tensor($upper)
ORDERS = $orders
OUR_STATUS = "$status"
DIVERGED_EPOCH = $diverged
OUR_LR = $our_lr
OUR_LOSS = $our_loss
OUR_PARAMS = $our_params


def weights():
    return torch.cat([p.detach().reshape(-1) for p in PARAMS])


def full_loss():
    with torch.no_grad():
        return float(loss(None))


def outside(w):
    return not bool(((w >= LOWER) & (w <= UPPER)).all())


def train():
    """torch's run: one row of weights, loss and learning rate per epoch, row 0 the start."""
    opt = make_optimizer(PARAMS)
    sched = make_scheduler(opt)
    rows, losses, lrs = [weights().tolist()], [full_loss()], [opt.param_groups[0]["lr"]]
    for epoch in range(1, len(OUR_PARAMS)):
        lr = opt.param_groups[0]["lr"]
        if BATCH_SIZE is None:
            batches = [None]
        else:
            order = torch.tensor(ORDERS[epoch - 1], dtype=torch.long)
            batches = [order[i:i + BATCH_SIZE] for i in range(0, len(order), BATCH_SIZE)]
        for idx in batches:
            def closure(idx=idx):
                """Forward, loss, backward, clipping: L-BFGS calls it at every point it tries."""
                opt.zero_grad()
                value = loss(idx)
                value.backward()
                clip(PARAMS)
                return value

            opt.step(closure)
            if outside(weights()):
                break
        if sched is not None:
            sched.step()
        rows.append(weights().tolist())
        losses.append(full_loss())
        lrs.append(lr)
    return rows, losses, lrs


def largest_difference(rows, ours, last):
    """The largest |torch − Descent Lab| over epochs 0..last and every weight, and its epoch."""
    worst, at = 0.0, 0
    for epoch in range(last + 1):
        for a, b in zip(rows[epoch], ours[epoch]):
            d = abs(a - b)
            if not d <= worst:  # a NaN counts as infinitely far
                worst, at = (d if d == d else math.inf), epoch
    return worst, at


def gaps(rows, other, last):
    """The largest |a − b| over the weights at each epoch 0..last (a NaN counts as infinite)."""
    out = []
    for epoch in range(last + 1):
        worst = 0.0
        for a, b in zip(rows[epoch], other[epoch]):
            d = abs(a - b)
            if not d <= worst:
                worst = d if d == d else math.inf
        out.append(worst)
    return out


def first_above(values, limit):
    """The first epoch whose gap passes the limit, or None."""
    return next((epoch for epoch, v in enumerate(values) if not v <= limit), None)


def set_weights(flat):
    with torch.no_grad():
        offset = 0
        for p in PARAMS:
            p.copy_(torch.tensor(flat[offset:offset + p.numel()]).reshape(p.shape))
            offset += p.numel()


def chaos_check(rows, last):
    """torch against itself: trained again from a start one ulp away. Returns 0 when Descent
    Lab's difference from torch stays within SELF_FACTOR times torch's own (it leaves neither
    sooner nor further), else 1; prints both."""
    ours = gaps(rows, OUR_PARAMS, last)
    start = rows[0]
    set_weights([math.nextafter(v, math.inf) for v in start])
    again, _, _ = train()
    set_weights(start)
    own = gaps(rows, again, last)
    ours_at, own_at = first_above(ours, TOLERANCE), first_above(own, TOLERANCE)
    print("Is the run chaotic? torch trained again from a start one ulp away (every weight moved "
          "to the next float64 up):")
    if own_at is None:
        print(f"  torch against itself stays within {TOLERANCE:g} over epochs 0 to {last} "
              f"(largest {max(own):.3g}): the run is not chaotic, so the strict limit holds.")
        print(f"Descent Lab agrees with torch to {TOLERANCE:g} up to epoch {ours_at - 1}."
              if ours_at else "Descent Lab differs from torch from epoch 0.")
        print("They DO NOT agree to the limit.")
        return 1
    print(f"  torch against itself passes {TOLERANCE:g} at epoch {own_at} and reaches {max(own):.3g}: "
          f"the run is chaotic, and past that epoch no two float64 implementations can agree.")
    print(f"Descent Lab agrees with torch to {TOLERANCE:g} up to epoch "
          f"{last if ours_at is None else ours_at - 1}"
          + (f" and passes it at epoch {ours_at}." if ours_at is not None else "."))
    # The figure printed is the one the test below judges: our gap over torch's largest own gap
    # so far (the gap at the same epoch can dip near zero while ours does not, a ratio of 11
    # that the test rightly passes, and a reader rightly takes for a failure).
    envelopes = [max(own[:e + 1]) for e in range(len(own))]
    after = [(o / w if w > 0 else math.inf, e) for e, (o, w) in enumerate(zip(ours, envelopes))
             if e >= own_at]
    top, top_at = max(after)
    print(f"From epoch {own_at} on, Descent Lab's gap over torch's largest own gap so far: at most "
          f"{top:.3g} (epoch {top_at}), {after[-1][0]:.3g} at epoch {last}; largest gaps "
          f"{max(ours):.3g} (Descent Lab) and {max(own):.3g} (torch against itself).")
    # Our arithmetic rounds differently at every step, not only once at the start, so our gap
    # runs a small factor ahead of the one-ulp gap (about 2 on the README's edge-of-stability
    # link). A different rule is a gap far above 1e-10 long before torch's own grows.
    envelope, sooner, further = 0.0, None, None
    for epoch, (o, w) in enumerate(zip(ours, own)):
        envelope = max(envelope, w)
        if not o <= max(TOLERANCE, SELF_FACTOR * envelope):
            if envelope <= TOLERANCE:
                sooner = epoch if sooner is None else sooner
            else:
                further = epoch if further is None else further
    print(f"The test: at every epoch Descent Lab's gap stays within {SELF_FACTOR:g} times the "
          f"largest gap of torch against itself so far (or within {TOLERANCE:g}).")
    if sooner is not None or further is not None:
        words = [w for w in ((f"sooner (epoch {sooner})" if sooner is not None else ""),
                             (f"further (epoch {further})" if further is not None else "")) if w]
        print(f"Descent Lab leaves torch {' and '.join(words)} than torch leaves itself: "
              f"they DO NOT agree.")
        return 1
    lead = "" if ours_at is None else (f"passes {TOLERANCE:g} {own_at - ours_at} epoch(s) before torch's own "
                                       f"gap does, and " if ours_at < own_at else
                                       f"passes {TOLERANCE:g} no sooner than torch's own gap, and ")
    print(f"Descent Lab {lead}its largest gap is {max(ours) / max(own):.3g} times torch's own: "
          f"within the factor {SELF_FACTOR:g} of torch against itself at every epoch, so it "
          f"leaves torch no sooner and no further than float64 rounding makes torch leave itself. "
          f"They agree as far as float64 allows.")
    return 0


def _json_number(v):
    return v if math.isfinite(v) else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--out", metavar="FILE", help="write torch's trajectory as JSON")
    args = parser.parse_args(argv)
    rows, losses, lrs = train()
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"params": [[_json_number(v) for v in r] for r in rows],
                       "loss": [_json_number(v) for v in losses]}, fh)
    last = len(OUR_PARAMS) - 1
    print(DESCRIPTION)
    print(f"torch {torch.__version__}, float64, {last} epoch(s).")
    if OUR_STATUS == "converged":
        print(f"Descent Lab's run converged at epoch {last} (its full-batch gradient norm fell below "
              f"1e-8) and stopped there; torch trains the same {last} epoch(s).")
    if DIVERGED_EPOCH is not None:
        last = DIVERGED_EPOCH - 1
        w = rows[DIVERGED_EPOCH]
        torch_too = outside(torch.tensor(w)) or not math.isfinite(losses[DIVERGED_EPOCH]) \\
            or losses[DIVERGED_EPOCH] >= 1e100
        print(f"Descent Lab's run diverged at epoch {DIVERGED_EPOCH}: its weights left the box or "
              f"its loss stopped being a readable number. Epochs 0 to {last} are compared, before "
              f"the divergence; at epoch {DIVERGED_EPOCH} torch's loss is {losses[DIVERGED_EPOCH]:.6g}"
              f" ({'it diverged too' if torch_too else 'it did NOT diverge there'}).")
    worst, at = largest_difference(rows, OUR_PARAMS, last)
    lr_gap = max(abs(a - b) / (abs(b) or 1.0) for a, b in zip(lrs[:last + 1], OUR_LR[:last + 1]))
    loss_gap = max((abs(a - b) / max(1.0, abs(b)) for a, b in zip(losses[:last + 1], OUR_LOSS[:last + 1])
                    if math.isfinite(b)), default=0.0)
    print(f"Largest difference between torch's weights and Descent Lab's: {worst:.3g} "
          f"(epoch {at}); the limit is {TOLERANCE:g}.")
    print(f"Largest relative difference of the learning rate: {lr_gap:.3g}; of the loss: {loss_gap:.3g}.")
    if worst <= TOLERANCE:
        print("They agree.")
        return 0
    return chaos_check(rows, last)


if __name__ == "__main__":
    sys.exit(main())
''')


def torch_script(config: Config, run=0) -> str:
    """One self-contained PyTorch script for a run of the page: `run` is the run's index in
    config.runs (0-based), its RunChoice, or its result from lab.runs. The run is replayed in the
    engine here, so the script carries the engine's exact mini-batches and trajectory. Raises
    ValueError when the run cannot be built (a bad hyperparameter or layer size, with the page's
    words) or when its surface has no torch form."""
    choice = _choice_of(config, run)
    model, start, trajectory, orders, lr = _replay(config, choice, run)
    if config.mode == "network":
        loss_block, subject = _network_block(config, model)
    elif model.kind == "data":
        loss_block, subject = _data_block(model, start)
    else:
        loss_block, subject = _analytic_block(config, model, start)
    optimizer, cls = _optimizer_code(choice, lr)
    if cls == "Muon" and config.mode == "network":  # the recipe the page trains (engine/muon_network.py)
        optimizer = optimizer.replace("torch.optim.Muon(", "MuonWithAdamW(", 1)
        loss_block += _MUON_WITH_ADAMW
        cls = "Muon on the hidden weight matrices, torch.optim.AdamW on the rest"
    elif cls == "Muon":
        loss_block = loss_block.replace("PARAMS = [W]\n", _MUON_PARAMS, 1) + _MUON_LOSS
    batch, clip_setting, schedule = _run_settings(config, choice)
    scheduler, schedule_words = _schedule_code(schedule)
    clip, clip_words = _clip_code(clip_setting)
    n = int(model.n_samples)
    batch = batch if batch not in (None, n) else None
    lower, upper = (np.atleast_1d(v).tolist() for v in far_limits(model))
    params = np.asarray(trajectory.params, dtype=np.float64)
    diverged = trajectory.diverged_epoch
    if config.mode == "network":
        our_params = (f"(lambda flat: [flat[i * {model.d}:(i + 1) * {model.d}] "
                      f"for i in range({len(params)})])(floats_from_base64{_b64(params)})")
    else:
        our_params = _rows(params)
    batch_words = "full batch" if batch is None else f"batch size {batch} of {n}"
    description = (f"{choice.label} (torch.optim.{cls}, lr={lr:g}) on {subject}: "
                   f"{config.epochs} epochs, {batch_words}, seed {config.seed}, "
                   f"{schedule_words}, {clip_words}.")
    query = urlencode(to_query(config))
    return _SCRIPT.substitute(
        title="\n".join(textwrap.wrap(f"Descent Lab, replayed in PyTorch: {description}", 96)),
        query=query,
        cls=cls,
        tolerance=repr(TOLERANCE),
        self_factor=f"{SELF_FACTOR:g}",
        description=repr(description),
        loss_block=loss_block,
        optimizer=optimizer,
        scheduler=scheduler,
        schedule_words=schedule_words,
        clip=clip,
        clip_words=clip_words,
        batch=repr(batch),
        lower=_floats(lower),
        upper=_floats(upper),
        orders="[\n" + "".join(f"    {_ints(o)},\n" for o in orders) + "]" if orders else "[]",
        status=trajectory.status,
        diverged=repr(diverged),
        our_lr=_floats(trajectory.lr),
        our_loss=_floats(trajectory.loss),
        our_params=our_params,
    )
