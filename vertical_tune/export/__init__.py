"""Export a run for deployment: Keras, SavedModel, LiteRT and ONNX, each checked against the Keras model."""

from vertical_tune.export.exporter import export_run
from vertical_tune.export.formats import FORMATS, parse_formats

__all__ = ["FORMATS", "export_run", "parse_formats"]
