"""`run_retrain`: one unattended retrain, from new data to a promotion decision.

Steps, each safe to kill:

1. Take the registry's retrain lock (another job running: `LockError`).
2. Find new data: incoming files not seen before, or a changed `data.train`.
   Nothing new and a champion exists: stop with "nothing to do".
3. Split the new rows: `retrain.holdout` of them join the fixed evaluation set,
   the rest join the training pool.
4. Train a challenger (from the champion's weights or the backbone), checkpointed
   so `--resume` continues it; save it as a run directory.
5. Evaluate challenger and champion on the same evaluation set, apply the gate,
   write the drift report, and register the challenger as a version.
6. Promote it when the gate passes (one atomic alias change), mark the new files
   seen, and record the decision in the registry and the JSON-lines log.
"""

import dataclasses
import datetime
import json
import logging
import os
from pathlib import Path

import keras

from vertical_tune.data.split import stratified_split
from vertical_tune.errors import ConfigError, format_error
from vertical_tune.registry import CHAMPION, Registry
from vertical_tune.retrain import incoming
from vertical_tune.retrain.drift import drift_markdown, drift_report
from vertical_tune.retrain.exit_codes import RetrainExit
from vertical_tune.retrain.gate import decide, decision_markdown, resolve_metric
from vertical_tune.retrain.job_state import JobState
from vertical_tune.retrain.lock import ProjectLock
from vertical_tune.run_directory import write_json

logger = logging.getLogger(__name__)

CHALLENGER = "challenger"
LOCK_FILE = "retrain.lock"


@dataclasses.dataclass
class RetrainOutcome:
    """Result of a retrain: the exit code, a one-sentence message and the decision record."""

    exit_code: RetrainExit
    message: str
    record: dict


def run_retrain(config, *, wait=None, resume=False, force=False, verbose="auto"):
    """Run one retrain job for the project of `config`.

    Args:
        config: VTuneConfig, with paths resolved against the project folder.
        wait: float or None. Seconds to wait for another job's lock (None: fail at once).
        resume: bool. Continue an interrupted job (training from its checkpoint).
        force: bool. Train a challenger even when no data changed.
        verbose: Keras verbosity of the training, as for `FineTuner.fit`.

    Returns:
        RetrainOutcome.

    Raises:
        LockError: another retrain of the same registry is running.
        VTuneError: bad config or data; the registry is unchanged.
    """
    registry_path = Path(config.registry.path)
    with ProjectLock(registry_path / LOCK_FILE, wait=wait):
        return _RetrainJob(config, resume=resume, force=force, verbose=verbose).run()


class _RetrainJob:
    def __init__(self, config, *, resume, force, verbose):
        self.config = config
        self.resume = resume
        self.force = force
        self.verbose = verbose
        self.registry = Registry(config.registry.path)
        self.runs_dir = Path(config.output.run_dir).parent

    def run(self):
        config = self.config
        if config.is_multitask:
            raise ConfigError(
                format_error(
                    "`vtune retrain` trains single-task models; this config defines `tasks`.",
                    where="tasks",
                    fix="Retrain a multi-task model with `vtune train --resume` and `vtune registry promote` for now.",
                )
            )
        if config.distribution.strategy == "multi_worker":
            raise ConfigError(
                format_error(
                    "`vtune retrain` runs in one process, so it cannot be one of several workers.",
                    where="distribution.strategy",
                    received="multi_worker",
                    expected="default, mirrored, tpu or auto",
                    fix="Use `mirrored` for the GPUs of one machine. To train across machines, run "
                    "`vtune train --strategy multi_worker` on every worker, then `vtune registry register` "
                    "on the chief's run.",
                )
            )
        _require(config.data.train, "data.train", "the training file the first model learns from")
        evaluation_file = config.retrain.evaluation or config.data.validation
        _require(evaluation_file, "retrain.evaluation", "a fixed evaluation file (or set `data.validation`)")

        job = JobState.load(self.registry.path) if self.resume else None
        if job is not None and job["stage"] == "registered":
            return self._finish(job)

        train_file = incoming.DataFile(config.data.train, _hash(config.data.train))
        arrived = incoming.incoming_files(config.retrain.incoming)
        seen = self.registry.seen_files()
        if job is not None:
            # A resumed job trains on the files it started with; later ones wait for the next job.
            started_with = {f["sha256"] for f in job["new_files"]}
            new_files = [f for f in arrived if f.sha256 in started_with]
            if len(new_files) != len(started_with):
                logger.warning("Files of retrain job %s are gone; starting a new job.", job["job"])
                job = None
        if job is None:
            new_files = [f for f in arrived if f.sha256 not in seen]
        old_files = [f for f in arrived if f.sha256 in seen]
        champion = self._champion() if job is None else self._version(job["champion"])
        train_changed = champion is not None and _recorded_train_hash(champion) != train_file.sha256

        if job is None and champion is not None and not new_files and not train_changed and not self.force:
            message = "Nothing to do: no new files in retrain.incoming and data.train is unchanged."
            record = self._base_record(None, champion, outcome="nothing_to_do", message=message)
            append_decision_log(config.retrain.decision_log, record)
            return RetrainOutcome(RetrainExit.NOTHING_TO_DO, message, record)
        if job is None:
            job = JobState.start(
                self.registry.path,
                self.runs_dir,
                champion=champion.version if champion else None,
                new_files=[f.to_dict() for f in new_files],
            )

        from vertical_tune.finetuner import FineTuner

        tuner = FineTuner(self._challenger_config(job["run_dir"]))
        data = self._data(tuner, train_file, old_files, new_files, train_changed, champion, evaluation_file)
        run_dir = self._train(tuner, job, data, champion)
        decision, record = self._evaluate(job, run_dir, data, champion, new_files, train_file)
        lineage = {
            "job": job["job"],
            "parent_version": champion.version if champion else None,
            "start_from": "champion" if champion and config.retrain.start_from == "champion" else "backbone",
            "new_files": [f.to_dict() for f in new_files],
        }
        # A job killed between the registration and its progress note registered already.
        info = next((v for v in self.registry.versions() if (v.lineage or {}).get("job") == job["job"]), None)
        if info is None:
            info = self.registry.register(
                run_dir, data_fingerprint=record["data"], lineage=lineage, note=f"retrain {job['job']}"
            )
        self.registry.set_alias(CHALLENGER, info.version, reason=f"retrain {job['job']}")
        record["challenger"]["version"] = info.version
        job.update(stage="registered", version=info.version, promote=decision.promote, record=record)
        return self._finish(job)

    # ------------------------------------------------------------------ steps

    def _champion(self):
        return self._version(self.registry.aliases().get(CHAMPION))

    def _version(self, version):
        return None if version is None else self.registry.get(version)

    def _challenger_config(self, run_dir):
        updated = self.config.model_copy(deep=True)
        updated.output.run_dir = run_dir
        return updated

    def _data(self, tuner, train_file, old_files, new_files, train_changed, champion, evaluation_file):
        """Load the training pool, the selection split, the evaluation set and the new rows."""
        config = self.config
        base = tuner._load(config.data.train, role="train")
        train_file.rows = len(base)
        old = [tuner._load(f.path, role="train") for f in old_files]
        new = []
        for data_file in new_files:
            part = tuner._load(data_file.path, role="train")
            data_file.rows = len(part)
            new.append(part)

        if champion is None:
            # The first model learns from everything; there is nothing to compare with.
            before, new_data, held_out = None, None, None
            pool = incoming.concatenate([base, *old, *new], "training pool")
        else:
            # A changed training file counts as new data, like the new incoming files.
            before_parts = old if train_changed else [base, *old]
            new_parts = [base, *new] if train_changed else new
            before = incoming.concatenate(before_parts, "training data before this retrain") if before_parts else None
            new_data = incoming.concatenate(new_parts, "new data") if new_parts else None
            held_in, held_out = new_data, None
            if new_data is not None:
                held_in, held_out = incoming.hold_out(new_data, config.retrain.holdout, seed=config.data.split.seed)
            pool = incoming.concatenate([*before_parts, held_in], "training pool")

        # The epoch is selected on part of the pool, never on the evaluation set.
        train, validation, _ = stratified_split(
            pool, validation=config.data.split.validation, seed=config.data.split.seed
        )

        fixed = tuner._load(evaluation_file, role="validation")
        evaluation = incoming.concatenate([fixed, held_out], "evaluation set")
        logger.info(
            "Training pool %d rows (%d for epoch selection); evaluation set %d rows (%d fixed, %d new).",
            len(pool), len(validation), len(evaluation), len(fixed), len(held_out) if held_out else 0,
        )
        return {
            "before": before,
            "new": new_data,
            "train": train,
            "validation": validation,
            "fixed": fixed,
            "held_out": held_out,
            "evaluation": evaluation,
            "evaluation_file": incoming.DataFile(str(evaluation_file), _hash(evaluation_file), len(fixed)),
        }

    def _train(self, tuner, job, data, champion):
        from vertical_tune.run_directory import REQUIRED_FILES

        run_dir = Path(job["run_dir"])
        if all((run_dir / name).is_file() for name in REQUIRED_FILES):
            logger.info("The challenger of job %s is already trained: %s", job["job"], run_dir)
            return run_dir
        warm_start = champion.path if champion and self.config.retrain.start_from == "champion" else None
        logger.info(
            "Training the challenger from %s.", f"champion v{champion.version}" if warm_start else "the backbone"
        )
        tuner.fit(
            data["train"],
            data["validation"],
            verbose=self.verbose,
            checkpoint=True,
            resume=self.resume,
            warm_start=warm_start,
            callbacks=[_LogEpochs()],
        )
        return tuner.save(run_dir)

    def _evaluate(self, job, run_dir, data, champion, new_files, train_file):
        from vertical_tune.finetuner import FineTuner

        config = self.config
        metric = resolve_metric(config.retrain.gate, config.training.selection_metric)
        challenger_model = FineTuner.load(run_dir)
        challenger = _metrics(challenger_model, data)
        incumbent = _metrics(FineTuner.load(champion.path), data) if champion else None
        decision = decide(
            challenger["evaluation"], incumbent["evaluation"] if incumbent else None, config.retrain.gate, metric=metric
        )
        drift = None
        if data["new"] is not None and data["before"] is not None:
            before = data["before"]
            drift = drift_report(
                before.texts, before.labels, data["fixed"].texts, data["fixed"].labels,
                data["new"].texts, data["new"].labels, thresholds=config.retrain.drift,
            )
            for warning in drift["warnings"]:
                logger.warning("Drift: %s", warning)
        record = self._base_record(job, champion, outcome="promoted" if decision.promote else "kept_champion")
        record.update(
            {
                "metric": metric,
                "gate": decision.to_dict(),
                "challenger": {"version": None, "metrics": _summary(challenger)},
                "champion": {"version": champion.version if champion else None,
                             "metrics": _summary(incumbent) if incumbent else None},
                "data": {
                    "train": train_file.to_dict(),
                    "incoming_new": [f.to_dict() for f in new_files],
                    "evaluation": data["evaluation_file"].to_dict(),
                    "rows": {
                        "train": len(data["train"]),
                        "selection": len(data["validation"]),
                        "evaluation_fixed": len(data["fixed"]),
                        "evaluation_new": len(data["held_out"]) if data["held_out"] else 0,
                    },
                },
                "drift_warnings": drift["warnings"] if drift else [],
            }
        )
        folder = run_dir / "retrain"
        folder.mkdir(exist_ok=True)
        write_json(folder / "decision.json", record)
        markdown = [f"# Retrain {job['job']}\n", decision_markdown(decision, challenger["evaluation"],
                                                                   incumbent["evaluation"] if incumbent else None)]
        if drift:
            write_json(folder / "drift.json", drift)
            markdown.append(drift_markdown(drift))
        (folder / "report.md").write_text("\n".join(markdown), encoding="utf-8")
        try:
            from vertical_tune.reporting.api import write_run_documents

            write_run_documents(run_dir)
        except Exception as error:  # the decision is valid without the HTML report
            logger.warning("The report of %s could not be written: %s", run_dir, error)
        return decision, record

    def _finish(self, job):
        record = job["record"]
        version = job["version"]
        if job["promote"]:
            reason = f"retrain {job['job']}: " + "; ".join(record["gate"]["reasons"])
            self.registry.promote(version, reason=reason[:2000])
            code, message = RetrainExit.PROMOTED, f"Promoted v{version} to champion."
        else:
            code = RetrainExit.KEPT_CHAMPION
            kept = f"v{job['champion']}" if job["champion"] else "no champion"
            message = f"Kept {kept}: challenger v{version} did not pass the gate."
        self.registry.mark_seen(job.get("new_files", []), job=job["job"])
        record["finished"] = _now()
        record["message"] = message
        if not any(d["record"].get("job") == job["job"] for d in self.registry.decisions(limit=20)):
            self.registry.record_decision(record)
        append_decision_log(self.config.retrain.decision_log, record)
        job.clear()
        logger.info(message)
        for reason in record["gate"]["reasons"]:
            logger.info("Gate: %s", reason)
        return RetrainOutcome(code, message, record)

    def _base_record(self, job, champion, *, outcome, message=None):
        record = {
            "job": job["job"] if job else None,
            "started": job["started"] if job else _now(),
            "outcome": outcome,
            "champion": {"version": champion.version if champion else None},
        }
        if message:
            record["message"] = message
        return record


class _LogEpochs(keras.callbacks.Callback):
    """Send one line per epoch to the log (and so to the job's log file)."""

    def on_epoch_end(self, epoch, logs=None):
        shown = {k: round(float(v), 4) for k, v in (logs or {}).items() if k in _EPOCH_KEYS}
        logger.info("Epoch %d: %s", epoch + 1, ", ".join(f"{k} {v}" for k, v in shown.items()))


_EPOCH_KEYS = ("loss", "accuracy", "val_macro_f1", "val_accuracy", "val_macro_recall", "val_roc_auc")


def _metrics(tuner, data):
    parts = {"evaluation": data["evaluation"], "fixed": data["fixed"]}
    if data["held_out"] is not None:
        parts["new"] = data["held_out"]
    return {name: tuner.evaluate(part, title=name).to_dict() for name, part in parts.items()}


def _summary(metrics):
    keep = ("macro_f1", "weighted_f1", "accuracy", "macro_recall", "macro_precision", "roc_auc", "pr_auc", "n_examples")
    result = {name: {k: part.get(k) for k in keep if k in part} for name, part in metrics.items()}
    result["per_class_recall"] = {
        label: values.get("recall") for label, values in metrics["evaluation"].get("per_class", {}).items()
    }
    return result


def append_decision_log(path, record):
    """Append `record` as one JSON line to `path` (created with its folder when missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def _recorded_train_hash(champion):
    fingerprint = champion.data_fingerprint or {}
    return (fingerprint.get("train") or {}).get("sha256") if isinstance(fingerprint, dict) else None


def _hash(source):
    path = Path(str(source))
    return incoming.sha256_of(path) if path.is_file() else str(source)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _require(value, key, what):
    if not value:
        raise ConfigError(
            format_error(
                f"`vtune retrain` needs {what}.",
                where=key,
                received=value,
                fix=f"Set `{key}` in vtune.yaml.",
            )
        )
