"""Engine speed figures as JSON, each beside a reference measured in the same run."""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import surfaces  # noqa: E402
from engine import collect, optimizers, train  # noqa: E402
from engine.sweep import DEFAULT_LRS, LR_BATCH_BUDGET, lr_batch_cost, lr_trajectories  # noqa: E402


def timed(fn, repeat=5) -> tuple[float, object]:
    """Median wall time of `fn()` in seconds over `repeat` calls (after one warm-up), and its
    last result. The one timing helper of every benchmark."""
    result = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def best_of(fn, repeat=7) -> float:
    """Median wall time of `fn()` in seconds over `repeat` calls (after one warm-up)."""
    return timed(fn, repeat)[0]


def rosenbrock_grad(w: np.ndarray) -> np.ndarray:
    x, y = w[..., 0], w[..., 1]
    return np.stack([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], axis=-1)


def adam_step_loop(steps=20_000) -> dict:
    """One Adam step on a 2-weight surface inside a Python loop, against plain Python floats."""
    opt = optimizers.create("adam", lr=0.01)
    g = np.array([0.3, -0.2])

    def engine_loop():
        p = np.array([-1.5, 2.0])
        state = opt.init(p)
        for _ in range(steps):
            p, state = opt.update(p, g, state)

    def plain_loop():
        # The same rule written as plainly as possible: Python floats, one weight at a time.
        p, m, v = [-1.5, 2.0], [0.0, 0.0], [0.0, 0.0]
        b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-8
        gg = [0.3, -0.2]
        for t in range(1, steps + 1):
            bc1, bc2 = 1 - b1**t, 1 - b2**t
            for i in range(2):
                m[i] = b1 * m[i] + (1 - b1) * gg[i]
                v[i] = b2 * v[i] + (1 - b2) * gg[i] * gg[i]
                p[i] -= lr / bc1 * m[i] / (math.sqrt(v[i]) / math.sqrt(bc2) + eps)

    return {
        "adam_step_us": round(best_of(engine_loop, 5) / steps * 1e6, 3),
        "reference_plain_python_step_us": round(best_of(plain_loop, 5) / steps * 1e6, 3),
        "target_us": 10,
    }


def adam_vectorized(k=1000, steps=1000, k_reference=20) -> dict:
    """k starts × `steps` Adam steps on Rosenbrock at once, against the same runs one by one."""
    rng = np.random.default_rng(0)
    starts = rng.uniform([-2, -1], [2, 3], size=(k, 2))
    opt = optimizers.create("adam", lr=0.01)

    def run(p):
        state = opt.init(p)
        for _ in range(steps):
            p, state = opt.update(p, rosenbrock_grad(p), state)
        return p

    vectorized = best_of(lambda: run(starts), 3)
    one_by_one = best_of(lambda: [run(s) for s in starts[:k_reference]], 1) / k_reference * k
    return {
        "starts": k, "steps": steps,
        "vectorized_ms": round(vectorized * 1e3, 1),
        "reference_one_by_one_ms": round(one_by_one * 1e3, 1),
        "reference_note": f"extrapolated from {k_reference} runs one by one",
        "target_ms": 50,
    }


def grids(n=200, n_reference=40) -> dict:
    """An n×n plotting grid per surface, against a Python loop over grid points."""
    out = {}
    for name in surfaces.names():
        s = surfaces.get(name)
        grid_s = best_of(lambda: s.grid(n), 5)
        xs = np.linspace(*s.bounds[0], n_reference)
        ys = np.linspace(*s.bounds[1], n_reference)

        def loop():
            return [[float(s.loss(np.array([x, y]))) for x in xs] for y in ys]

        loop_s = best_of(loop, 1) * (n * n) / (n_reference * n_reference)
        out[name] = {"grid_ms": round(grid_s * 1e3, 2), "reference_loop_ms": round(loop_s * 1e3, 1)}
    return {"n": n, "target_ms_each": 20,
            "reference_note": f"loop over {n_reference}x{n_reference} points, scaled to {n}x{n}",
            "surfaces": out}


def lr_stops(epochs=500) -> dict:
    """Every η stop of the page's slider (61) × 500 Adam epochs on Rosenbrock, full batch, as one
    lr_trajectories batch, against the same 61 train() runs one by one; the float32 bytes the
    page would send; and the basis of LR_BATCH_BUDGET: one vectorized step of 61 runs that never
    stop (rates too small to converge or diverge)."""
    s = surfaces.get("rosenbrock")
    batch_s = best_of(lambda: lr_trajectories(s, "adam", {}, DEFAULT_LRS, None, epochs), 5)
    one_by_one = best_of(lambda: [collect(train(s, optimizers.create("adam", lr=float(lr)), epochs))
                                  for lr in DEFAULT_LRS], 1)
    result = lr_trajectories(s, "adam", {}, DEFAULT_LRS, None, epochs)
    float32_bytes = result.params.astype(np.float32).nbytes + result.loss.astype(np.float32).nbytes
    slow = np.logspace(-5, -4, len(DEFAULT_LRS))
    step = best_of(lambda: lr_trajectories(s, "adam", {}, slow, None, epochs), 5) / epochs
    return {
        "stops": len(DEFAULT_LRS), "epochs": epochs,
        "lr_trajectories_ms": round(batch_s * 1e3, 1),
        "reference_61_train_runs_one_by_one_ms": round(one_by_one * 1e3, 1),
        "trajectories_float32_bytes": int(float32_bytes),
        "step_of_61_runs_us": round(step * 1e6, 1),
        "cost": lr_batch_cost(1, epochs, 1), "budget": LR_BATCH_BUDGET,
        "budget_at_this_step_ms": round(LR_BATCH_BUDGET / len(DEFAULT_LRS) * step * 1e3, 1),
        "target_ms": 300,
    }


def main() -> dict:
    return {"adam_step": adam_step_loop(), "adam_vectorized": adam_vectorized(), "grid": grids(),
            "lr_stops": lr_stops()}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
