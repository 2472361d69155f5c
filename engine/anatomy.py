"""The anatomy of one training step: the forward pass, loss, backward pass and update with the
very numbers the engine used, found by replaying the run with `engine.train.trace`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.train import Step, trace

def replay_step(surface, opt, *, epoch: int, index: int = 0, epochs: int, batch_size=None,
                start=None, seed: int = 0, clip=None, schedule=None) -> Step | None:
    """The `index`-th step of epoch `epoch` (1-based) of this run, exactly as the engine took it;
    None when the run stopped before that step."""
    for item in trace(surface, opt, epochs=epochs, batch_size=batch_size, start=start, seed=seed,
                      clip=clip, schedule=schedule):
        if isinstance(item, Step) and item.epoch == epoch and item.index == index:
            return item
        if not isinstance(item, Step) and item.epoch >= epoch:
            return None
    return None


def state_buffers(state) -> dict[str, np.ndarray]:
    """The optimizer's per-weight buffers in `state`, by their field names (step counters and
    scalars left out)."""
    out = {}
    for name in getattr(state, "_fields", ()):
        value = getattr(state, name)
        if isinstance(value, np.ndarray) and value.ndim >= 1:
            out[name] = value
    return out


@dataclass(frozen=True)
class SampleView:
    """One sample of the mini-batch through a data model: the forward pass, its loss and every
    chain-rule factor of the backward pass, with the batch's mean gradient beside it."""

    index: int
    forward: dict[str, float]
    sample_loss: float
    batch_loss: float
    factors: dict[str, float]
    sample_grad: np.ndarray
    batch_grad: np.ndarray


def sample_view(surface, step: Step, sample: int | None = None) -> SampleView | None:
    """Push one sample of `step`'s mini-batch through the surface's model (data surfaces only)."""
    model = getattr(surface, "model", None)
    if model is None or surface.data is None:
        return None
    x, y = surface.data
    batch = np.arange(surface.n_samples) if step.batch is None else np.asarray(step.batch)
    i = int(batch[0] if sample is None else sample)
    cache = model.forward(step.params, x[batch])
    factors = model.backward(cache, y[batch])
    position = int(np.flatnonzero(batch == i)[0])
    per_sample_loss = model.loss(cache, y[batch])

    def pick(value):
        value = np.asarray(value)
        return float(value[..., position]) if value.ndim and value.shape[-1] == len(batch) else None

    forward = {k: pick(v) for k, v in cache.items() if not k.startswith("_")}
    forward = {k: v for k, v in forward.items() if v is not None}
    forward["y"] = float(y[i])
    chain = {k: pick(v) for k, v in factors.items() if k != "grad"}
    chain = {k: v for k, v in chain.items() if v is not None}
    sample_cache = model.forward(step.params, x[i:i + 1])
    sample_grad = np.asarray(model.backward(sample_cache, y[i:i + 1])["grad"])
    return SampleView(i, forward, float(per_sample_loss[..., position]),
                      float(np.mean(per_sample_loss)), chain, sample_grad,
                      np.asarray(factors["grad"]))
