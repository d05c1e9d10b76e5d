"""`vtune registry`: list and inspect model versions, move the champion, read retrain decisions."""

from pathlib import Path
from typing import List, Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.output import print_json, stdout

app = typer.Typer(help="List registered model versions, promote and roll back the champion.", no_args_is_help=True)

RegistryOption = typer.Option(
    None,
    "--registry",
    "-r",
    help="Registry folder; overrides `registry.path` of the config (relative to the current folder).",
    file_okay=False,
)
AliasOption = typer.Option("champion", "--alias", help="The alias to move, e.g. champion or challenger.")
ReasonOption = typer.Option(None, "--reason", help="Why the alias moves; stored in the alias history.")


@app.command("list")
def list_command(
    registry: Optional[Path] = RegistryOption,
    config: Optional[Path] = options.ConfigOption,
    as_json: bool = options.JsonOption,
):
    """List the versions with their aliases, selection metric, training rows and note.

    Example: vtune registry list --registry registry
    """
    versions = open_registry(registry, config).versions()
    if as_json:
        print_json([_summary(info) for info in versions])
        return
    from rich.table import Table

    table = Table("version", "created (UTC)", "aliases", "selection metric", "train rows", "note")
    for info in versions:
        table.add_row(
            _text(info.name),
            _text(info.created_at),
            _text(", ".join(info.aliases)),
            _text(_selection_text(info)),
            _text(info.train_rows),
            _text(info.note),
        )
    stdout.print(table)
    if not versions:
        stdout.print("The registry has no versions yet.", highlight=False, markup=False)


@app.command("show")
def show_command(
    version: str = typer.Argument(..., help="A version (3 or v3) or an alias (champion)."),
    registry: Optional[Path] = RegistryOption,
    config: Optional[Path] = options.ConfigOption,
    as_json: bool = options.JsonOption,
):
    """Show one version: folder, aliases, data, lineage and validation metrics.

    Example: vtune registry show champion
    """
    import json

    info = open_registry(registry, config).get(version)
    if as_json:
        print_json(info.to_dict())
        return
    from rich.table import Table

    table = Table("field", "value")
    rows = [
        ("version", info.name),
        ("created (UTC)", info.created_at),
        ("path", str(info.path)),
        ("aliases", ", ".join(info.aliases)),
        ("backbone", (info.config.get("backbone") or {}).get("preset")),
        ("selection metric", _selection_text(info)),
        ("train rows", info.train_rows),
        ("data fingerprint", json.dumps(info.data_fingerprint, ensure_ascii=False)),
        ("lineage", json.dumps(info.lineage, ensure_ascii=False)),
        ("note", info.note),
    ]
    rows += [(f"validation {name}", f"{value:.4f}") for name, value in _scalar_metrics(info.metrics.get("validation"))]
    for field, value in rows:
        table.add_row(_text(field), _text(value))
    stdout.print(table)


@app.command("register")
def register_command(
    run: Path = typer.Argument(..., help="A finished run directory (`vtune train`, `compress`, `distill`)."),
    note: Optional[str] = typer.Option(None, "--note", help="Free text shown by `vtune registry list`."),
    alias: Optional[List[str]] = typer.Option(
        None, "--alias", help="Point this alias at the new version, e.g. champion; repeatable."
    ),
    registry: Optional[Path] = RegistryOption,
    config: Optional[Path] = options.ConfigOption,
    as_json: bool = options.JsonOption,
):
    """Copy a run into the registry as the next version; the registry is created when missing.

    The data fingerprint (SHA-256 and row count of each data file the run used) is
    stored with it. Example: vtune registry register runs/finance --alias champion
    """
    from vertical_tune.retrain.incoming import run_data_fingerprint
    from vertical_tune.run_directory import check_run_directory

    check_run_directory(run)
    store = open_registry(registry, config, create=True)
    info = store.register(run, data_fingerprint=run_data_fingerprint(run), note=note)
    for name in alias or []:
        store.set_alias(name, info.version, reason=note or f"registered from {run}")
    info = store.get(info.version)
    if as_json:
        print_json(info.to_dict())
        return
    aliases = f" ({', '.join(info.aliases)})" if info.aliases else ""
    stdout.print(f"Registered {run} as {info.name}{aliases} in {store.path}", highlight=False, markup=False)


@app.command("promote")
def promote_command(
    version: str = typer.Argument(..., help="The version to promote (3 or v3), or an alias."),
    alias: str = AliasOption,
    reason: Optional[str] = ReasonOption,
    registry: Optional[Path] = RegistryOption,
    config: Optional[Path] = options.ConfigOption,
    as_json: bool = options.JsonOption,
):
    """Point the champion (or --alias) at a version, after checking its files are complete.

    Example: vtune registry promote v4 --reason "beats v3 on the March data"
    """
    change = open_registry(registry, config).promote(version, alias=alias, reason=reason)
    _print_change(change, as_json)


@app.command("rollback")
def rollback_command(
    alias: str = AliasOption,
    reason: Optional[str] = ReasonOption,
    registry: Optional[Path] = RegistryOption,
    config: Optional[Path] = options.ConfigOption,
    as_json: bool = options.JsonOption,
):
    """Point the champion (or --alias) back at the version it pointed at before.

    Repeated rollbacks walk further back. Example: vtune registry rollback --reason "complaints"
    """
    change = open_registry(registry, config).rollback(alias=alias, reason=reason)
    _print_change(change, as_json)


@app.command("decisions")
def decisions_command(
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="Show at most this many, newest first."),
    registry: Optional[Path] = RegistryOption,
    config: Optional[Path] = options.ConfigOption,
    as_json: bool = options.JsonOption,
):
    """List the retrain decisions (why a challenger was promoted or not), newest first.

    The table shows each record's top-level values; --json prints the whole records.
    Example: vtune registry decisions --limit 5
    """
    decisions = open_registry(registry, config).decisions(limit)
    if as_json:
        print_json(decisions)
        return
    from rich.table import Table

    table = Table("id", "created (UTC)", "record")
    for decision in decisions:
        table.add_row(_text(decision["id"]), _text(decision["created_at"]), _text(_record_text(decision["record"])))
    stdout.print(table)


@app.command("gc")
def gc_command(
    registry: Optional[Path] = RegistryOption,
    config: Optional[Path] = options.ConfigOption,
    as_json: bool = options.JsonOption,
):
    """Delete folders left by interrupted registrations; registered versions are never touched.

    Example: vtune registry gc
    """
    removed = [str(path) for path in open_registry(registry, config).gc()]
    if as_json:
        print_json({"removed": removed})
        return
    for path in removed:
        stdout.print(f"Removed {path}", highlight=False, markup=False)
    stdout.print(f"Removed {len(removed)} unreferenced folder(s).", highlight=False, markup=False)


def open_registry(registry, config, *, create=False):
    """Open the registry named by --registry, or else by `registry.path` of the config.

    Args:
        registry: Path or None. The --registry option; it wins over the config.
        config: Path or None. The --config option; `./vtune.yaml` is used when it exists.
        create: bool. Create the registry when it does not exist (`register` only).

    Returns:
        Registry. Without `create` it must exist already, so a mistyped path fails.
    """
    from vertical_tune.errors import RegistryError, format_error
    from vertical_tune.registry import Registry

    if registry is not None:
        return Registry.open(registry, create=create)
    config = options.default_config(config)
    if config is None:
        raise RegistryError(
            format_error(
                "No registry given.",
                expected="--registry PATH, or a config file whose `registry.path` names the registry",
                fix="Pass --registry PATH or --config vtune.yaml, or run the command in the folder of vtune.yaml.",
            )
        )
    from vertical_tune.config.loader import load_config

    return Registry.open(load_config(config).registry.path, create=create)


def _print_change(change, as_json):
    if as_json:
        print_json(change.to_dict())
        return
    previous = "none" if change.previous is None else f"v{change.previous}"
    stdout.print(f"{change.alias} -> v{change.version} (was {previous})", highlight=False, markup=False)


def _summary(info):
    metric, value = info.selection
    return {
        "version": info.version,
        "created_at": info.created_at,
        "path": str(info.path),
        "aliases": info.aliases,
        "selection_metric": metric,
        "selection_value": value,
        "train_rows": info.train_rows,
        "data_fingerprint": info.data_fingerprint,
        "lineage": info.lineage,
        "note": info.note,
    }


def _selection_text(info):
    metric, value = info.selection
    if metric is None or value is None:
        return ""
    return f"{metric} {value:.4f}"


def _scalar_metrics(report):
    if not isinstance(report, dict):
        return []
    return [(name, value) for name, value in report.items() if isinstance(value, float)]


def _record_text(record):
    # Nested values (both models' metrics) are long; `--json` prints them in full.
    parts = []
    for key, value in record.items():
        if isinstance(value, float):
            parts.append(f"{key}={value:.4f}")
        elif isinstance(value, (dict, list)):
            parts.append(f"{key}=...")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def _text(value):
    # rich.text.Text is never parsed as markup, so `[` in a note or path prints as typed.
    from rich.text import Text

    return Text("" if value is None else str(value))
