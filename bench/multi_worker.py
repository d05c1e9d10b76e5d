"""Train the same config with one worker and with two MultiWorkerMirroredStrategy workers.

Both runs go through the CLI (`vtune train --preset finance ...`). The two-worker run
starts two processes on 127.0.0.1 with free ports, each with its own `TF_CONFIG` and
`output.run_dir`. Worker 0 is the chief and writes the run directory. The script prints
the validation macro-F1 of both runs, their difference and the wall times.

With `distribution.batch_size: global` (the default) both runs take the same steps with
the same global batch, so the metric should match within noise.

    # tiny random backbone, a few hundred rows: checks the wiring in about a minute
    .venv/bin/python bench/multi_worker.py --backbone /tmp/tiny_preset --max-train-rows 300 --epochs 1
    # the real backbone on the finance tweets
    .venv/bin/python bench/multi_worker.py --backbone minilm_l6_offline --max-train-rows 2000 --epochs 1
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "twitter_financial_news_sentiment"
VTUNE = [sys.executable, "-m", "vertical_tune.cli.main"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="minilm_l6_offline", help="`--backbone` of `vtune train`.")
    parser.add_argument("--train", default=str(DATA / "sent_train.csv"))
    parser.add_argument("--validation", default=str(DATA / "sent_valid.csv"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-train-rows", type=int, default=2000)
    parser.add_argument("--output", default="bench_multi_worker", help="Folder for the run directories and logs.")
    parser.add_argument("--timeout", type=int, default=3600, help="Seconds before both workers are killed.")
    args = parser.parse_args()

    output = Path(args.output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    single_seconds = run_workers(args, output / "one_worker", workers=1)
    multi_seconds = run_workers(args, output / "two_workers", workers=2)

    single_f1 = macro_f1(output / "one_worker" / "run_0")
    multi_f1 = macro_f1(output / "two_workers" / "run_0")
    print(f"\nbackbone {args.backbone}, {args.max_train_rows} train rows, {args.epochs} epoch(s)\n")
    print("| | validation macro-F1 | wall time (s) |\n|---|---|---|")
    print(f"| 1 worker | {single_f1:.4f} | {single_seconds:.0f} |")
    print(f"| 2 workers | {multi_f1:.4f} | {multi_seconds:.0f} |")
    print(f"\nmacro-F1 difference (2 workers minus 1): {multi_f1 - single_f1:+.4f}; "
          f"wall time ratio: {multi_seconds / single_seconds:.2f}")


def run_workers(args, folder, *, workers):
    """Start `workers` `vtune train` processes and wait for all; return the wall time in seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    ports = free_ports(workers)
    processes = []
    started = time.perf_counter()
    for index in range(workers):
        environment = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
        environment.pop("TF_CONFIG", None)
        command = train_command(args, folder / f"run_{index}")
        if workers > 1:
            cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
            environment["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            command += ["--set", "distribution.strategy=multi_worker"]
        log = open(folder / f"worker_{index}.log", "w", encoding="utf-8")
        processes.append((subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT), log))
    try:
        for process, log in processes:
            process.wait(timeout=args.timeout)
            log.close()
            if process.returncode != 0:
                sys.exit(f"a worker failed with exit code {process.returncode}; see {log.name}")
    finally:
        for process, _ in processes:
            if process.poll() is None:
                process.kill()
    return time.perf_counter() - started


def train_command(args, run_dir):
    return VTUNE + [
        "train",
        "--preset", "finance",
        "--backbone", args.backbone,
        "--train", args.train,
        "--validation", args.validation,
        "--epochs", str(args.epochs),
        "--max-train-rows", str(args.max_train_rows),
        "--quiet",
        "--set", f"output.run_dir={run_dir}",
        "--set", "output.compare_baseline=false",
    ]


def free_ports(count):
    """Return `count` free TCP ports on 127.0.0.1 (bound to port 0, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def macro_f1(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    return metrics["validation"]["macro_f1"]


if __name__ == "__main__":
    main()
