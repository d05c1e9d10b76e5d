"""Industry presets: YAML files shipped in `vertical_tune.industry_presets`."""

import yaml

from vertical_tune.errors import ConfigError, format_error
from vertical_tune.resources import package_folder


def list_presets():
    """Return the sorted names of the industry presets that ship with the package."""
    files = package_folder("industry_presets").iterdir()
    return sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml"))


def preset_path(name):
    """Return the path of the preset `name`, raising `ConfigError` for an unknown name."""
    known = list_presets()
    if name not in known:
        raise ConfigError(
            format_error(
                f"Unknown industry preset {name!r}.",
                received=name,
                expected=f"one of {', '.join(known)}",
                fix="Run `vtune presets list` to see the presets and what each one sets.",
            )
        )
    return package_folder("industry_presets") / f"{name}.yaml"


def load_preset_text(name):
    """Return the YAML text of the preset `name`."""
    return preset_path(name).read_text(encoding="utf-8")


def load_preset_dict(name):
    """Return the preset `name` as a plain dict (not yet validated)."""
    return yaml.safe_load(load_preset_text(name)) or {}
