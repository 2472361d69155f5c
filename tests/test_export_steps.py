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
