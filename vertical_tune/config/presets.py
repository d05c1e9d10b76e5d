"""Industry presets: YAML files shipped in `vertical_tune.industry_presets`.

A preset file may hold `variants`: named partial configs merged over the rest of the
file, selected as `INDUSTRY/VARIANT` (e.g. `retail/multitask`).
"""

import yaml

from vertical_tune.config.merge import deep_merge
from vertical_tune.errors import ConfigError, format_error
from vertical_tune.resources import package_folder

VARIANTS_KEY = "variants"


def list_presets(*, variants=False):
    """Return the sorted names of the industry presets that ship with the package.

    Args:
        variants: bool. Also list each preset's variants as `INDUSTRY/VARIANT`.
    """
    files = package_folder("industry_presets").iterdir()
    names = sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml"))
    if not variants:
        return names
    return [n for name in names for n in [name] + [f"{name}/{v}" for v in list_variants(name)]]


def list_variants(industry):
    """Return the variant names of an industry preset, sorted."""
    return sorted(_read(industry).get(VARIANTS_KEY) or {})


def split_preset_name(name):
    """Split `INDUSTRY[/VARIANT]` into (industry, variant or None)."""
    industry, _, variant = str(name).partition("/")
    return industry, variant or None


def preset_path(name):
    """Return the path of the preset file of `name`, raising `ConfigError` for an unknown industry."""
    industry, _ = split_preset_name(name)
    known = list_presets()
    if industry not in known:
        raise ConfigError(
            format_error(
                f"Unknown industry preset {industry!r}.",
                received=name,
                expected=f"one of {', '.join(known)}",
                fix="Run `vtune presets list` to see the presets and what each one sets.",
            )
        )
    return package_folder("industry_presets") / f"{industry}.yaml"


def load_preset_text(name):
    """Return the YAML text of the preset file of `name` (variants included)."""
    return preset_path(name).read_text(encoding="utf-8")


def load_preset_dict(name):
    """Return the preset `name` (`INDUSTRY` or `INDUSTRY/VARIANT`) as a plain dict, not yet validated."""
    industry, variant = split_preset_name(name)
    preset = _read(industry)
    variants = preset.pop(VARIANTS_KEY, None) or {}
    if variant is None:
        return preset
    if variant not in variants:
        raise ConfigError(
            format_error(
                f"Industry preset {industry!r} has no variant {variant!r}.",
                where=str(preset_path(industry)),
                received=name,
                expected=", ".join(f"{industry}/{v}" for v in sorted(variants)) or f"{industry} (no variants)",
                fix="Run `vtune presets list` to see the presets and their variants.",
            )
        )
    return deep_merge(preset, variants[variant])


def _read(industry):
    return yaml.safe_load(load_preset_text(industry)) or {}
