"""Render a new project for one industry (`vtune init`).

A project contains `vtune.yaml` (the resolved config, every key commented), sample
data with its NOTICE, a README, a notebook, and in `schedule/` the job files that run
`vtune retrain` weekly under cron, systemd, Kubernetes or Airflow. Templates are read through
`vertical_tune.resources.package_folder`, so rendering works from an installed wheel
as well as from a source checkout.
"""

import csv
import io
import os
import pathlib
import tempfile

import jinja2
import nbformat
import yaml

from vertical_tune.config.presets import load_preset_dict
from vertical_tune.config.schema import VTuneConfig
from vertical_tune.resources import package_folder
from vertical_tune.errors import ProjectError, format_error
from vertical_tune.project.config_yaml import render_config_yaml
from vertical_tune.schedule.render import DEFAULT_CRON, render_schedule, schedule_context, target_files

_TEMPLATES_PACKAGE = "vertical_tune.templates"

CONFIG_FILE = "vtune.yaml"
TRAIN_FILE = "data/train.csv"
# New labelled files for `vtune retrain` arrive here; the README inside explains how.
INCOMING_DIR = "data/incoming"
VALIDATION_FILE = "data/validation.csv"
NOTICE_FILE = "data/NOTICE.md"
README_FILE = "README.md"
NOTEBOOK_FILE = "notebook.ipynb"
SCHEDULE_DIR = "schedule"

# Files copied unchanged from templates/data/<industry>/, keyed by project path.
_SAMPLE_FILES = {
    TRAIN_FILE: "train.csv",
    VALIDATION_FILE: "validation.csv",
    NOTICE_FILE: "NOTICE.md",
}


def init_project(industry, directory, *, force=False, variant=None):
    """Render a new project for `industry` into `directory`.

    Everything is rendered first and then moved into place, so a failure leaves
    no half-written project. `directory` and its parents are created as needed.

    Args:
        industry: str. Name of an industry preset, e.g. `"finance"`.
        directory: str or os.PathLike. Project directory.
        force: bool. Overwrite project files that already exist. Defaults to False.
        variant: str or None. A variant of the preset, e.g. `"multitask"`.

    Returns:
        list of pathlib.Path. The files written, `vtune.yaml` first.

    Raises:
        ConfigError: `industry` is not a known preset; the message lists the known ones.
        ProjectError: `directory` is a file, project files exist and `force` is
            False, a project file path is a directory, or writing fails.

    Example:
    >>> init_project("finance", "finance-demo")
    [PosixPath('finance-demo/vtune.yaml'), ...]
    """
    directory = pathlib.Path(directory)
    config = project_config(industry, variant)
    files = render_project(industry, config, variant=variant, directory=directory)
    _check_targets(directory, files, force=force)
    return _write_files(directory, files)


def project_config(industry, variant=None):
    """Return the resolved config of a new `industry` project.

    The preset is merged over the schema defaults, and the data and run paths
    point into the project directory.
    """
    name = f"{industry}/{variant}" if variant else industry
    config = VTuneConfig.model_validate(load_preset_dict(name))
    config.data.train = TRAIN_FILE
    config.data.validation = VALIDATION_FILE
    config.output.run_dir = f"runs/{industry}"
    config.retrain.incoming = INCOMING_DIR
    return config


def render_project(industry, config, *, variant=None, directory="."):
    """Render the project files in memory.

    `directory` is where the project will be written. The schedule job files contain
    its absolute path, because a scheduler starts them outside the project.

    Returns:
        dict mapping each project-relative POSIX path to the file's bytes.
    """
    templates = package_folder("templates")
    sample_files = _read_sample_files(templates, industry)
    _check_sample_columns(industry, variant, config, sample_files[TRAIN_FILE])
    context = _template_context(templates, industry, config, sample_files)
    schedule_files, context["schedule_files"] = _render_schedule_files(directory, config)

    command = f"vtune init --industry {industry}" + (f" --{variant}" if variant else "")
    config_text = (
        f"# {CONFIG_FILE} of a {industry} project, written by `{command}`.\n"
        + render_config_yaml(config)
    )
    readme_text = _render_template(templates, "README.md.j2", context)
    notebook_text = _build_notebook(_render_template(templates, "notebook.py.j2", context))

    files = {
        CONFIG_FILE: config_text.encode("utf-8"),
        README_FILE: readme_text.encode("utf-8"),
        NOTEBOOK_FILE: notebook_text.encode("utf-8"),
    }
    files.update(sample_files)
    files.update(schedule_files)
    files[f"{INCOMING_DIR}/README.md"] = _INCOMING_README.encode("utf-8")
    return files


def _render_schedule_files(directory, config):
    """Render the retrain job of every scheduler, on the default weekly schedule.

    Returns:
        `(files, names)`: project path to bytes, and the file names of each target.
    """
    context = schedule_context(
        pathlib.Path(directory).resolve() / CONFIG_FILE, DEFAULT_CRON, log_file=config.retrain.log_file
    )
    files = {
        f"{SCHEDULE_DIR}/{name}": text.encode("utf-8") for name, text in render_schedule(context).items()
    }
    return files, target_files(context)


def _read_sample_files(templates, industry):
    data_dir = templates / "data" / industry
    files = {}
    for project_path, name in _SAMPLE_FILES.items():
        source = data_dir / name
        if not source.is_file():
            raise ProjectError(
                format_error(
                    f"The package has no sample data for industry {industry!r}.",
                    where=f"{_TEMPLATES_PACKAGE}: data/{industry}/{name}",
                    fix="Reinstall vertical_tune; a custom preset needs its own sample data there.",
                )
            )
        files[project_path] = source.read_bytes()
    return files


def _check_sample_columns(industry, variant, config, train_bytes):
    """Fail when the sample data lacks a column the config reads (a variant for other data)."""
    header = next(csv.reader(io.StringIO(train_bytes.decode("utf-8"), newline="")))
    text = config.task.text_column
    needed = ([text] if isinstance(text, str) else list(text))
    for task in config.tasks or []:
        needed += task.columns
    if not config.tasks:
        needed.append(config.task.label_column)
    missing = [column for column in needed if column not in header]
    if missing:
        name = f"{industry}/{variant}" if variant else industry
        raise ProjectError(
            format_error(
                f"The {industry} sample data cannot train preset {name!r}: it lacks columns it needs.",
                where=f"{_TEMPLATES_PACKAGE}: data/{industry}/train.csv",
                received=f"missing {', '.join(map(repr, missing))}",
                expected=f"the columns {', '.join(map(repr, needed))}",
                fix=(
                    f"This preset is for data that cannot ship with the package. Train it on "
                    f"your own file: vtune train --preset {name} --train FILE"
                ),
            )
        )


def _template_context(templates, industry, config, sample_files):
    """Collect the values the README and notebook templates use."""
    industries = yaml.safe_load((templates / "project" / "industries.yaml").read_text("utf-8"))
    texts = industries.get(industry)
    if texts is None:
        raise ProjectError(
            format_error(
                f"The package has no project texts for industry {industry!r}.",
                where=f"{_TEMPLATES_PACKAGE}: project/industries.yaml",
                expected=f"one of {', '.join(sorted(industries))}",
                fix="Reinstall vertical_tune; a custom preset needs an entry in that file.",
            )
        )

    labels = config.task.labels
    if isinstance(labels, dict):
        label_names = list(labels.values())
    elif isinstance(labels, list):
        label_names = list(labels)
    else:
        label_names = []  # `from_data`: the names are known only after reading the data.

    return {
        "industry": industry,
        "config": config,
        "title": texts["title"],
        "example_text": texts["example_text"],
        "data_source": texts["data_source"],
        "hub_preset": config.backbone.hub_preset,
        "label_names": label_names,
        "train_rows": _count_csv_rows(sample_files[TRAIN_FILE]),
        "validation_rows": _count_csv_rows(sample_files[VALIDATION_FILE]),
    }


def _count_csv_rows(data):
    # The csv module, not a line count, because quoted texts contain line breaks.
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    return sum(1 for _ in reader) - 1


def _render_template(templates, name, context):
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    # `py` writes a value as a Python literal, for text placed inside code cells.
    environment.filters["py"] = repr
    source = (templates / "project" / name).read_text("utf-8")
    return environment.from_string(source).render(context)


def _build_notebook(source):
    """Build an nbformat v4 notebook from cells in the percent format.

    A line starting with `# %%` opens a code cell, `# %% [markdown]` a Markdown
    cell whose lines carry a leading `# `. Returns the notebook as JSON text.
    """
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}

    for index, (kind, lines) in enumerate(_split_cells(source)):
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        # Fixed ids keep the file identical from one `vtune init` to the next.
        cell.id = f"cell-{index:02d}"
        notebook.cells.append(cell)

    nbformat.validate(notebook)
    return nbformat.writes(notebook)


def _split_cells(source):
    """Yield `(kind, lines)` per cell. Text before the first marker is dropped."""
    kind, lines = None, []
    for line in source.splitlines():
        if line.startswith("# %%"):
            if kind is not None:
                yield kind, lines
            kind = "markdown" if "[markdown]" in line else "code"
            lines = []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind == "code":
            lines.append(line)
    if kind is not None:
        yield kind, lines


def _check_targets(directory, files, *, force):
    """Raise `ProjectError` unless every project file can be written."""
    first_existing = next(path for path in (directory, *directory.parents) if path.exists())
    if not first_existing.is_dir():
        raise ProjectError(
            format_error(
                "The project directory cannot be created because the path is a file.",
                where=str(first_existing),
                received=str(directory),
                fix="Pass the path of a directory, or of a new directory to create.",
            )
        )
    if not directory.exists():
        return

    for project_path in files:
        parent = (directory / project_path).parent
        if parent.exists() and not parent.is_dir():
            raise ProjectError(
                format_error(
                    f"Cannot write {project_path}: its folder is a file.",
                    where=str(parent),
                    fix="Remove or rename that file, or choose another directory.",
                )
            )

    existing = [directory / p for p in files if os.path.lexists(directory / p)]
    directories = [path for path in existing if path.is_dir() and not path.is_symlink()]
    if directories:
        raise ProjectError(
            format_error(
                "Cannot write project files over directories.",
                where=", ".join(str(path) for path in directories),
                fix="Remove or rename those directories, or choose another directory.",
            )
        )
    if existing and not force:
        raise ProjectError(
            format_error(
                f"The directory {str(directory)!r} already has project files; nothing was written.",
                where=", ".join(str(path) for path in existing),
                fix=(
                    "Pass --force (force=True in Python) to overwrite them, "
                    "or choose another directory."
                ),
            )
        )


def _write_files(directory, files):
    """Write `files` into a staging directory, then move each into place.

    Staging sits inside `directory`, on the same file system, so each move is an
    atomic rename. On failure, new files and directories are removed again.
    """
    created_dirs = [path for path in (directory, *directory.parents) if not path.exists()]
    moved = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=directory, prefix=".vtune-init-") as staging:
            staging = pathlib.Path(staging)
            for project_path, data in files.items():
                staged = staging / project_path
                staged.parent.mkdir(parents=True, exist_ok=True)
                staged.write_bytes(data)

            for project_path in files:
                target = directory / project_path
                if not target.parent.exists():
                    created_dirs.insert(0, target.parent)
                    target.parent.mkdir(parents=True)
                existed = os.path.lexists(target)
                os.replace(staging / project_path, target)
                if not existed:
                    moved.append(target)
    except OSError as error:
        _remove_new_paths(moved, created_dirs)
        raise ProjectError(
            format_error(
                f"Writing the project failed: {error.strerror or error}.",
                where=str(error.filename or directory),
                fix="Choose a directory you can write to, with free space, and run again.",
            )
        ) from error

    return [directory / project_path for project_path in files]


def _remove_new_paths(files, directories):
    # A path that cannot be removed is left in place, because the original error matters more.
    for path in files:
        try:
            path.unlink()
        except OSError:
            pass
    for path in directories:
        try:
            path.rmdir()
        except OSError:
            pass


_INCOMING_README = """# New labelled data

Put new labelled files here (CSV, TSV, JSONL or Parquet, with the columns of
`data/train.csv`). `vtune retrain` trains a challenger on them and promotes it
only if it passes the gate in `vtune.yaml` (`retrain.gate`).

Write each file under a temporary name and rename it when it is complete
(`week-12.csv.part`, then `week-12.csv`): files ending in `.part`, `.partial` or
`.tmp`, and names starting with `.` or `~`, are skipped. A file is recognised by
the hash of its content, so renaming it later does not make it new.
"""
