"""Kill-and-resume and lock trials of `vtune retrain`, with real processes and SIGKILL.

    .venv/bin/python bench/retrain_trials.py --trials 10 --kills 3 --out runs/bench-retrain

Setup: a project on a tiny random BERT (saved as a local preset) and a learnable
3-class task with 15% of the labels flipped, so the metric is not saturated. A
first retrain makes champion v1; then one file of new rows arrives.

1. Reference: one uninterrupted retrain of that state gives the challenger's
   macro-F1 on the evaluation set.
2. Training trials: `vtune retrain` is SIGKILLed `--kills` times at random
   moments of its training phase (each restart uses `--resume`), then runs to the
   end with `--resume`.
3. Promotion trials: the same, but each kill lands inside a random registry write
   (register, alias moves, promotion, bookkeeping), just before or just after the
   real call, through `bench/_kill_hook.py`.
After every kill the registry is opened and the champion alias must point at a
complete, loadable model. The final challenger's macro-F1 is compared with the
reference.
4. Lock trials: two `vtune retrain` started together on the same project, each
   time with new data; exactly one may train (the other exits with code 75).

Prints one line per trial and a summary; writes `trials.json` under `--out`.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers import save_tiny_bert_preset, sentiment_frame  # noqa: E402

HOOK = REPO / "bench" / "_kill_hook.py"
KILL_CALLS = ("register", "set_alias", "promote", "mark_seen", "record_decision")


def noisy_frame(rows_per_class, seed, noise=0.15):
    frame = sentiment_frame(rows_per_class, seed=seed)
    rng = random.Random(seed + 1000)
    labels = sorted(frame["label"].unique())
    flip = [rng.random() < noise for _ in range(len(frame))]
    frame.loc[flip, "label"] = [rng.choice(labels) for _ in range(sum(flip))]
    return frame


def make_project(root, preset):
    import yaml

    root.mkdir(parents=True)
    noisy_frame(60, seed=0).to_csv(root / "train.csv", index=False)
    noisy_frame(100, seed=1).to_csv(root / "evaluation.csv", index=False)
    (root / "incoming").mkdir()
    config = {
        "industry": "finance",
        "task": {"labels": "from_data"},
        "data": {"train": "train.csv", "validation": "evaluation.csv"},
        "backbone": {"preset": preset, "sequence_length": 16},
        "normalization": {"profile": "general"},
        "training": {
            "epochs": 4, "batch_size": 16, "learning_rate": 5e-3, "schedule": "constant", "warmup_ratio": 0.0,
            "dropout": 0.0, "early_stopping_patience": None, "checkpoint_every_steps": 3,
        },
        "output": {"run_dir": "runs/latest", "compare_baseline": False},
        # The finance preset's floor (the TF-IDF baseline on real tweets) does not apply here.
        "retrain": {"incoming": "incoming", "gate": {"margin": 0.0, "max_recall_drop": 1.0, "floors": {"macro_f1": 0.0}}},
    }
    (root / "vtune.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def retrain_command(project, *extra, hook_env=None):
    env = dict(os.environ, **(hook_env or {}))
    runner = [sys.executable, str(HOOK)] if hook_env else [sys.executable, "-m", "vertical_tune.cli.main"]
    command = runner + ["retrain", "--config", str(project / "vtune.yaml"), "--quiet", *extra]
    return subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(job, timeout=600):
    out, err = job.communicate(timeout=timeout)
    return job.returncode, out, err


def champion_is_loadable(project):
    """Open the registry; the champion must be complete and predict. Returns its version."""
    from vertical_tune.finetuner import FineTuner
    from vertical_tune.registry import Registry

    registry = Registry.open(project / "registry")
    version = registry.aliases().get("champion")
    tuner = FineTuner.load(registry.get(version).path)
    tuner.predict(["good profit today"])
    return version


def last_record(project):
    """Return the last decision that trained a challenger (not a "nothing to do" line)."""
    lines = (project / "logs" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    return [r for r in records if r["outcome"] in ("promoted", "kept_champion")][-1]


def challenger_f1(record):
    return record["challenger"]["metrics"]["evaluation"]["macro_f1"]


def training_trial(base, work, kills, train_seconds, rng):
    project = fresh_copy(base, work)
    events = []
    for number in range(kills):
        job = retrain_command(project, *(["--resume"] if number else []))
        job_file = project / "registry" / "retrain-job.json"
        started = wait_for(job, job_file.is_file)
        delay = rng.uniform(0.0, train_seconds)
        deadline = time.monotonic() + delay
        while job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        killed = job.poll() is None
        if killed:
            os.kill(job.pid, signal.SIGKILL)
        job.communicate()
        events.append({"kill": number + 1, "after_seconds": round(delay, 2), "job_started": started,
                       "killed": killed, "champion": champion_is_loadable(project)})
        if not killed:
            break  # the job finished first; there is nothing left to interrupt
    code, out, err = finish(retrain_command(project, "--resume"))
    return project, code, events, err


def promotion_trial(base, work, kills, rng):
    project = fresh_copy(base, work)
    events = []
    for number in range(kills):
        call, when = rng.choice(KILL_CALLS), rng.choice(("before", "after"))
        job = retrain_command(project, *(["--resume"] if number else []),
                              hook_env={"BENCH_KILL_CALL": call, "BENCH_KILL_WHEN": when})
        code, _, _ = finish(job)
        events.append({"kill": number + 1, "call": call, "when": when, "exit": code,
                       "champion": champion_is_loadable(project)})
    code, out, err = finish(retrain_command(project, "--resume"))
    return project, code, events, err


def lock_trial(project, number):
    (project / "incoming" / f"lock-{number}.csv").write_text(
        noisy_frame(4, seed=500 + number).to_csv(index=False), encoding="utf-8"
    )
    jobs = [retrain_command(project), retrain_command(project)]
    codes = sorted(finish(job)[0] for job in jobs)
    return codes


def fresh_copy(base, work):
    target = work / f"trial-{time.time_ns()}"
    shutil.copytree(base, target)
    return target


def wait_for(job, condition, timeout=300):
    started = time.monotonic()
    while not condition():
        if job.poll() is not None or time.monotonic() - started > timeout:
            break
        time.sleep(0.02)
    return round(time.monotonic() - started, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--lock-trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-retrain"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    shutil.rmtree(args.out, ignore_errors=True)
    work = args.out / "work"
    preset = save_tiny_bert_preset(args.out / "preset")

    # Champion v1, then the new file arrives: the state every trial starts from.
    base = work / "base"
    make_project(base, preset)
    code, _, err = finish(retrain_command(base))
    assert code == 10, err
    noisy_frame(30, seed=7).to_csv(base / "incoming" / "week-2.csv", index=False)

    reference = fresh_copy(base, work)
    started = time.monotonic()
    job = retrain_command(reference)
    wait_for(job, (reference / "registry" / "retrain-job.json").is_file)
    job_seen = time.monotonic()
    code, _, err = finish(job)
    assert code in (10, 11), err
    # Kills land in the first 80% of the job: training, evaluation and registration.
    train_seconds = 0.8 * (time.monotonic() - job_seen)
    reference_f1 = challenger_f1(last_record(reference))
    print(f"reference: exit {code}, challenger macro-F1 {reference_f1:.4f}, job {time.monotonic() - started:.1f} s "
          f"({train_seconds:.1f} s after the job note appeared)")

    results = {"reference_f1": reference_f1, "training": [], "promotion": [], "lock": []}
    for kind in ("training", "promotion"):
        for trial in range(args.trials):
            if kind == "training":
                project, code, events, err = training_trial(base, work, args.kills, train_seconds, rng)
            else:
                project, code, events, err = promotion_trial(base, work, args.kills, rng)
            f1 = challenger_f1(last_record(project))
            champion = champion_is_loadable(project)
            row = {"trial": trial + 1, "exit": code, "f1": f1, "difference_points": 100 * (f1 - reference_f1),
                   "champion": champion, "kills": events}
            results[kind].append(row)
            print(f"{kind} {trial + 1}: exit {code}, macro-F1 {f1:.4f} "
                  f"({row['difference_points']:+.2f} points), champion v{champion}, "
                  f"kills {[e.get('call', e.get('after_seconds')) for e in events]}")
            if code not in (10, 11):
                print(err[-2000:])
            shutil.rmtree(project, ignore_errors=True)

    lock_project = fresh_copy(base, work)
    for trial in range(args.lock_trials):
        codes = lock_trial(lock_project, trial)
        results["lock"].append(codes)
        print(f"lock {trial + 1}: exit codes {codes}")

    summary = {}
    for kind in ("training", "promotion"):
        rows = results[kind]
        summary[kind] = {
            "trials": len(rows),
            # The last run exits 0 when the job already ended during a kill attempt.
            "finished": sum(r["exit"] in (0, 10, 11) for r in rows),
            "champion_loadable_after_every_kill": all(e["champion"] for r in rows for e in r["kills"]),
            "kills_landed": sum(e.get("killed", True) for r in rows for e in r["kills"]),
            "max_abs_difference_points": max((abs(r["difference_points"]) for r in rows), default=None),
        }
    summary["lock"] = {
        "trials": len(results["lock"]),
        "exactly_one_trained": sum(codes.count(75) == 1 and sum(c in (10, 11) for c in codes) == 1
                                   for codes in results["lock"]),
    }
    results["summary"] = summary
    (args.out / "trials.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
