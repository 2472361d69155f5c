"""What makes the turn-3 families different, in the real page in headless Chromium: L-BFGS's
probes as small marks and the loss curve in gradient evaluations (kept when the view's η slider
moves), ASGD's averaged weights as a dashed path in the run's colour."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import browser_harness as h
from lab import runs as lab_runs
from lab.config import LR_OPTIONS
from lab.lessons import LESSONS

LR = "[aria-label='Learning rate η']"
JS_ON_SCREEN = "(view) => document.querySelector('.dv-root').__descentView.onScreen(view)"
JS_TRACES = """(role) => {
    const gd = document.querySelector('.dv-root .dv-contour');
    return gd._fullData.filter(t => t.meta && t.meta.role === role)
        .map(t => ({color: t.line && t.line.color, dash: t.line && t.line.dash,
                    symbol: t.marker && t.marker.symbol, n: t.x.filter(v => v !== null).length}));
}"""
JS_LOSS_X = "() => document.querySelector('.dv-root .dv-loss')._fullLayout.xaxis.title.text"


@pytest.fixture(scope="module")
def app_url(streamlit_server):
    return streamlit_server("app.py")


def open_page(page, url: str, query: str) -> None:
    page.goto(url + query)
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, timeout=90_000)
    page.wait_for_timeout(500)
    h.wait_idle(page, timeout=90_000)


def test_lbfgs_probes_and_the_loss_curve_in_gradient_evaluations(page, app_url):
    open_page(page, app_url, "/?lesson=lbfgs-vs-adam&speed=instant")
    config = LESSONS["lbfgs-vs-adam"].config
    lbfgs = lab_runs.run_one(config, config.runs[0])
    (probes,) = page.evaluate(JS_TRACES, "probes")
    assert probes["symbol"] == "x" and probes["n"] == np.sum(np.all(np.abs(lbfgs.probes) < 1e3, axis=1))
    assert page.evaluate(JS_LOSS_X) == "gradient evaluations"
    loss = page.evaluate(JS_ON_SCREEN, "loss")
    assert loss[0]["x"][-1] == lbfgs.trajectory.evals[-1] > config.epochs  # L-BFGS: its own count
    assert loss[1]["x"][-1] == config.epochs  # Adam: one evaluation an epoch
    # the view's η slider moves Adam; the axis still counts evaluations, L-BFGS (own η) stays
    slider = page.locator(LR)
    slider.focus()
    slider.press("ArrowLeft")
    lr = LR_OPTIONS[LR_OPTIONS.index(config.learning_rate) - 1]
    page.wait_for_function("(v) => Number(document.querySelector('.dv-root').dataset.lr) === v",
                           arg=lr, timeout=30_000)
    loss = page.evaluate(JS_ON_SCREEN, "loss")
    assert loss[0]["x"][-1] == lbfgs.trajectory.evals[-1]
    adam = lab_runs.run_one(replace(config, learning_rate=lr), config.runs[1]).trajectory
    assert loss[1]["x"][:5] == adam.evals[:5].tolist()
    assert page.evaluate(JS_LOSS_X) == "gradient evaluations"
    assert not page.js_errors


def test_asgd_draws_its_averaged_weights_dashed_in_its_colour(page, app_url):
    open_page(page, app_url, "/?surface=himmelblau&opt=asgd&lr=0.01&epochs=60&speed=instant")
    (averaged,) = page.evaluate(JS_TRACES, "averaged")
    (path,) = page.evaluate(JS_TRACES, "path")
    assert averaged["dash"] == "dash" and averaged["color"] == path["color"] and averaged["n"] == 61
    assert page.evaluate(JS_LOSS_X) == "epoch"  # no run evaluates more than once a step
    assert not page.js_errors
