"""Merge nested config dicts: presets, their variants, `vtune.yaml` and overrides."""

import copy


def deep_merge(base, update):
    """Return `base` updated recursively by `update`; neither input is modified.

    Mappings merge key by key; any other value, lists included, replaces the old one.
    """
    result = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
