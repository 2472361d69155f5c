"""The learning-rate slider's stops, and snapping a rate to them: a room of its own so that
lab.user_data (an upload's starting η) and lab.config both use it without importing each other."""

from __future__ import annotations

import math


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
