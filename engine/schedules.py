"""Learning-rate schedules as pure functions of the epoch, following torch.optim.lr_scheduler.

A schedule is stepped once per epoch, as ``scheduler.step()`` is at the end of each epoch in
torch: ``sched(epoch, base_lr)`` is the lr used during epoch ``epoch`` (0-based), and epoch 0 uses
``base_lr`` unless there is a warmup. The values are torch's closed forms
(``_get_closed_form_lr``). torch's ``step()`` computes most of them recursively from the previous
lr, which gives the same numbers up to rounding (about 1e-16 relative per epoch).

    >>> sched = create("cosine", T_max=100, eta_min=0.0, warmup=5)
    >>> [round(sched(e, 0.1), 4) for e in (0, 4, 5, 55, 105)]
    [0.0333, 0.0867, 0.1, 0.05, 0.0]
"""
from __future__ import annotations

import inspect
import math
import numbers
from typing import Callable, NamedTuple


class Schedule(NamedTuple):
    """A named schedule: ``sched(epoch, base_lr) -> lr``; ``hyper`` holds every setting."""

    name: str
    hyper: dict
    lr_at: Callable[[int, float], float]

    def __call__(self, epoch: int, base_lr: float) -> float:
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"Invalid epoch: {epoch!r}; epoch must be an integer >= 0")
        if not 0.0 < base_lr < math.inf:
            raise ValueError(f"Invalid learning rate: {base_lr}")
        return float(self.lr_at(int(epoch), float(base_lr)))


def _real(name, value, ok, requirement) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not ok(float(value)):
        raise ValueError(f"Invalid {name} value: {value!r}; {name} must be {requirement}")
    return float(value)


def _count(name, value, low) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"Invalid {name} value: {value!r}; {name} must be an integer >= {low}")
    return int(value)


def constant() -> Callable[[int, float], float]:
    """The base lr throughout (torch: no scheduler)."""
    return lambda epoch, base_lr: base_lr


def step(step_size, gamma=0.1) -> Callable[[int, float], float]:
    """StepLR: base_lr · gamma^(epoch // step_size)."""
    step_size = _count("step_size", step_size, 1)
    gamma = _real("gamma", gamma, lambda x: x > 0, "finite and > 0")
    return lambda epoch, base_lr: base_lr * gamma ** (epoch // step_size)


def exponential(gamma) -> Callable[[int, float], float]:
    """ExponentialLR: base_lr · gamma^epoch."""
    gamma = _real("gamma", gamma, lambda x: x > 0, "finite and > 0")
    return lambda epoch, base_lr: base_lr * gamma**epoch


def cosine(T_max, eta_min=0.0) -> Callable[[int, float], float]:
    """CosineAnnealingLR: eta_min + (base_lr − eta_min)·(1 + cos(π·epoch/T_max))/2.

    This is torch's closed form; past T_max it keeps following the cosine back up, as torch's
    does (no restart and no clamping). torch's step() uses a recursive form with the same values
    up to rounding.
    """
    T_max = _count("T_max", T_max, 1)
    eta_min = _real("eta_min", eta_min, lambda x: x >= 0, "finite and >= 0")
    return lambda epoch, base_lr: eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2


_FACTORIES = {"constant": constant, "step": step, "exponential": exponential, "cosine": cosine}


def names() -> list[str]:
    """The schedule names."""
    return list(_FACTORIES)


def create(name: str, warmup=0, start_factor=1 / 3, **hyper) -> Schedule:
    """The named schedule, optionally after a linear warmup of ``warmup`` epochs.

    ``warmup=N`` is torch's ``SequentialLR([LinearLR(opt, start_factor, total_iters=N), inner],
    milestones=[N])``: during epochs 0..N−1 the lr is base_lr·(s + (1 − s)·epoch/N), ramping from
    s·base_lr towards base_lr; from epoch N the inner schedule runs as if epoch N were its epoch 0.
    ``start_factor`` s defaults to LinearLR's 1/3 and must be in (0, 1].

    Keywords: step(step_size, gamma=0.1), exponential(gamma), cosine(T_max, eta_min=0.0).
    """
    try:
        factory = _FACTORIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown schedule {name!r}; choose one of: {', '.join(_FACTORIES)}") from None
    signature = inspect.signature(factory).parameters
    accepted = list(signature)
    unknown = [k for k in hyper if k not in accepted]
    if unknown:
        raise ValueError(f"Unknown setting {unknown[0]!r} for schedule {name}; accepted: "
                         f"{', '.join(accepted + ['warmup', 'start_factor'])}")
    missing = [k for k, p in signature.items() if p.default is p.empty and k not in hyper]
    if missing:
        raise ValueError(f"Schedule {name!r} needs {missing[0]}")
    inner = factory(**hyper)
    warmup = _count("warmup", warmup, 0)
    start_factor = _real("start_factor", start_factor, lambda x: 0 < x <= 1, "in (0, 1]")
    settings = {k: hyper.get(k, p.default) for k, p in signature.items()}
    settings.update(warmup=warmup, start_factor=start_factor)

    if warmup == 0:
        return Schedule(name, settings, inner)

    def lr_at(epoch: int, base_lr: float) -> float:
        if epoch < warmup:
            return base_lr * (start_factor + (1.0 - start_factor) * epoch / warmup)
        return inner(epoch - warmup, base_lr)

    return Schedule(name, settings, lr_at)
