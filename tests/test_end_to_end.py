"""The real packaged MiniLM-L6 on real data: the job users run, shortened to fit CI."""

import json
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
import yaml

from vertical_tune import FineTuner, load
from vertical_tune.project.init import init_project

MAJORITY_CLASS_MACRO_F1 = 0.27  # always predicting Neutral on the finance validation file


@pytest.mark.slow
def test_finance_minilm_beats_majority_baseline(shared_datasets, tmp_path):
    folder = shared_datasets / "twitter_financial_news_sentiment"
    validation = pd.read_csv(folder / "sent_valid.csv").sample(n=600, random_state=0)
    tuner = FineTuner.from_preset(
        "finance",
        data={"train": str(folder / "sent_train.csv"), "max_train_rows": 2000},
        backbone={"sequence_length": 48},
        training={"epochs": 2, "class_weight": "balanced"},
        output={"run_dir": str(tmp_path / "run")},
    )
    tuner.fit(validation=validation, verbose=0)
    macro_f1 = tuner.validation_report["macro_f1"]
    assert macro_f1 >= MAJORITY_CLASS_MACRO_F1 + 0.25, tuner.validation_report

    path = tuner.save()
    texts = ["$AAPL beats estimates, shares jump", "Café owner sees shares plunge after weak quarter"]
    reloaded = load(path)
    assert list(reloaded.predict(texts)["label"]) == list(tuner.predict(texts)["label"])
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["validation"]["macro_f1"] == pytest.approx(macro_f1)


@pytest.mark.slow
def test_project_notebook_runs(tmp_path):
    init_project("finance", tmp_path)
    config_path = tmp_path / "vtune.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["data"]["max_train_rows"] = 150
    config["training"]["epochs"] = 1
    config["backbone"]["sequence_length"] = 32
    config["output"]["compare_baseline"] = False
    config_path.write_text(yaml.safe_dump(config))

    notebook = nbformat.read(tmp_path / "notebook.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    script = tmp_path / "notebook_cells.py"
    script.write_text(code.replace("\nreport\n", "\nprint(report)\n"))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "runs" / "notebook" / "model.keras").is_file()
