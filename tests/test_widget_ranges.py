"""What the 1,000-session widget campaign found (issue 16): a hyperparameter input must never
offer a value that the optimizer (torch's rules) refuses, or the page writes a link that its own
reader then refuses (Rprop's etaplus = 1.0: torch wants 0 < etaminus < 1 < etaplus); and an
L-BFGS line search whose bracket shrinks to a point (tolerance_change = 0) must not raise
ZeroDivisionError, as torch's does, out of the page."""

import numbers

import numpy as np
import pytest

import surfaces
from engine import optimizers
from engine.optimizers import _cubic_interpolate  # noqa: PLC2701 - the rule itself is under test
from engine.train import train
from lab.config import PRESETS, RunChoice, hyper_range, preset_hyper


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_end_of_every_hyperparameter_input_builds_the_optimizer(preset):
    for name, start in preset_hyper(preset).items():
        if isinstance(start, bool) or not isinstance(start, numbers.Number):
            continue
        for end in hyper_range(name):
            if preset == "nesterov" and ((name, end) == ("momentum", 0) or name == "dampening" and end):
                continue  # torch's rule across two settings; the page says it in words (below)
            choice = RunChoice(preset, ((name, end),))
            choice.make(0.01)  # raises ValueError, naming the value, if torch would refuse it


def test_a_zero_width_bracket_gives_its_point_not_a_division_by_zero():
    assert _cubic_interpolate(0.5, 1.0, -2.0, 0.5, 1.0, -2.0) == 0.5
    assert _cubic_interpolate(0.5, 1.0, -2.0, 0.5, 1.0, -2.0, bounds=(0.6, 2.0)) == 0.6


def test_strong_wolfe_with_no_change_tolerance_trains_to_the_end():
    opt = optimizers.create("lbfgs", lr=1.0, line_search_fn="strong_wolfe", tolerance_change=0.0,
                            tolerance_grad=0.0)
    records = list(train(surfaces.get("rosenbrock"), opt, epochs=30))
    assert len(records) >= 2 and all(np.isfinite(r.loss) for r in records)


def test_nesterov_without_momentum_is_refused_in_words_on_the_page():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.query_params.update({"opt": "nesterov", "nesterov.momentum": "0", "epochs": "20"})
    at.run()
    assert not at.exception
    assert any("Nesterov momentum requires a momentum" in e.value for e in at.error)
