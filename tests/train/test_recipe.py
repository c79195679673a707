"""Recipe validation and the trainer's checks of what a stage's loss returns."""

import pytest
import torch

from avsep.train import Recipe, Stage, to_device, train

import tiny


def _stage(name, **kw):
    return Stage(name, tiny.loader_factory(0, 0), tiny.Loss(1.0, {}, name, [0]), epochs=1, **kw)


@pytest.mark.parametrize(
    "stages,message",
    [
        ([], "has no stages"),
        ([_stage("a")], "first stage needs a model builder"),
        ([_stage("a", model=tiny.build_model), _stage("a")], "name must be unique"),
        (
            [_stage("a", model=tiny.build_model), _stage("b", model=tiny.build_model, init_from="c")],
            "init_from = 'c' is not an earlier stage",
        ),
        ([_stage("a", model=tiny.build_model), _stage("b", init_from="a")], "init_from needs a model builder"),
    ],
)
def test_recipe_errors_name_the_stage(stages, message):
    with pytest.raises(ValueError, match=message):
        Recipe("r", stages).validate()


def test_loss_without_loss_entry_is_a_clear_error(tmp_path):
    stage = _stage("a", model=tiny.build_model)
    stage.loss = lambda model, batch: {"mse": model(batch[0]).mean()}
    with pytest.raises(TypeError, match="stage 'a': the loss function must return a dict with a 'loss' entry"):
        train(Recipe("r", [stage], params_sections=()), tiny.tiny_params(), tmp_path / "ck", tmp_path / "live")


def test_nan_loss_stops_with_the_step(tmp_path):
    stage = _stage("a", model=tiny.build_model)
    stage.loss = lambda model, batch: {"loss": model(batch[0]).mean() * float("nan")}
    with pytest.raises(FloatingPointError, match="stage 'a', epoch 0, global step 1: loss is nan"):
        train(Recipe("r", [stage], params_sections=()), tiny.tiny_params(), tmp_path / "ck", tmp_path / "live")


def test_steps_per_epoch_caps_an_endless_loader(tmp_path):
    x, y = tiny.dataset()

    def endless(epoch, rank, world):
        while True:
            yield x[:4], y[:4], torch.arange(4)

    stage = Stage("a", endless, tiny.Loss(1.0, {}, "a", [0]), epochs=2, steps_per_epoch=3, model=tiny.build_model)
    result = train(Recipe("r", [stage], params_sections=()), tiny.tiny_params(), tmp_path / "ck", tmp_path / "l")
    assert result.global_step == 6


def test_to_device_keeps_structure():
    batch = {"a": (torch.ones(2), [torch.zeros(1), "text"]), "b": 3}
    moved = to_device(batch, torch.device("cpu"))
    assert isinstance(moved["a"], tuple) and moved["a"][1][1] == "text" and moved["b"] == 3
    assert torch.equal(moved["a"][0], torch.ones(2))


def test_a_finished_stage_closes_its_loader_factory(tmp_path):
    """The trainer calls ``close()`` of a stage's loader factory once the stage is done (persistent loader
    workers stop there), after its last epoch and not before."""
    events = []
    inner = tiny.loader_factory(0, 0)

    class Factory:
        def __call__(self, epoch, rank, world):
            events.append(f"epoch {epoch}")
            return inner(epoch, rank, world)

        def close(self):
            events.append("close")

    stages = [
        Stage("a", Factory(), tiny.Loss(1.0, {}, "a", [0]), epochs=2, model=tiny.build_model),
        Stage("b", tiny.loader_factory(0, 1), tiny.Loss(1.0, {}, "b", [0]), epochs=1),
    ]
    train(Recipe("r", stages, params_sections=()), tiny.tiny_params(), tmp_path / "ck", tmp_path / "live")
    assert events[-1] == "close" and events.count("close") == 1 and "epoch 1" in events
