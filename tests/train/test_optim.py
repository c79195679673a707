"""Optimizers and LR schedules built from params."""

import math

import pytest
import torch

from avsep.config import ParamsError, load_params
from avsep.config.train import OptimizerParams, ScheduleParams
from avsep.train.optim import build_optimizer, build_scheduler, lr_factor


def test_cosine_with_warmup():
    cfg = ScheduleParams(name="cosine", warmup_steps=4, min_lr_ratio=0.1)
    total = 100
    assert lr_factor(cfg, 0, 10, total) == pytest.approx(0.25 * 1.0)  # first warm-up step
    assert lr_factor(cfg, 3, 10, total) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.03)))
    assert lr_factor(cfg, 50, 10, total) == pytest.approx(0.55)
    assert lr_factor(cfg, 100, 10, total) == pytest.approx(0.1)


def test_step_milestones_in_epochs():
    cfg = ScheduleParams(name="step", milestones=[2, 4], gamma=0.1)
    assert [lr_factor(cfg, s, 5, None) for s in (0, 9, 10, 19, 20)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])


def test_scheduler_steps_per_optimizer_step_and_restores():
    model = torch.nn.Linear(2, 1)
    opt = build_optimizer(model.parameters(), OptimizerParams(name="sgd", lr=1.0, momentum=0.0))
    sched = build_scheduler(opt, ScheduleParams(name="step", milestones=[1]), steps_per_epoch=3, epochs=2, stage="s")
    lrs = []
    for _ in range(5):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([1, 1, 1, 0.1, 0.1])
    again = build_scheduler(
        build_optimizer(model.parameters(), OptimizerParams(name="sgd", lr=1.0)),
        ScheduleParams(),
        steps_per_epoch=None,
        epochs=1,
        stage="s",
    )
    again.load_state_dict(sched.state_dict())
    assert again.last_epoch == 5 and vars(again.lr_lambdas[0])["cfg"]["name"] == "step"


def test_cosine_without_epoch_length_names_the_stage():
    opt = build_optimizer(torch.nn.Linear(2, 1).parameters(), OptimizerParams())
    with pytest.raises(ValueError, match=r"stage 'c2'.*give the stage steps_per_epoch"):
        build_scheduler(opt, ScheduleParams(name="cosine"), None, 3, "c2")


@pytest.mark.parametrize(
    "name,cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)]
)
def test_optimizer_from_params(name, cls):
    cfg = OptimizerParams(name=name, lr=0.01, weight_decay=0.001)
    opt = build_optimizer(torch.nn.Linear(2, 1).parameters(), cfg)
    assert isinstance(opt, cls) and opt.param_groups[0]["lr"] == 0.01


def test_bad_train_params_name_the_key():
    with pytest.raises(ParamsError, match=r"train.schedule"):
        load_params(None, ["train.schedule.milestones=[4, 2]"])
    with pytest.raises(ParamsError, match=r"train.optimizer.name"):
        load_params(None, ["train.optimizer.name=rmsprop"])
