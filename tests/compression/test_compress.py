"""`FineTuner.compress` end to end on a tiny run: every method, the chain, the saved run, bad options."""

import json

import numpy as np
import pytest

from vertical_tune import load
from vertical_tune.compression.prune import sparsity_report
from vertical_tune.compression.quantize import is_quantized
from vertical_tune.errors import ConfigError

CHAIN = ["trim", "lowrank", "prune", "int8"]
ROW_KEYS = {
    "stage", "parameters", "size_bytes", "gzip_bytes", "metrics", "details",
    "latency_ms_batch_1", "latency_ms_batch_32", "throughput_batch_32",
}


@pytest.fixture(scope="module")
def chained(trained_run, tmp_path_factory):
    """The tiny run compressed by trim -> lowrank -> prune -> int8, saved and loaded back."""
    original, _ = trained_run
    compressed = original.compress(
        CHAIN, keep_layers=2, parameter_fraction=0.5, min_kernel_size=512, sparsity=0.5, epochs=1, verbose=0
    )
    path = compressed.save(tmp_path_factory.mktemp("compressed") / "run")
    return original, compressed, path


def stage(summary, name):
    return next(row for row in summary["stages"] if row["stage"] == name)


def kernel_sparsities(model):
    return [entry["sparsity"] for entry in sparsity_report(model) if entry["layer"] != "overall"]


def test_chain_has_one_row_per_stage(chained):
    _, compressed, _ = chained
    summary = compressed.compression_summary
    assert [row["stage"] for row in summary["stages"]] == ["original"] + CHAIN
    for row in summary["stages"]:
        assert ROW_KEYS <= set(row), row["stage"]
        assert row["latency_ms_batch_1"] > 0
        assert 0.0 <= row["metrics"]["macro_f1"] <= 1.0


def test_trim_keeps_bottom_layers(chained):
    original, compressed, _ = chained
    assert original.model.backbone.num_layers == 3
    assert compressed.model.backbone.num_layers == 2
    details = stage(compressed.compression_summary, "trim")["details"]
    assert details["layers_before"] == 3
    assert details["layers_kept"] == 2
    assert details["fine_tuning"]["epochs_run"] == 1


def test_trim_copies_bottom_layer_weights(trained_run):
    from vertical_tune.compression.trim import trim_layers

    original, _ = trained_run
    trimmed, _ = trim_layers(original.model, 1, dropout=0.0)
    source = original.model.backbone.get_layer("transformer_layer_0").get_weights()
    copied = trimmed.backbone.get_layer("transformer_layer_0").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(source, copied))


def test_lowrank_reduces_parameters(chained):
    _, compressed, _ = chained
    summary = compressed.compression_summary
    trimmed, factorised = stage(summary, "trim"), stage(summary, "lowrank")
    layers = factorised["details"]["layers"]
    assert layers
    assert factorised["parameters"] < trimmed["parameters"]
    for name, layer in layers.items():
        assert layer["parameters_after"] < layer["parameters_before"], name


def test_prune_reaches_target_sparsity(chained):
    _, compressed, _ = chained
    details = stage(compressed.compression_summary, "prune")["details"]
    overall = next(entry for entry in details["sparsity"] if entry["layer"] == "overall")
    assert overall["sparsity"] == pytest.approx(0.5, abs=0.01)


def test_int8_is_last_and_quantised(chained):
    original, compressed, _ = chained
    assert is_quantized(compressed.model)
    assert not is_quantized(original.model)
    summary = compressed.compression_summary
    assert stage(summary, "int8")["size_bytes"] < stage(summary, "prune")["size_bytes"]


def test_original_is_unchanged(chained, trained_run):
    original, _, _ = chained
    _, run_dir = trained_run
    reloaded = load(run_dir)
    texts = ["good stock today", "bad loss"]
    np.testing.assert_allclose(original.predict_proba(texts), reloaded.predict_proba(texts), atol=1e-6)


def test_saved_run_loads_and_predicts(chained):
    _, compressed, path = chained
    loaded = load(path)
    texts = ["good stock today", "bad loss", "the market"]
    np.testing.assert_allclose(loaded.predict_proba(texts), compressed.predict_proba(texts), atol=1e-5)
    assert is_quantized(loaded.model)
    assert loaded.model.backbone.num_layers == 2
    assert (path / "model_structure.json").is_file()


def test_saved_run_has_report_and_metrics(chained):
    _, _, path = chained
    metrics = json.loads((path / "metrics.json").read_text())
    assert [row["stage"] for row in metrics["compression"]["stages"]] == ["original"] + CHAIN
    report = (path / "report.md").read_text()
    assert "## Compression" in report
    assert "### Sparsity per kernel" in report
    assert "### Low-rank kernels" in report
    assert "Throughput, batch 32" in report


def test_prune_then_int8_keeps_zeros(trained_run, tmp_path):
    original, _ = trained_run
    pruned = original.compress(["prune"], sparsity=0.5, epochs=0, verbose=0)
    sparsities = kernel_sparsities(pruned.model)
    assert min(sparsities) == pytest.approx(0.5, abs=0.02)
    path = pruned.save(tmp_path / "pruned")
    assert kernel_sparsities(load(path).model) == sparsities


@pytest.mark.parametrize(
    "settings, key, received",
    [
        ({"methods": ["prune"], "sparsity": 1.0}, "compression.sparsity", "1.0"),
        ({"methods": ["prune"], "sparsity": -0.1}, "compression.sparsity", "-0.1"),
        ({"methods": ["int8", "prune"]}, "compression.methods", "int8"),
        ({"methods": ["lowrank"], "rank": 4, "energy": 0.9}, "compression", "energy"),
        ({"methods": ["trim"], "keep_layers": 0}, "compression.keep_layers", "0"),
    ],
)
def test_invalid_settings_are_rejected(trained_run, settings, key, received):
    original, _ = trained_run
    methods = settings.pop("methods")
    with pytest.raises(ConfigError) as error:
        original.compress(methods, verbose=0, **settings)
    assert key in str(error.value)
    assert received in str(error.value)


def test_trim_every_layer_is_rejected(trained_run):
    original, _ = trained_run
    with pytest.raises(ConfigError) as error:
        original.compress(["trim"], keep_layers=3, verbose=0)
    message = str(error.value)
    assert "compression.keep_layers" in message
    assert "Received: 3" in message
    assert "1 to 2" in message


def test_rank_larger_than_layer_is_rejected(trained_run):
    original, _ = trained_run
    with pytest.raises(ConfigError) as error:
        original.compress(["lowrank"], rank=500, min_kernel_size=512, verbose=0)
    message = str(error.value)
    assert "500" in message
    assert "transformer_layer_0" in message


def test_no_method_is_rejected(trained_run):
    original, _ = trained_run
    with pytest.raises(ConfigError, match="No compression method given"):
        original.compress(verbose=0)


def test_int8_twice_is_rejected(chained):
    _, compressed, _ = chained
    with pytest.raises(ConfigError, match="already quantised"):
        compressed.compress(["int8"], verbose=0)


def test_pruned_export_keeps_zeros(trained_run, tmp_path):
    import onnx
    from onnx import numpy_helper

    original, _ = trained_run
    pruned = original.compress(["prune"], sparsity=0.5, epochs=0, verbose=0)
    manifest = pruned.export(tmp_path / "export", ["onnx"], check_rows=20)
    fp32 = next(entry for entry in manifest["artifacts"] if entry["path"].endswith("model.onnx"))
    assert fp32["label_agreement"] == 1.0

    graph = onnx.load(tmp_path / "export" / fp32["path"]).graph
    # The converter may reshape or transpose kernels, so they are matched by size.
    pruned_sizes = {entry["size"] for entry in sparsity_report(pruned.model) if entry["layer"] != "overall"}
    kernels = [
        numpy_helper.to_array(tensor)
        for tensor in graph.initializer
        if "embedding" not in tensor.name and len(tensor.dims) >= 2 and numpy_helper.to_array(tensor).size in pruned_sizes
    ]
    zeros = sum(int((w == 0).sum()) for w in kernels)
    assert kernels
    assert zeros / sum(w.size for w in kernels) == pytest.approx(0.5, abs=0.05)


def test_lowrank_run_exports(trained_run, tmp_path):
    original, _ = trained_run
    factorised = original.compress(["lowrank"], parameter_fraction=0.5, min_kernel_size=512, epochs=0, verbose=0)
    path = factorised.save(tmp_path / "lowrank")
    manifest = load(path).export(tmp_path / "export", ["saved_model", "onnx"], check_rows=20)
    for entry in manifest["artifacts"]:
        assert entry["label_agreement"] >= 0.95, entry
