"""vertical_tune: fine-tune a pretrained Transformer into a domain model for one industry."""

__version__ = "0.1.0"
