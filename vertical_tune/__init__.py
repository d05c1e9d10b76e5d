"""vertical_tune: fine-tune a pretrained Transformer into a domain model for one industry.

The public API:

```python
from vertical_tune import FineTuner, load
tuner = FineTuner.from_preset("finance", data={"train": "train.csv"})
tuner.fit()
```
"""

import importlib
import os

# keras-hub and this package need the TensorFlow backend; set it before keras loads.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

# Loaded on first use, so `vtune --help` and config commands do not import TensorFlow.
_LAZY = {
    "FineTuner": "vertical_tune.finetuner",
    "load": "vertical_tune.finetuner",
    "VTuneConfig": "vertical_tune.config.schema",
    "load_config": "vertical_tune.config.loader",
    "list_presets": "vertical_tune.config.presets",
    "EvaluationReport": "vertical_tune.evaluation.report",
    "report": "vertical_tune.reporting.api",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'vertical_tune' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
