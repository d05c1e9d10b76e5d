"""The export formats and the check of a requested format list."""

from vertical_tune.errors import ConfigError, format_error

FORMATS = ("keras", "saved_model", "litert", "onnx")


def parse_formats(formats):
    """Return the requested formats in `FORMATS` order, without repeats.

    Args:
        formats: None (all formats), a str, or a list of str. Each str may hold
            several comma-separated names, e.g. "litert,onnx".

    Raises:
        ConfigError: a name is not in `FORMATS`, or no name is given.
    """
    if formats is None:
        return list(FORMATS)
    if isinstance(formats, str):
        formats = [formats]
    names = [name.strip().lower() for item in formats for name in str(item).split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise ConfigError(
            format_error(
                "Unknown export format." if unknown else "No export format given.",
                where="--format",
                received=unknown[0] if unknown else formats,
                expected=", ".join(FORMATS),
                fix="Pass one or more of the expected names, e.g. --format litert,onnx.",
            )
        )
    return [name for name in FORMATS if name in names]
