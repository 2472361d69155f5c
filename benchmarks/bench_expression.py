"""Typed-surface speed figures as JSON, each beside a reference measured in the same run: the
worst accepted formulas (near every limit: 100 parts, nesting 20 deep, exponents of 10) against a
plain bowl, and parsing hostile or random text against parsing the bowl. The tests bound the
work (nodes, evaluations); the seconds are here, where a busy machine does not fail a build."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from surfaces import expression  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import best_of, timed  # noqa: E402  (the one timing helper)
from surfaces.expression import ExpressionError, make_surface, parse  # noqa: E402

BOWL = "x^2 + y^2"
WORST = [
    "exp(" * 9 + "x^10*y^-10" + ")" * 9 + "+sinh(cosh(tan(x^10)))^10",
    "+".join(["exp(x)^10*cosh(y)"] * 11),
    "(" + "+".join(["x^y/(y^x)"] * 10) + ")^10",
]
HOSTILE = ["(" * 1000 + "x" + ")" * 1000, "9**9**9**9", "sin(" * 25 + "x" + ")" * 25,
           "+".join(["x"] * 60), "__import__('os')", "x" * 200]


def median_time(fn, repeat=5) -> float:
    return best_of(fn, repeat)


def surface_and_views(text: str) -> None:
    expression_surface = make_surface(text)
    expression_surface.grid(200)
    expression_surface.hessian(np.random.default_rng(0).uniform(-3, 3, (200, 200, 2)))


def try_parse(text: str) -> None:
    try:
        parse(text)
    except ExpressionError:
        pass


def random_texts(n=300, seed=0) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = list("xy0123456789.+-*/^() ,") + ["sin", "exp", "log", "max", "pi", "e", "__", "'"]
    return ["".join(rng.choice(alphabet, size=rng.integers(1, 40))) for _ in range(n)]


def main() -> dict:
    bowl = median_time(lambda: surface_and_views(BOWL))
    worst = {text[:40]: median_time(lambda t=text: surface_and_views(t)) for text in WORST}
    parse_bowl = median_time(lambda: try_parse(BOWL), repeat=50)
    hostile = median_time(lambda: [try_parse(t) for t in HOSTILE], repeat=5) / len(HOSTILE)
    texts = random_texts()
    fuzz = median_time(lambda: [try_parse(t) for t in texts], repeat=3) / len(texts)
    return {
        "surface_grid200_hessian200_s": {"worst": worst, "reference_bowl": bowl,
                                         "worst_over_bowl": max(worst.values()) / bowl},
        "parse_s": {"hostile_mean": hostile, "random_mean": fuzz, "reference_bowl": parse_bowl,
                    "hostile_over_bowl": hostile / parse_bowl},
        "limits": {"characters": expression.MAX_LENGTH, "nodes": expression.MAX_NODES,
                   "depth": expression.MAX_DEPTH},
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
