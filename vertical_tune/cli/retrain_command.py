"""`vtune retrain`: one unattended retraining job, with exit codes a scheduler can act on."""

import contextlib
import logging
import sys
from pathlib import Path
from typing import List, Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.output import configure_logging, log_to_file, print_error, print_json, stdout

logger = logging.getLogger("vertical_tune.retrain")


def retrain(
    config: Optional[Path] = options.ConfigOption,
    preset: Optional[str] = options.PresetOption,
    strategy: Optional[str] = options.StrategyOption,
    set_values: Optional[List[str]] = options.SetOption,
    wait: Optional[float] = typer.Option(
        None,
        "--wait",
        help="Wait up to SECONDS for another retrain of this registry to finish (default: exit at once with code 75).",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted retrain job: training from its checkpoint, or its promotion step."
    ),
    force: bool = typer.Option(False, "--force", help="Train and gate a challenger even when no data changed."),
    quiet: bool = options.QuietOption,
    as_json: bool = options.JsonOption,
):
    """Retrain on new data and promote the challenger only if it passes the gate.

    Exit codes: 0 nothing to do, 10 promoted, 11 champion kept, 75 another job
    holds the lock, 1 failed, 2 bad config or data. Logs also go to
    `retrain.log_file`, and each decision to `retrain.decision_log` and the registry.

    Example: vtune retrain --config vtune.yaml
    """
    configure_logging(quiet or as_json)
    from vertical_tune.config.loader import load_config
    from vertical_tune.errors import LockError, VTuneError
    from vertical_tune.retrain.exit_codes import RetrainExit
    from vertical_tune.retrain.job import run_retrain

    overrides = options.collect_overrides(set_values, **{"distribution.strategy": strategy})
    resolved = load_config(options.default_config(config), preset=preset, overrides=overrides)
    with log_to_file(resolved.retrain.log_file):
        try:
            # Keras prints epoch lines on stdout; the result alone belongs there.
            with contextlib.redirect_stdout(sys.stderr):
                outcome = run_retrain(
                    resolved, wait=wait, resume=resume, force=force, verbose=0 if quiet or as_json else "auto"
                )
        except LockError as error:
            logger.warning("Retrain not started: %s", str(error).splitlines()[0])
            print_error(str(error))
            raise typer.Exit(int(RetrainExit.LOCKED))
        except VTuneError as error:
            logger.error("Retrain failed (exit code %d): %s", RetrainExit.BAD_INPUT, error)
            raise
        except Exception:
            logger.exception("Retrain failed (exit code %d).", RetrainExit.FAILED)
            raise typer.Exit(int(RetrainExit.FAILED))
    if as_json:
        print_json({"exit_code": int(outcome.exit_code), **outcome.record}, indent=None)
    else:
        stdout.print(outcome.message)
    raise typer.Exit(int(outcome.exit_code))
