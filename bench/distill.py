"""Distil a fine-tuned MiniLM-L6 teacher into a 2-layer student, against the same student on hard labels.

Everything runs in this one script on an industry's shared data set, with the splits
of bench/presets.py. The script fine-tunes the teacher with the preset. Then it trains
two students with the same initialisation (layers 2 and 5 of the teacher), epochs,
batch size and learning rate. One is distilled (soft targets plus hard labels, `alpha` and
`temperature` below); the other trains on the hard labels only (`alpha=1`). Latency is
measured on already tokenized validation texts, alternating teacher and student.

    .venv/bin/python bench/distill.py finance --teacher-epochs 1 --student-epochs 2
    .venv/bin/python bench/distill.py medical --sequence-length 128 --teacher-epochs 4 --student-epochs 4
"""

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from presets import load_split  # noqa: E402  (bench/presets.py, next to this script)

from vertical_tune import FineTuner  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("industry", choices=["finance", "medical"])
    parser.add_argument("--teacher-epochs", type=int, default=1)
    parser.add_argument("--student-epochs", type=int, default=2)
    parser.add_argument("--student-layers", type=int, default=2)
    parser.add_argument("--sequence-length", type=int)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.5)
    args = parser.parse_args()

    backbone = {"sequence_length": args.sequence_length} if args.sequence_length else {}
    teacher = FineTuner.from_preset(
        args.industry, training={"epochs": args.teacher_epochs}, backbone=backbone, output={"compare_baseline": False}
    )
    train, validation = load_split(args.industry)
    started = time.perf_counter()
    teacher.fit(train, validation, verbose=0)
    print(f"teacher: {time.perf_counter() - started:.0f} s, validation macro-F1 {teacher.validation_report['macro_f1']:.4f}", flush=True)

    config = teacher.config.model_copy(deep=True)
    config.training.epochs = args.student_epochs
    results = {}
    for name, alpha in (("distilled", args.alpha), ("hard labels only", 1.0)):
        started = time.perf_counter()
        student = teacher.distill(
            train=train,
            validation=validation,
            config=config,
            student_layers=args.student_layers,
            temperature=args.temperature,
            alpha=alpha,
            verbose=0,
        )
        results[name] = (student, time.perf_counter() - started)
        print(f"{name}: {results[name][1]:.0f} s, validation macro-F1 {student.validation_report['macro_f1']:.4f}", flush=True)

    summary = results["distilled"][0].distillation_summary
    teacher_row, student_row = summary["teacher"], summary["student"]
    direct = results["hard labels only"][0].validation_report
    print(f"\n{args.industry}: {len(train)} train rows, {len(validation)} validation rows, sequence length "
          f"{config.backbone.sequence_length}; teacher {args.teacher_epochs} epoch(s), students {args.student_epochs} "
          f"epoch(s), {args.student_layers} layers (teacher layers {summary['teacher_layers_kept']}), "
          f"temperature {args.temperature}, alpha {args.alpha}\n")
    print("| | teacher | distilled student | student on hard labels |\n|---|---|---|---|")
    for metric in ("macro_f1", "accuracy", "roc_auc"):
        print(f"| {metric} | {teacher_row['metrics'][metric]:.4f} | {student_row['metrics'][metric]:.4f} | {direct[metric]:.4f} |")
    print(f"| parameters | {teacher_row['parameters']:,} | {student_row['parameters']:,} | same |")
    print(f"| size on disk (MB) | {teacher_row['size_bytes'] / 1e6:.1f} | {student_row['size_bytes'] / 1e6:.1f} | same |")
    for batch in (1, 32):
        key = f"latency_ms_batch_{batch}"
        print(f"| ms per example, batch {batch} | {teacher_row[key]:.2f} | {student_row[key]:.2f} | same |")
    print(f"\nmacro-F1 kept: {summary['macro_f1_kept']:.3f}; speed-up batch 1: {summary['speedup_batch_1']:.2f}x, "
          f"batch 32: {summary['speedup_batch_32']:.2f}x; distilled minus hard-label student: "
          f"{100 * (student_row['metrics']['macro_f1'] - direct['macro_f1']):+.1f} macro-F1 points")
    print(json.dumps({k: v for k, v in summary.items() if k not in ("teacher", "student")}))


if __name__ == "__main__":
    main()
