"""The README.md written into an export folder, rendered from its export.json content."""


def render_readme(manifest):
    """Return README.md text: the files, their inputs, how to load each, and the check results."""
    labels = ", ".join(manifest["labels"])
    profile, mask_urls = manifest["normalization_profile"], manifest["normalization_mask_urls"]
    example = manifest["artifacts"][0]["path"] if manifest["artifacts"] else "onnx/model.onnx"
    lines = [
        "# Exported text classifier",
        "",
        f"Backbone `{manifest['backbone']}`, sequence length {manifest['sequence_length']}, "
        f"labels (class-index order): {labels}.",
        "",
        "## Text normalisation",
        "",
        f"Training normalised every text with the `{profile}` profile (mask_urls={mask_urls}) of "
        "`vertical_tune.data.normalize`. That step is Python code and is not part of any graph "
        "here, so apply it before calling a model:",
        "",
        "```python",
        "from vertical_tune.data.normalize import TextNormalizer",
        f"texts = TextNormalizer({profile!r}, mask_urls={mask_urls}).normalize_all(raw_texts)",
        "```",
        "",
        "The agreement figures below were measured on normalised texts.",
        "",
        "## Files",
        "",
        "| File | Format | Variant | Input | Size (bytes) | Label agreement | Max prob. diff. | ms/example (batch 1) | ms/example (batch 32) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in manifest["artifacts"]:
        lines.append(
            f"| `{entry['path']}` | {entry['format']} | {entry['variant']} | "
            f"{'strings' if entry['text_input'] else 'token ids'} | {entry['size_bytes']} | "
            f"{_number(entry.get('label_agreement'))} | {_number(entry.get('max_abs_probability_difference'))} | "
            f"{_number(entry.get('latency_ms_batch_1'), 3)} | {_number(entry.get('latency_ms_batch_32'), 3)} |"
        )
    for item in manifest.get("skipped", []):
        lines.append(f"\nNot exported: {item['format']}, because {item['reason']}.")
    lines += [
        "",
        "Latency is the median of repeated calls after warm-up, on the machine that ran the export. "
        "For models that take token ids it excludes tokenisation.",
        "",
        "## Loading",
        "",
        f"`{manifest['loader']}` loads any file listed in export.json and needs only the runtime of "
        "that format:",
        "",
        "```bash",
        f"python {manifest['loader']} {example} \"first text\" \"second text\"",
        "```",
        "",
        "- SavedModel: `import tensorflow_text` first (it registers the tokenizer ops), then "
        "`tf.saved_model.load('saved_model').signatures['serving_default'](text=tf.constant([...]))` "
        "returns `probabilities` and `label`.",
        "- Keras: `keras.saving.load_model('keras/model.keras')` is the classifier with its "
        "preprocessor, and `label_map.json` maps class indices to labels.",
    ]
    if manifest["tokenizer_in_graph"].get("litert"):
        lines.append(
            "- LiteRT: the models take raw strings (`text`). Create the interpreter with "
            "`ai_edge_litert.interpreter.InterpreterWithCustomOps(model_path=..., "
            "custom_op_registerers=tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS)`."
        )
    elif manifest["tokenizer_in_graph"].get("litert") is False:
        lines.append(
            "- LiteRT: the models take `token_ids`, `padding_mask` and `segment_ids` "
            f"(int32, [batch, {manifest['sequence_length']}]). Tokenisation stays outside because "
            f"{manifest['litert_tokenizer_reason']}."
        )
    lines += [
        "- ONNX and other token-id models: tokenise with the keras-hub preprocessor saved in "
        f"`{manifest['tokenizer_dir']}/` "
        f"(`keras_hub.models.TextClassifierPreprocessor.from_preset('{manifest['tokenizer_dir']}')`), "
        "which returns `token_ids`, `padding_mask` and `segment_ids`. Pass them as int32. "
        f"`{manifest['tokenizer_dir']}/vocabulary.txt` lists the tokens, one per line, in id order.",
        "",
    ]
    return "\n".join(lines)


def _number(value, digits=4):
    return "n/a" if value is None else f"{value:.{digits}f}"
