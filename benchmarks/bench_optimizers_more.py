"""One step of each turn-3 family (Rprop, ASGD, Adafactor, Muon, L-BFGS) beside torch's own step,
timed in the same run on Rosenbrock's two weights; Newton beside Adam (torch has no Newton)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import surfaces  # noqa: E402
from bench_engine import timed  # noqa: E402
from engine import optimizers  # noqa: E402

SURFACE = surfaces.get("rosenbrock")
START = np.array([-1.5, 2.0])
STEPS = 200  # steps per timed call: the figure is a median call over STEPS
FAMILIES = {"rprop": {}, "asgd": {"lr": 1e-3}, "adafactor": {}, "muon": {"lr": 0.01},
            "lbfgs": {"max_iter": 1}, "lbfgs_strong_wolfe": {"max_iter": 1, "line_search_fn": "strong_wolfe"}}


def _ours(name: str, hyper: dict):
    opt = optimizers.create(name.split("_")[0], **hyper)

    def objective(w):
        return float(SURFACE.loss(w)), SURFACE.grad(w)

    def run():
        p, state = START.copy(), opt.init(START)
        for _ in range(STEPS):
            if opt.step is None:
                p, state = opt.update(p, SURFACE.grad(p), state)
            else:
                p, state = opt.step(p, objective, state)
        return p

    return run


def _torch(name: str, hyper: dict):
    import torch

    cls = {"rprop": torch.optim.Rprop, "asgd": torch.optim.ASGD, "adafactor": torch.optim.Adafactor,
           "muon": torch.optim.Muon, "lbfgs": torch.optim.LBFGS}[name.split("_")[0]]

    def run():
        torch.set_default_dtype(torch.float64)
        w = torch.tensor(START.reshape(1, 2) if name == "muon" else START, requires_grad=True)
        opt = cls([w], **hyper)

        def closure():
            point = w.detach().numpy().reshape(2)
            w.grad = torch.tensor(SURFACE.grad(point).reshape(w.shape))
            return torch.tensor(float(SURFACE.loss(point)))

        for _ in range(STEPS):
            opt.step(closure)
        return w.detach().numpy().reshape(2)

    return run


def main() -> dict:
    try:
        import torch  # noqa: F401
    except ImportError as err:
        return {"skipped": f"torch is not installed: {err}"}
    out = {}
    for name, hyper in FAMILIES.items():
        ours_s, ours_p = timed(_ours(name, hyper), 5)
        theirs_s, theirs_p = timed(_torch(name, hyper), 5)
        out[name] = {"step_us": round(ours_s / STEPS * 1e6, 1),
                     "reference_torch_step_us": round(theirs_s / STEPS * 1e6, 1),
                     "same_weights_after_steps": bool(np.array_equal(ours_p, theirs_p)),
                     "steps": STEPS}
    adam = optimizers.create("adam", lr=0.01)
    newton = optimizers.create("newton", lr=0.5)

    class Objective:
        def __call__(self, w):
            return SURFACE.loss(w), SURFACE.grad(w)

        def hessian(self, w):
            return SURFACE.hessian(w)

    def newton_run():
        p, state = START.copy(), newton.init(START)
        for _ in range(STEPS):
            p, state = newton.step(p, Objective(), state)

    def adam_run():
        p, state = START.copy(), adam.init(START)
        for _ in range(STEPS):
            p, state = adam.update(p, SURFACE.grad(p), state)

    out["newton"] = {"step_us": round(timed(newton_run, 5)[0] / STEPS * 1e6, 1),
                     "reference_adam_step_us": round(timed(adam_run, 5)[0] / STEPS * 1e6, 1),
                     "note": "not a torch optimizer: beside the engine's Adam step"}
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
