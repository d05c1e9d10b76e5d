"""Crash-safe training checkpoints that `--resume` continues from.

Keras' `BackupAndRestore` saves weights and the epoch number. A run resumed from
it differs from an uninterrupted one: it restarts a half-done epoch from
its first batch, loses the early-stopping state (best value, patience, best
weights) and the per-epoch history, and a kill during the write corrupts the only
copy. `TrainingCheckpoint` saves all of that, writing every file under a new name
and switching to it with one atomic rename of `state.json`.

Folder layout:

    state.json                 position, history, early-stopping state, fingerprint
    weights-000007.weights.h5  model and optimizer variables at that position
    logs/                      TensorBoard event files
"""

import dataclasses
import datetime
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from vertical_tune.errors import ConfigError, format_error

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"
_FORMAT = 1


def fingerprint(*parts):
    """Return a short hash of JSON-serialisable parts (config, data) that a resume must match."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    return digest.hexdigest()[:16]


@dataclasses.dataclass
class CheckpointPlan:
    """Checkpoint settings of one `fit`: the folder, the fingerprint, and whether to resume.

    Args:
        directory: str or Path. The checkpoint folder.
        fingerprint: str. Hash of the config and data (see `fingerprint`).
        resume: bool. Continue from the checkpoint in `directory` when there is one.
        every_steps: int or None. Also save every this many training steps.
        write: bool. False in the workers other than the chief of a multi-worker
            run: they read the chief's checkpoint to resume and never write it.
    """

    directory: object
    fingerprint: str
    resume: bool = False
    every_steps: int | None = None
    write: bool = True

    def initial_state(self):
        """Return the state to resume from, or None; without `resume`, clear an old checkpoint."""
        directory = Path(self.directory)
        if not self.resume:
            if not self.write:
                return None
            if (directory / STATE_FILE).is_file():
                logger.warning(
                    "Replacing the checkpoint of an interrupted run in %s (pass --resume to continue it).",
                    directory,
                )
            shutil.rmtree(directory, ignore_errors=True)
            return None
        state = read_state(directory, self.fingerprint)
        if state is None:
            logger.warning("No checkpoint in %s: training starts from the beginning.", directory)
        return state


# Sections that do not change how a model trains; a resume may differ in them.
_NOT_TRAINING = ("output", "registry", "retrain", "compression", "distillation", "description")


def training_fingerprint(config, train_texts, train_targets, validation_texts, validation_targets):
    """Hash the config sections and the data that decide the training trajectory."""
    settings = {k: v for k, v in config.model_dump(mode="json").items() if k not in _NOT_TRAINING}
    data = hashlib.sha256()
    for part in (train_texts, train_targets, validation_texts, validation_targets):
        data.update(json.dumps(_plain_tree(part), ensure_ascii=False, default=str).encode("utf-8"))
    return fingerprint(settings, data.hexdigest())


def _plain_tree(value):
    if isinstance(value, dict):
        return {key: _plain_tree(v) for key, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    return list(value)


def read_state(directory, expected_fingerprint):
    """Return the saved training state in `directory`, or None when there is none.

    Raises:
        ConfigError: the checkpoint belongs to a different config or data.
    """
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("fingerprint") != expected_fingerprint:
        raise ConfigError(
            format_error(
                "The checkpoint was written by a run with a different config or data.",
                where=str(path),
                received=f"checkpoint fingerprint {state.get('fingerprint')}, this run {expected_fingerprint}",
                fix=(
                    "Resume with the config and data of the interrupted run, or start over "
                    f"without --resume (the checkpoint is then replaced), or delete {Path(directory)}."
                ),
            )
        )
    return state


class EpochPosition(keras.callbacks.Callback):
    """Point an `EpochFeed` at each epoch, and end a resumed half-done epoch on time.

    Place it first in the callback list: when it ends the resumed epoch early, it
    clears `stop_training` before the other callbacks see the epoch end.

    Args:
        feed: EpochFeed.
        epoch: int. The first epoch of this `fit` (0-based).
        batch: int. Batches of that epoch already trained before the interruption.
    """

    def __init__(self, feed, epoch=0, batch=0):
        super().__init__()
        self.feed = feed
        self.start_epoch = int(epoch)
        self.start_batch = int(batch)
        self._epoch = self.start_epoch
        self._ending_early = False

    def batches_done(self, batch):
        """Batches of the current epoch done after Keras' batch index `batch` (0-based)."""
        offset = self.start_batch if self._epoch == self.start_epoch else 0
        return offset + batch + 1

    def on_train_begin(self, logs=None):
        self.feed.set_position(self.start_epoch, self.start_batch)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch == self.start_epoch and self.start_batch:
            if self.batches_done(batch) >= self.feed.steps_per_epoch:
                self._ending_early = True
                self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self._ending_early:
            self._ending_early = False
            self.model.stop_training = False
        self.feed.set_position(epoch + 1, 0)


class TrainingCheckpoint(keras.callbacks.Callback):
    """Save the whole training state at every epoch end and every `every_steps` steps.

    Place it after the callbacks whose state it saves. On a resumed `fit` it
    restores the model and optimizer variables, the early-stopping state and best
    weights, the per-epoch history and timings in `on_train_begin`.

    Args:
        directory: str or Path. The checkpoint folder.
        fingerprint: str. Hash of the config and data; a resume must match it.
        position: EpochPosition of the same `fit`.
        early_stopping: keras.callbacks.EarlyStopping of the same `fit`.
        validation: callback with a `history` list of per-epoch metric dicts.
        timer: EpochTimer.
        every_steps: int or None. Also save every this many training steps.
        state: dict or None. A state from `read_state` to restore.
    """

    def __init__(self, directory, *, fingerprint, position, early_stopping, validation, timer, every_steps=None, state=None, write=True):
        super().__init__()
        self.write = write
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.position = position
        self.early_stopping = early_stopping
        self.validation = validation
        self.timer = timer
        self.every_steps = every_steps
        self.state = state
        self.history = dict(state["history"]) if state else {}
        self._epoch = 0
        self._steps_since_save = 0

    # ------------------------------------------------------------------ restore

    def on_train_begin(self, logs=None):
        if self.write:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Files of a write that a kill interrupted; `state.json` never names them.
            for partial in [*self.directory.glob(".tmp-*"), *self.directory.glob(".state-*")]:
                partial.unlink(missing_ok=True)
        if not self.state:
            return
        state = self.state
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        stopping = state["early_stopping"]
        if stopping["best_weights"] and self.early_stopping.restore_best_weights:
            self.model.load_weights(self.directory / stopping["best_weights"])
            self.early_stopping.best_weights = self.model.get_weights()
        self.model.load_weights(self.directory / state["weights"])
        _set_random_states(self.model, state.get("random_states", []))
        self.early_stopping.best = stopping["best"]
        self.early_stopping.wait = stopping["wait"]
        self.early_stopping.best_epoch = stopping["best_epoch"]
        self.validation.history[:] = state["validation_history"]
        self.timer.seconds[:] = state["epoch_seconds"]
        logger.info(
            "Resumed from %s: epoch %d, batch %d, optimizer step %d.",
            self.directory,
            state["epoch"] + 1,
            state["batch"],
            int(keras.ops.convert_to_numpy(optimizer.iterations)),
        )

    # ------------------------------------------------------------------ save

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if not self.every_steps:
            return
        self._steps_since_save += 1
        done = self.position.batches_done(batch)
        if self._steps_since_save >= self.every_steps and done < self.position.feed.steps_per_epoch:
            self._save(epoch=self._epoch, batch=done, finished=False)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        finished = bool(self.model.stop_training) or epoch + 1 >= self.params.get("epochs", epoch + 1)
        self._save(epoch=epoch + 1, batch=0, finished=finished)

    def _save(self, *, epoch, batch, finished):
        self._steps_since_save = 0
        if not self.write:
            return
        previous = _read_json(self.directory / STATE_FILE)
        name = f"weights-{_next_number(previous):06d}.weights.h5"
        _atomic_weights(self.model, self.directory / name)
        stopping = self.early_stopping
        best_weights = previous.get("early_stopping", {}).get("best_weights") if previous else None
        if stopping.best is not None and stopping.best_epoch == epoch - 1 and batch == 0:
            best_weights = name  # this epoch improved: the weights just saved are the best
        state = {
            "format": _FORMAT,
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "batch": batch,
            "finished": finished,
            "weights": name,
            "optimizer_step": int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)),
            # Dropout's seed states are variables that `save_weights` leaves out; without
            # them a resumed run draws other dropout masks than an uninterrupted one.
            "random_states": _random_states(self.model),
            "early_stopping": {
                "best": None if stopping.best is None else float(stopping.best),
                "wait": int(stopping.wait),
                "best_epoch": int(stopping.best_epoch),
                "best_weights": best_weights,
            },
            "history": self.history,
            "validation_history": self.validation.history,
            "epoch_seconds": [float(s) for s in self.timer.seconds],
            "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        _atomic_json(self.directory / STATE_FILE, state)
        keep = {name, best_weights}
        for old in self.directory.glob("weights-*.weights.h5"):
            if old.name not in keep:
                old.unlink(missing_ok=True)


def _random_variables(model):
    """Return the model's variables that are not weights: the states of its seed generators."""
    weights = {id(variable) for variable in model.weights}
    return [variable for variable in model.variables if id(variable) not in weights]


def _random_states(model):
    return [keras.ops.convert_to_numpy(v).tolist() for v in _random_variables(model)]


def _set_random_states(model, states):
    variables = _random_variables(model)
    if len(variables) != len(states):
        logger.warning("The checkpoint has %d random states, the model %d; dropout is not restored.", len(states), len(variables))
        return
    for variable, value in zip(variables, states):
        variable.assign(np.asarray(value, dtype=variable.dtype))


def _next_number(previous):
    if not previous:
        return 1
    return int(previous["weights"].split("-")[1].split(".")[0]) + 1


def _read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _atomic_weights(model, path):
    # `save_weights` needs the `.weights.h5` suffix; write beside, then rename.
    temporary = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    model.save_weights(temporary)
    _fsync_file(temporary)
    os.replace(temporary, path)


def _atomic_json(path, data):
    handle, temporary = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(data, stream, ensure_ascii=False, default=_plain)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def _fsync_file(path):
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")
