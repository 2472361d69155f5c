"""The picture of a data surface's rows and each run's model at an epoch (figures/data_fit.py)."""

from dataclasses import replace

import numpy as np

import surfaces
from figures.data_fit import FitRun, data_fit_figure
from lab.lessons import LESSONS
from lab.runs import run_one


def test_the_line_at_an_epoch_is_the_runs_own_line_through_the_rows():
    s = surfaces.get("linear_regression")
    # the schedule lesson's mini-batch runs, on linear regression (the lesson itself is on
    # logistic regression, where the jitter shows on the map)
    config = replace(LESSONS["schedule"].config, surface="linear_regression", learning_rate=0.1)
    t = run_one(config, config.runs[0]).trajectory
    for epoch in (0, 5, len(t.params) - 1):
        w = t.params[epoch]
        fig = data_fit_figure(s.data, s.model, [FitRun("SGD", "#0072B2", w, epoch)], classes=False)
        rows = next(tr for tr in fig.data if tr.meta["role"] == "rows")
        line = next(tr for tr in fig.data if tr.meta["role"] == "model")
        assert len(rows.x) == s.n_samples
        x, yhat = np.asarray(line.x, dtype=float), np.asarray(line.y, dtype=float)
        assert np.allclose(yhat, w[0] * x + w[1], atol=1e-4)  # ŷ = w·x + b at that epoch
        assert line.name == f"SGD at epoch {epoch}"


def test_logistic_regression_draws_the_sigmoid_and_its_decision_boundary():
    s = surfaces.get("logistic_regression")
    w = s.minima[0]
    fig = data_fit_figure(s.data, s.model, [FitRun("Adam", "#D55E00", w, 30)], classes=True)
    line = next(tr for tr in fig.data if tr.meta["role"] == "model")
    p = np.asarray(line.y, dtype=float)
    assert np.all((p >= 0) & (p <= 1)) and (p[0] < 0.5 < p[-1] or p[0] > 0.5 > p[-1])
    (boundary,) = fig.layout.shapes
    assert abs(boundary.x0 - (-w[1] / w[0])) < 1e-9  # p = 0.5 where w·x + b = 0
    assert fig.layout.yaxis.title.text == "p(class 1)"


def test_a_large_upload_is_drawn_with_a_bounded_number_of_rows():
    x = np.linspace(0, 1, 10_000)
    s = surfaces.get("linear_regression")
    fig = data_fit_figure((x, 2 * x), s.model, [FitRun("SGD", "#0072B2", np.array([2.0, 0.0]), 1)],
                          classes=False)
    assert len(fig.data[0].x) <= 2000
