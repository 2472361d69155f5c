"""Rprop, ASGD, Adafactor, Muon, LBFGS and Newton: hand-worked steps from the documented rules,
torch 2.13 step for step on Rosenbrock, Beale and Himmelblau, and torch's validation."""

import math
import os

import numpy as np
import pytest

import surfaces
from engine import collect, optimizers, train
from engine.rounding import fma, newton_schulz_row, round_bf16

try:
    import torch
except ImportError:  # the [torch] extra is not installed
    torch = None

IN_CI = os.environ.get("CI", "").lower() == "true"
needs_torch = pytest.mark.skipif(torch is None and not IN_CI,
                                 reason="torch is not installed (pip install -e .[torch])")

SURFACES = ["rosenbrock", "beale", "himmelblau"]

TORCH_SETS = {
    "rprop": [dict(lr=0.01), dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-4, 0.5)),
              dict(lr=0.002, etas=(0.7, 1.1), step_sizes=(1e-6, 50.0), maximize=False)],
    "asgd": [dict(lr=1e-3), dict(lr=5e-4, lambd=1e-2, alpha=0.5, t0=5.0, weight_decay=0.01),
             dict(lr=2e-3, lambd=0.1, alpha=1.0, t0=0.0)],
    "adafactor": [dict(lr=0.01), dict(lr=0.05, beta2_decay=-0.5, eps=(1e-6, 1e-2), d=2.0,
                                      weight_decay=0.01),
                  dict(lr=0.2, beta2_decay=-1.0, eps=(None, 1e-3), d=1.0)],
    "muon": [dict(lr=0.01), dict(lr=0.02, momentum=0.8, nesterov=False, weight_decay=0.0,
                                 adjust_lr_fn="match_rms_adamw"),
             dict(lr=0.005, momentum=0.3, ns_coefficients=(2.0, -1.5, 0.5), ns_steps=3,
                  adjust_lr_fn="original", eps=1e-5)],
    "lbfgs": [dict(), dict(line_search_fn="strong_wolfe"),
              dict(lr=0.5, max_iter=5, history_size=3),
              dict(lr=0.8, max_iter=7, max_eval=9, history_size=2, line_search_fn="strong_wolfe",
                   tolerance_change=1e-12, tolerance_grad=1e-9)],
}
TORCH_CASES = [(name, i) for name, sets in TORCH_SETS.items() for i in range(len(sets))]


# --------------------------------------------------------------------------- torch, run here

def torch_run(name, hyper, surface, epochs):
    """torch.optim's trajectory on the surface's own loss and exact gradient (so the optimizer
    rule is the only thing compared), full batch, one step(closure) per epoch; with the number
    of closure calls so far at each epoch."""
    torch.set_default_dtype(torch.float64)
    cls = {"rprop": torch.optim.Rprop, "asgd": torch.optim.ASGD, "adafactor": torch.optim.Adafactor,
           "muon": torch.optim.Muon, "lbfgs": torch.optim.LBFGS}[name]
    start = np.asarray(surface.start, dtype=np.float64)
    w = torch.tensor(start.reshape(1, 2) if name == "muon" else start, requires_grad=True)
    opt = cls([w], **hyper)
    calls = [0]

    def closure():
        calls[0] += 1
        point = w.detach().numpy().reshape(2)
        w.grad = torch.tensor(surface.grad(point).reshape(w.shape))
        return torch.tensor(float(surface.loss(point)))

    path, evals, averaged = [start.copy()], [0], [start.copy()]
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            if name == "lbfgs":
                opt.step(closure)
            else:
                closure()
                opt.step()
            path.append(w.detach().numpy().reshape(2).copy())
            evals.append(calls[0])
            if name == "asgd":
                averaged.append(opt.state[w]["ax"].numpy().copy())
            if not np.all(np.isfinite(path[-1])):
                break
    return np.array(path), np.array(evals), np.array(averaged)


def engine_run(name, hyper, surface, epochs):
    return list(train(surface, optimizers.create(name, **hyper), epochs=epochs))


@needs_torch
@pytest.mark.parametrize("surface_name", SURFACES)
@pytest.mark.parametrize("name, which", TORCH_CASES, ids=[f"{n}-{i}" for n, i in TORCH_CASES])
def test_matches_torch_step_for_step(name, which, surface_name):
    hyper = TORCH_SETS[name][which]
    surface = surfaces.get(surface_name)
    epochs = 12 if name == "lbfgs" else 60
    expected, evals, averaged = torch_run(name, hyper, surface, epochs)
    records = engine_run(name, hyper, surface, epochs)
    ours = np.array([r.params for r in records])
    n = len(ours)  # the engine stops a converged or diverged run; torch's rows beyond are not compared
    assert n >= 2
    tol = 1e-10 if name == "lbfgs" else 1e-12
    np.testing.assert_allclose(ours, expected[:n], rtol=0, atol=tol * max(1.0, np.abs(expected[:n]).max()))
    if name == "lbfgs":
        assert [r.evals for r in records] == evals[:n].tolist()
    if name == "asgd":
        np.testing.assert_allclose(np.array([r.averaged for r in records]), averaged[:n], rtol=0, atol=tol)
