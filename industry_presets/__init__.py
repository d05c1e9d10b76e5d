"""Industry presets: one YAML file per industry."""
