"""Configuration: the typed model, presets, and how they are merged."""

from vertical_tune.config.loader import load_config, parse_override, validate_config
from vertical_tune.config.presets import list_presets, load_preset_dict
from vertical_tune.config.schema import VTuneConfig
