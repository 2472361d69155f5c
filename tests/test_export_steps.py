"""A runs file loaded from JSON shows the same picture as its link: with mini-batches, the step
dots between the epoch dots come back too (they were missing after a load)."""

import numpy as np

from lab import export
from lab.link import from_query
from lab.runs import run_one


def test_a_loaded_runs_file_has_the_links_step_dots():
    config, notices = from_query({"surface": "logistic_regression", "opt": "momentum,rmsprop",
                                  "epochs": "30", "batch": "8", "schedule": "step"})
    assert notices == []
    ran = [run_one(config, c) for c in config.runs]
    assert all(r.steps is not None and len(r.steps) == 30 * 8 for r in ran)  # 64 rows, batch 8
    loaded, results = export.from_json(export.to_json(config, ran))
    assert loaded == config
    for original, back in zip(ran, results.values()):
        assert back.steps is not None and np.array_equal(back.steps, original.steps)
        assert np.array_equal(back.step_loss, original.step_loss)


def test_a_loaded_runs_file_keeps_asgds_averaged_path_and_lbfgs_probes():
    config, notices = from_query({"surface": "booth", "opt": "asgd,lbfgs", "epochs": "8",
                                  "lr": "0.01"})
    assert notices == []
    ran = [run_one(config, c) for c in config.runs]
    _, results = export.from_json(export.to_json(config, ran))
    for original, back in zip(ran, results.values()):
        for field in ("averaged", "averaged_loss", "probes", "probe_loss"):
            a, b = getattr(original, field), getattr(back, field)
            assert (a is None and b is None) or np.array_equal(a, b), field
    assert ran[0].averaged is not None and ran[1].probes is not None  # there is something to keep
