"""Checkpointing and `resume`: an interrupted fit continues where it stopped."""

import json

import keras
import numpy as np
import pytest

from tests.helpers import TINY_TRAINING, save_tiny_bert_preset, sentiment_frame
from vertical_tune import FineTuner
from vertical_tune.errors import ConfigError
from vertical_tune.training.checkpoint import STATE_FILE
from vertical_tune.training.pipeline import EpochFeed


class Interrupt(Exception):
    pass


class StopAt(keras.callbacks.Callback):
    """Raise after Keras' batch `batch` of epoch `epoch`, as a kill would stop the job."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self._current = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._current == self.epoch and batch == self.batch:
            raise Interrupt()


class Observe(keras.callbacks.Callback):
    """Record the state a resumed fit starts from; it runs after the built-in callbacks."""

    def __init__(self):
        super().__init__()
        self.callbacks = []  # this fit's callback list, set by `capture_callbacks`
        self.seen = {"epochs": []}

    def on_train_begin(self, logs=None):
        stopping = next(c for c in self.callbacks if isinstance(c, keras.callbacks.EarlyStopping))
        self.seen["step"] = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.seen["best"] = stopping.best

    def on_epoch_begin(self, epoch, logs=None):
        self.seen["epochs"].append(epoch)


def capture_callbacks(monkeypatch, observe):
    original_fit = keras.Model.fit

    def fit(model, *args, **kwargs):
        observe.callbacks = kwargs["callbacks"]
        return original_fit(model, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    preset = save_tiny_bert_preset(root / "preset")
    sentiment_frame(30, seed=0).to_csv(root / "train.csv", index=False)
    sentiment_frame(6, seed=1).to_csv(root / "validation.csv", index=False)
    return root, preset


def _tuner(project, name, **training):
    root, preset = project
    return FineTuner.from_preset(
        "finance",
        task={"labels": "from_data"},
        data={"train": str(root / "train.csv"), "validation": str(root / "validation.csv")},
        backbone={"preset": preset, "sequence_length": 16},
        normalization={"profile": "general"},
        # 90 rows in batches of 16: 6 steps per epoch; a checkpoint every 2 steps.
        training={**TINY_TRAINING, "epochs": 4, "checkpoint_every_steps": 2, **training},
        output={"run_dir": str(root / name), "compare_baseline": False},
    )


def test_feed_order_depends_only_on_seed_and_epoch():
    feed = EpochFeed([f"t{i}" for i in range(10)], np.arange(10), batch_size=4, seed=3)

    def epoch(number, start=0):
        feed.set_position(number, start)
        return [batch[1].numpy().tolist() for batch in feed.dataset][: feed.steps_per_epoch - start]

    first, second = epoch(0), epoch(1)
    assert sorted(sum(first, [])) == list(range(10))
    assert first != second
    assert epoch(1, start=1) == second[1:]
    assert epoch(0) == first


def test_resume_restores_position_optimizer_and_best_metric(project, monkeypatch):
    tuner = _tuner(project, "interrupted")
    with pytest.raises(Interrupt):
        # Killed after 5 batches of the second epoch: the last checkpoint is at batch 4.
        tuner.fit(verbose=0, checkpoint=True, callbacks=[StopAt(epoch=1, batch=4)])
    state = json.loads((tuner.checkpoint_directory() / STATE_FILE).read_text())
    assert (state["epoch"], state["batch"], state["optimizer_step"]) == (1, 4, 10)
    first_epoch_best = state["early_stopping"]["best"]
    assert first_epoch_best is not None and len(state["validation_history"]) == 1

    resumed = _tuner(project, "interrupted")
    observe = Observe()
    capture_callbacks(monkeypatch, observe)
    result = resumed.fit(verbose=0, resume=True, callbacks=[observe])
    monkeypatch.undo()
    assert observe.seen["step"] == 10
    assert observe.seen["best"] == pytest.approx(first_epoch_best)
    assert observe.seen["epochs"] == [1, 2, 3]
    assert result.epochs_run == 4
    assert len(result.history["loss"]) == 4
    assert int(keras.ops.convert_to_numpy(resumed.model.optimizer.iterations)) == 4 * 6

    # Same batches, optimizer state and dropout masks: the same weights as without the kill.
    uninterrupted = _tuner(project, "uninterrupted")
    reference = uninterrupted.fit(verbose=0)
    # The interrupted epoch's logged loss averages only the batches after the resume.
    kept = [0, 2, 3]
    assert [result.history["loss"][i] for i in kept] == pytest.approx([reference.history["loss"][i] for i in kept], rel=1e-4)
    for resumed_weight, reference_weight in zip(resumed.model.get_weights(), uninterrupted.model.get_weights()):
        np.testing.assert_allclose(resumed_weight, reference_weight, rtol=1e-4, atol=1e-5)

    run = resumed.save()
    assert (run / "model.keras").is_file()
    assert not resumed.checkpoint_directory().exists()


def test_resume_with_another_config_is_refused(project):
    tuner = _tuner(project, "changed", epochs=2)
    with pytest.raises(Interrupt):
        tuner.fit(verbose=0, checkpoint=True, callbacks=[StopAt(epoch=0, batch=3)])
    changed = _tuner(project, "changed", epochs=2, learning_rate=1e-3)
    with pytest.raises(ConfigError, match="different config or data") as error:
        changed.fit(verbose=0, resume=True)
    assert "without --resume" in str(error.value)
    # Without --resume the old checkpoint is replaced and training starts over.
    changed.fit(verbose=0, checkpoint=True)
    state = json.loads((changed.checkpoint_directory() / STATE_FILE).read_text())
    assert state["finished"] and state["epoch"] == 2


def test_resume_without_checkpoint_starts_over(project, caplog):
    tuner = _tuner(project, "fresh", epochs=1)
    result = tuner.fit(verbose=0, resume=True)
    assert result.epochs_run == 1
    assert "starts from the beginning" in caplog.text
