"""Markdown tables of a compression summary, for the run's report."""


def compression_lines(summary):
    """Return the report section: one column per stage, then per-layer sparsity and ranks."""
    rows = summary["stages"]
    header = "| | " + " | ".join(f"{index}. {row['stage']}" if index else row["stage"] for index, row in enumerate(rows)) + " |"
    measures = [
        ("Parameters", lambda row: f"{row['parameters']:,}"),
        ("Size on disk (MB)", lambda row: f"{row['size_bytes'] / 1e6:.2f}"),
        ("Size gzip-compressed (MB)", lambda row: f"{row['gzip_bytes'] / 1e6:.2f}"),
        ("Latency per example, batch 1 (ms)", lambda row: f"{row['latency_ms_batch_1']:.2f}"),
        ("Latency per example, batch 32 (ms)", lambda row: f"{row['latency_ms_batch_32']:.2f}"),
        ("Throughput, batch 32 (examples/s)", lambda row: f"{row['throughput_batch_32']:.1f}"),
    ]
    for name in rows[0]["metrics"]:
        measures.append((name, lambda row, name=name: _number(row["metrics"].get(name))))
    lines = [
        "## Compression",
        "",
        f"Methods in order: {', '.join(summary['methods'])}. Each column is the model after that step, "
        f"evaluated on the same validation rows; latency is the median Keras forward pass on "
        f"{summary['latency_texts']} validation texts with {summary['cpu_threads']} CPU threads, "
        "tokenisation excluded. Settings: "
        + ", ".join(f"`{key}={value}`" for key, value in summary["settings"].items() if key != "methods")
        + ".",
        "",
        header,
        "|---" * (len(rows) + 1) + "|",
    ]
    lines += ["| " + label + " | " + " | ".join(cell(row) for row in rows) + " |" for label, cell in measures]
    lines += [
        "",
        f"Last step against the original: macro-F1 {summary['macro_f1_change_points']:+.2f} points, "
        f"size {100 * summary['size_ratio']:.0f}%, throughput at batch 32 "
        f"{summary['throughput_ratio_batch_32']:.2f}x.",
        "",
    ]
    for row in rows[1:]:
        lines += _detail_lines(row)
    return lines


def _detail_lines(row):
    details = row["details"]
    stage = row["stage"]
    if stage == "trim":
        return [f"Trim: kept the bottom {details['layers_kept']} of {details['layers_before']} transformer layers.", ""]
    if stage == "lowrank":
        lines = ["### Low-rank kernels", "", "| layer | shape (in x out) | rank | parameters before | after | energy kept |", "|---|---|---|---|---|---|"]
        for name, layer in details["layers"].items():
            lines.append(
                f"| {name} | {layer['input_size']} x {layer['output_size']} | {layer['rank']} | "
                f"{layer['parameters_before']:,} | {layer['parameters_after']:,} | {layer['energy_kept']:.3f} |"
            )
        return lines + [""]
    if stage == "prune":
        lines = ["### Sparsity per kernel", "", "| kernel | shape | zeros | sparsity |", "|---|---|---|---|"]
        for entry in details["sparsity"]:
            shape = " x ".join(str(size) for size in entry["shape"]) if entry.get("shape") else ""
            lines.append(f"| {entry['layer']} | {shape} | {entry['zeros']:,} | {entry['sparsity']:.3f} |")
        return lines + [""]
    return []


def _number(value):
    return "n/a" if value is None else f"{value:.4f}"
