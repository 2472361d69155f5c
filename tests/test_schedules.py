"""engine.schedules: torch.optim.lr_scheduler's closed forms, stepped once per epoch."""
import math

import pytest

from engine import schedules

BASE = 0.2


def test_names():
    assert schedules.names() == ["constant", "step", "exponential", "cosine"]


def test_constant_is_the_base_lr_every_epoch():
    sched = schedules.create("constant")
    assert [sched(e, BASE) for e in (0, 1, 50, 10_000)] == [BASE] * 4


def test_step_multiplies_by_gamma_every_step_size_epochs():
    sched = schedules.create("step", step_size=3, gamma=0.5)
    # epochs 0-2 at base, 3-5 at base/2, 6-8 at base/4, ...
    assert [sched(e, BASE) for e in range(9)] == pytest.approx([0.2] * 3 + [0.1] * 3 + [0.05] * 3, rel=1e-15)
    assert schedules.create("step", step_size=10)(25, 1.0) == pytest.approx(0.01)  # default gamma 0.1


def test_exponential_multiplies_by_gamma_every_epoch():
    sched = schedules.create("exponential", gamma=0.9)
    assert sched(0, BASE) == BASE
    assert sched(1, BASE) == pytest.approx(0.18, rel=1e-15)
    assert sched(10, BASE) == pytest.approx(0.2 * 0.3486784401, rel=1e-12)


def test_cosine_goes_from_base_to_eta_min_in_t_max_epochs_and_back_up_after():
    sched = schedules.create("cosine", T_max=10, eta_min=0.01)
    assert sched(0, BASE) == BASE
    assert sched(5, BASE) == pytest.approx((0.2 + 0.01) / 2, rel=1e-15)  # halfway: the mean
    assert sched(10, BASE) == pytest.approx(0.01, rel=1e-15)
    # cos(π/5) = (1 + √5)/4, worked out without the formula's code path
    assert sched(2, BASE) == pytest.approx(0.01 + 0.19 * (1 + (1 + math.sqrt(5)) / 4) / 2, rel=1e-14)
    # torch's closed form keeps following the cosine past T_max: epoch 15 equals epoch 5
    assert sched(15, BASE) == pytest.approx(sched(5, BASE), rel=1e-14)
    assert sched(20, BASE) == pytest.approx(BASE, rel=1e-14)


def test_cosine_to_zero_reaches_exactly_zero():
    # The training loop passes this lr to opt.update, which accepts 0 for this reason.
    assert schedules.create("cosine", T_max=4)(4, 0.5) == 0.0


def test_warmup_ramps_linearly_then_restarts_the_inner_schedule():
    sched = schedules.create("cosine", T_max=10, warmup=4, start_factor=0.2)
    # LinearLR(start_factor=0.2, total_iters=4): base·(0.2 + 0.8·e/4) for e = 0..3
    assert [sched(e, 1.0) for e in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8], rel=1e-15)
    # then SequentialLR hands over to the cosine as if epoch 4 were its epoch 0
    inner = schedules.create("cosine", T_max=10)
    assert [sched(e, 1.0) for e in range(4, 20)] == [inner(e - 4, 1.0) for e in range(4, 20)]


@pytest.mark.parametrize("name, kw", [("constant", {}), ("step", dict(step_size=2)), ("exponential", dict(gamma=0.5))])
def test_warmup_works_in_front_of_every_schedule(name, kw):
    sched = schedules.create(name, warmup=3, **kw)
    assert sched(0, 0.3) == pytest.approx(0.1)  # LinearLR's default start_factor is 1/3
    assert sched(3, 0.3) == pytest.approx(0.3)
    inner = schedules.create(name, **kw)
    assert sched(8, 0.3) == inner(5, 0.3)


def test_hyper_has_every_setting():
    assert schedules.create("step", step_size=5).hyper == dict(step_size=5, gamma=0.1, warmup=0, start_factor=1 / 3)


BAD = [
    ("cosinus", {}, r"Unknown schedule 'cosinus'; choose one of: constant, step, exponential, cosine"),
    ("step", dict(step_size=0), "step_size.*0"),
    ("step", dict(step_size=-3), "step_size.*-3"),
    ("step", dict(step_size=float("nan")), "step_size.*nan"),
    ("step", dict(step_size=2.5), "step_size.*2.5"),
    ("step", {}, "needs step_size"),
    ("step", dict(step_size=2, gamma=0.0), "gamma.*0.0"),
    ("exponential", dict(gamma=-0.5), "gamma.*-0.5"),
    ("exponential", dict(gamma=float("inf")), "gamma.*inf"),
    ("exponential", {}, "needs gamma"),
    ("cosine", dict(T_max=0), "T_max.*0"),
    ("cosine", {}, "needs T_max"),
    ("cosine", dict(T_max=10, eta_min=-0.1), "eta_min.*-0.1"),
    ("cosine", dict(T_max=10, eta_min=float("nan")), "eta_min.*nan"),
    ("constant", dict(warmup=-1), "warmup.*-1"),
    ("constant", dict(warmup=5, start_factor=0.0), "start_factor.*0.0"),
    ("constant", dict(warmup=5, start_factor=1.5), "start_factor.*1.5"),
    ("constant", dict(gamma=0.5), "'gamma'.*accepted"),
]


@pytest.mark.parametrize("name, kw, message", BAD, ids=[f"{n}-{k}" for n, k, _ in BAD])
def test_bad_settings_raise_naming_them(name, kw, message):
    with pytest.raises(ValueError, match=message):
        schedules.create(name, **kw)


@pytest.mark.parametrize("epoch", [-1, 1.5, "3"])
def test_bad_epoch_raises(epoch):
    with pytest.raises(ValueError, match="epoch"):
        schedules.create("constant")(epoch, 0.1)
