"""Speed of exploring at scale (engine.sweep, surfaces.expression) as JSON, each figure beside a
reference measured in the same run: the same runs one by one through engine.train, or the
registered closed form."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import surfaces  # noqa: E402
from engine import collect, optimizers, train  # noqa: E402
from engine.sweep import DEFAULT_LRS, basins, lr_sweep  # noqa: E402
from surfaces.expression import make_surface, parse  # noqa: E402
from bench_engine import best_of as median_time  # noqa: E402


def _one_by_one(surface, name, lrs, starts, epochs) -> float:
    """Seconds for engine.train runs (one per lr, or per start), consumed to the end."""
    t0 = time.perf_counter()
    for lr, start in zip(lrs, starts):
        collect(train(surface, optimizers.create(name, lr=float(lr)), epochs=epochs, start=start))
    return time.perf_counter() - t0


def sweep(epochs=500) -> dict:
    """60+ learning rates × 500 epochs for one optimizer on Rosenbrock (target ≤ 100 ms)."""
    s = surfaces.get("rosenbrock")
    out = {}
    for name in ("sgd", "adam"):
        vectorized = median_time(lambda: lr_sweep(s, name, {}, DEFAULT_LRS, None, epochs))
        sample = DEFAULT_LRS[::10]  # 7 runs, spread over the range, extrapolated to all 61
        reference = _one_by_one(s, name, sample, [None] * len(sample), epochs) / len(sample) * len(DEFAULT_LRS)
        out[f"{name}_61_lrs_x_{epochs}_epochs_ms"] = round(vectorized * 1e3, 1)
        out[f"{name}_reference_one_by_one_ms"] = round(reference * 1e3, 1)
    out["target_ms"] = 100
    return out


def basin_map(n=100, epochs=500) -> dict:
    """An n×n basin map × 500 epochs with Adam on Himmelblau (target ≤ 1 s)."""
    h = surfaces.get("himmelblau")
    vectorized = median_time(lambda: basins(h, "adam", {}, 0.05, n, epochs), repeat=3)
    rng = np.random.default_rng(0)
    starts = rng.uniform(-5, 5, size=(8, 2))
    reference = _one_by_one(h, "adam", [0.05] * 8, starts, epochs) / 8 * n * n
    return {f"adam_{n}x{n}_x_{epochs}_epochs_s": round(vectorized, 3),
            "reference_one_by_one_s": round(reference, 1), "target_s": 1.0}


def looped_budget(epochs=500) -> dict:
    """L-BFGS (strong Wolfe), stepped run by run, on the default page (Rosenbrock, 500 epochs):
    the sweep and basin map the page computes within sweep.EXPLORE_BUDGET (fewer η stops or
    epochs, a coarser grid) beside the uncut ones they replace, in CPU seconds (the machine is
    shared), with the budget's bound of each."""
    from engine.sweep import EXPLORE_BUDGET, basin_plan, sweep_plan

    s, wolfe = surfaces.get("rosenbrock"), {"line_search_fn": "strong_wolfe"}

    def cpu(f) -> float:
        t0 = time.process_time()
        f()
        return round(time.process_time() - t0, 3)

    sp, bp = sweep_plan("lbfgs", wolfe, len(DEFAULT_LRS), epochs), basin_plan("lbfgs", wolfe, 100, 300)
    return {
        "budget_units": EXPLORE_BUDGET,
        f"sweep_{len(sp.stops)}_stops_x_{sp.epochs}_epochs_cpu_s": cpu(lambda: lr_sweep(
            s, "lbfgs", wolfe, DEFAULT_LRS, None, epochs, budget=EXPLORE_BUDGET)),
        "sweep_bound_units": sp.cost,
        f"reference_uncut_sweep_61_stops_x_{epochs}_epochs_cpu_s": cpu(lambda: lr_sweep(
            s, "lbfgs", wolfe, DEFAULT_LRS, None, epochs)),
        f"basins_{bp.grid_n}x{bp.grid_n}_x_{bp.epochs}_epochs_cpu_s": cpu(lambda: basins(
            s, "lbfgs", wolfe, 0.1, 100, 300)),
        "basins_bound_units": bp.cost,
        "reference_uncut_basins_20x20_x_300_epochs_cpu_s": cpu(lambda: basins(
            s, "lbfgs", wolfe, 0.1, 100, 300, budget=None)),
    }


TYPED = "(1-x)^2 + 100*(y-x^2)^2"


def typed_expression() -> dict:
    """Parsing plus a first gradient (target ≤ 20 ms), make_surface with its numerical minima,
    and a 200×200 grid (target ≤ 20 ms) against the registered closed form."""
    ref = surfaces.get("rosenbrock")
    w = np.array([0.3, -0.2])

    def setup():
        expr = parse(TYPED)
        expr.evaluate(w[0], w[1], 1)

    typed = make_surface(TYPED, bounds=ref.bounds)
    return {
        "parse_and_gradient_ms": round(median_time(setup, 20) * 1e3, 3),
        "make_surface_with_minima_ms": round(median_time(lambda: make_surface(TYPED, ref.bounds)) * 1e3, 1),
        "grid_200x200_ms": round(median_time(lambda: typed.grid(200), 20) * 1e3, 2),
        "reference_registered_grid_200x200_ms": round(median_time(lambda: ref.grid(200), 20) * 1e3, 2),
        "grad_10000_points_ms": round(median_time(
            lambda: typed.grad(np.zeros((10_000, 2))), 20) * 1e3, 2),
        "reference_registered_grad_10000_points_ms": round(median_time(
            lambda: ref.grad(np.zeros((10_000, 2))), 20) * 1e3, 2),
        "target_ms": 20,
    }


def main() -> dict:
    return {"sweep": sweep(), "basins": basin_map(), "typed_expression": typed_expression(),
            "lbfgs_within_budget": looped_budget()}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
