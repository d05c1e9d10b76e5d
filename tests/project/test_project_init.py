"""`init_project`: renders a complete project and never leaves it half-written."""

import json
import pathlib

import nbformat
import pytest
import yaml

from vertical_tune.config.schema import VTuneConfig
from vertical_tune.errors import ConfigError, ProjectError
from vertical_tune.project.init import init_project, project_config
from vertical_tune.schedule.render import job_name

INDUSTRIES = ["finance", "medical", "retail"]

PROJECT_FILES = [
    "vtune.yaml",
    "README.md",
    "notebook.ipynb",
    "data/train.csv",
    "data/validation.csv",
    "data/NOTICE.md",
]


def project_files(directory):
    """Return PROJECT_FILES and the schedule job files, whose names contain the folder name."""
    job = job_name(directory)
    return PROJECT_FILES + [
        "schedule/crontab",
        f"schedule/{job}.service",
        f"schedule/{job}.timer",
        "schedule/cronjob.yaml",
        f"schedule/{job.replace('-', '_')}.py",
        "data/incoming/README.md",
    ]


def relative_files(directory):
    return sorted(
        path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()
    )


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """One rendered project per industry, shared by the read-only tests."""
    root = tmp_path_factory.mktemp("projects")
    return {industry: (root / industry, init_project(industry, root / industry)) for industry in INDUSTRIES}


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_init_writes_project_files(projects, industry):
    directory, written = projects[industry]

    assert [path.relative_to(directory).as_posix() for path in written] == project_files(directory)
    assert relative_files(directory) == sorted(project_files(directory))


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_init_config_round_trips(projects, industry):
    directory, _ = projects[industry]

    loaded = VTuneConfig.model_validate(yaml.safe_load((directory / "vtune.yaml").read_text("utf-8")))

    assert loaded == project_config(industry)


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_init_config_points_into_project(projects, industry):
    directory, _ = projects[industry]

    config = VTuneConfig.model_validate(yaml.safe_load((directory / "vtune.yaml").read_text("utf-8")))

    assert config.industry == industry
    assert config.data.train == "data/train.csv"
    assert config.data.validation == "data/validation.csv"
    assert config.output.run_dir == f"runs/{industry}"
    assert config.backbone.preset == "minilm_l6_offline"


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_init_copies_sample_data(projects, industry):
    directory, _ = projects[industry]
    templates = pathlib.Path(__file__).resolve().parents[2] / "templates" / "data" / industry

    for name in ("train.csv", "validation.csv", "NOTICE.md"):
        assert (directory / "data" / name).read_bytes() == (templates / name).read_bytes(), name


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_notebook_is_valid_v4(projects, industry):
    directory, _ = projects[industry]

    notebook = nbformat.read(directory / "notebook.ipynb", as_version=nbformat.NO_CONVERT)

    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert {cell.cell_type for cell in notebook.cells} == {"markdown", "code"}


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_notebook_code_cells_compile(projects, industry):
    directory, _ = projects[industry]
    notebook = nbformat.read(directory / "notebook.ipynb", as_version=4)

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        compile(cell.source, f"{industry} notebook {cell.id}", "exec")


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_notebook_uses_python_api(projects, industry):
    directory, _ = projects[industry]
    notebook = nbformat.read(directory / "notebook.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")

    for call in (
        "from vertical_tune import FineTuner",
        'FineTuner.from_config("vtune.yaml")',
        "history = tuner.fit()",
        'report = tuner.evaluate("data/validation.csv")',
        "report.to_dict()",
        "tuner.predict([",
        'tuner.save("runs/notebook")',
        "import vertical_tune",
        'reloaded = vertical_tune.load("runs/notebook")',
    ):
        assert call in code, call


def test_notebook_predicts_industry_text(projects):
    directory, _ = projects["finance"]
    notebook = nbformat.read(directory / "notebook.ipynb", as_version=4)

    predict_cell = next(cell for cell in notebook.cells if "tuner.predict(" in cell.source)
    assert "$ACME" in predict_cell.source


def test_notebook_is_identical_on_rerender(projects, tmp_path):
    directory, _ = projects["retail"]

    init_project("retail", tmp_path)

    assert (tmp_path / "notebook.ipynb").read_bytes() == (directory / "notebook.ipynb").read_bytes()


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_readme_lists_next_commands(projects, industry):
    directory, _ = projects[industry]
    readme = (directory / "README.md").read_text("utf-8")

    for command in (
        "vtune train --config vtune.yaml",
        f"vtune evaluate runs/{industry} --data data/validation.csv",
        f"vtune predict runs/{industry} --input data/validation.csv --output predictions.csv",
        "vtune config show --config vtune.yaml",
        "vtune retrain --config vtune.yaml",
        "vtune schedule --config vtune.yaml",
        "--backbone hub",
        "backbone.preset",
        "data/NOTICE.md",
    ):
        assert command in readme, command


def test_readme_names_hub_backbone(projects):
    directory, _ = projects["finance"]

    assert "hf://ProsusAI/finbert" in (directory / "README.md").read_text("utf-8")


def test_notebook_json_has_kernelspec(projects):
    directory, _ = projects["medical"]

    metadata = json.loads((directory / "notebook.ipynb").read_text("utf-8"))["metadata"]

    assert metadata["kernelspec"]["name"] == "python3"


def test_init_rejects_existing_files(tmp_path):
    existing = tmp_path / "vtune.yaml"
    existing.write_text("mine\n", encoding="utf-8")

    with pytest.raises(ProjectError) as raised:
        init_project("finance", tmp_path)

    message = str(raised.value)
    assert str(existing) in message
    assert "--force" in message
    assert "another directory" in message
    assert existing.read_text("utf-8") == "mine\n"
    assert relative_files(tmp_path) == ["vtune.yaml"]
    assert list(tmp_path.iterdir()) == [existing]


def test_init_error_lists_every_existing_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("text,label\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("# mine\n", encoding="utf-8")

    with pytest.raises(ProjectError) as raised:
        init_project("retail", tmp_path)

    message = str(raised.value)
    assert str(tmp_path / "data" / "train.csv") in message
    assert str(tmp_path / "README.md") in message
    assert str(tmp_path / "vtune.yaml") not in message


def test_init_force_overwrites(tmp_path):
    existing = tmp_path / "vtune.yaml"
    existing.write_text("mine\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("keep\n", encoding="utf-8")

    written = init_project("medical", tmp_path, force=True)

    assert existing in written
    assert existing.read_text("utf-8").startswith("# vtune.yaml of a medical project")
    assert (tmp_path / "notes.txt").read_text("utf-8") == "keep\n"
    assert relative_files(tmp_path) == sorted(project_files(tmp_path) + ["notes.txt"])


def test_init_creates_missing_parents(tmp_path):
    directory = tmp_path / "a" / "b" / "project"

    init_project("finance", directory)

    assert (directory / "vtune.yaml").is_file()


def test_init_accepts_string_path(tmp_path):
    written = init_project("finance", str(tmp_path / "project"))

    assert written[0] == tmp_path / "project" / "vtune.yaml"


def test_init_unknown_industry_lists_known(tmp_path):
    directory = tmp_path / "project"

    with pytest.raises(ConfigError) as raised:
        init_project("legal", directory)

    message = str(raised.value)
    assert "legal" in message
    for industry in INDUSTRIES:
        assert industry in message
    assert not directory.exists()


def test_init_rejects_file_as_directory(tmp_path):
    path = tmp_path / "project"
    path.write_text("not a directory\n", encoding="utf-8")

    with pytest.raises(ProjectError) as raised:
        init_project("finance", path)

    assert "is a file" in str(raised.value)
    assert str(path) in str(raised.value)
    assert path.read_text("utf-8") == "not a directory\n"


def test_init_rejects_path_below_file(tmp_path):
    blocker = tmp_path / "project"
    blocker.write_text("not a directory\n", encoding="utf-8")

    with pytest.raises(ProjectError) as raised:
        init_project("finance", blocker / "inner")

    assert "is a file" in str(raised.value)


def test_init_rejects_data_file_in_place_of_folder(tmp_path):
    (tmp_path / "data").write_text("a file named data\n", encoding="utf-8")

    with pytest.raises(ProjectError) as raised:
        init_project("finance", tmp_path, force=True)

    assert str(tmp_path / "data") in str(raised.value)
    assert relative_files(tmp_path) == ["data"]


def test_init_force_rejects_directory_target(tmp_path):
    (tmp_path / "README.md").mkdir()

    with pytest.raises(ProjectError) as raised:
        init_project("finance", tmp_path, force=True)

    assert str(tmp_path / "README.md") in str(raised.value)
    assert relative_files(tmp_path) == []


def test_init_failure_leaves_nothing(tmp_path, monkeypatch):
    directory = tmp_path / "new" / "project"

    def fail_replace(source, target):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr("vertical_tune.project.init.os.replace", fail_replace)

    with pytest.raises(ProjectError) as raised:
        init_project("retail", directory)

    assert "No space left on device" in str(raised.value)
    assert not (tmp_path / "new").exists()


def test_init_failure_midway_removes_new_files(tmp_path, monkeypatch):
    import os

    calls = []
    real_replace = os.replace

    def fail_third_replace(source, target):
        calls.append(target)
        if len(calls) == 3:
            raise OSError(5, "Input/output error", str(target))
        real_replace(source, target)

    monkeypatch.setattr("vertical_tune.project.init.os.replace", fail_third_replace)

    with pytest.raises(ProjectError):
        init_project("finance", tmp_path)

    assert list(tmp_path.iterdir()) == []
