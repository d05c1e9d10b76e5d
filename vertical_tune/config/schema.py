"""The typed configuration model: the one source of truth for every setting.

Presets, `vtune.yaml`, CLI overrides, CLI help and `docs/config.md` all come from
the field descriptions below.
"""

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Section(BaseModel):
    # Unknown keys are rejected (never dropped) so a typo cannot train with defaults.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


LabelSpec = Union[Literal["from_data"], list[str], dict[str, str]]


class TaskConfig(_Section):
    """The task: text and label columns and the label set."""

    type: Literal["multiclass", "binary"] = Field(
        "multiclass",
        description="Task type. `binary` is a two-class `multiclass` task.",
    )
    text_column: str = Field("text", description="Column with the input text.")
    label_column: str = Field("label", description="Column with the label.")
    labels: LabelSpec = Field(
        "from_data",
        description=(
            "Label set: `from_data` (sorted distinct values of the training labels), "
            "a list of label values in class-index order, or a mapping from the raw "
            "value in the file to a readable label name."
        ),
    )

    @field_validator("labels")
    @classmethod
    def _labels_not_empty(cls, value):
        if value != "from_data" and len(value) < 2:
            raise ValueError(
                f"a label set needs at least 2 labels, got {len(value)}; "
                "use `from_data` to read the labels from the training file"
            )
        return value


class SplitConfig(_Section):
    """How to split the training file when no validation or test file is given."""

    validation: float = Field(
        0.1, gt=0.0, lt=1.0, description="Fraction of training rows held out for validation."
    )
    test: float = Field(
        0.0, ge=0.0, lt=1.0, description="Fraction of training rows held out for the test set."
    )
    seed: int = Field(0, description="Seed of the stratified split.")


class DataConfig(_Section):
    """Labelled data sources and the options for reading them."""

    train: Optional[str] = Field(
        None,
        description=(
            "Training data: a CSV, TSV, JSONL or Parquet file, or `tfds:NAME[:SPLIT]`. "
            "Relative paths are relative to the config file."
        ),
    )
    validation: Optional[str] = Field(
        None, description="Validation data; when empty, a stratified split of `train`."
    )
    test: Optional[str] = Field(
        None, description="Test data, evaluated once after training; optional."
    )
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet"] = Field(
        "auto", description="File format; `auto` picks it from the file extension."
    )
    encoding: str = Field(
        "utf-8",
        description="Text encoding of CSV, TSV and JSONL files, e.g. `latin-1`. A UTF-8 BOM is removed.",
    )
    split: SplitConfig = Field(default_factory=SplitConfig)
    max_train_rows: Optional[int] = Field(
        None,
        gt=0,
        description="Use a stratified sample of at most this many training rows (quick runs).",
    )
    tfds_data_dir: Optional[str] = Field(
        None, description="Directory of locally prepared tensorflow-datasets data for `tfds:` sources."
    )


class BackboneConfig(_Section):
    """The pretrained encoder to fine-tune."""

    preset: str = Field(
        "minilm_l6_offline",
        description=(
            "Backbone to load: an offline name (`minilm_l6_offline`), a keras-hub preset "
            "name, an `hf://` handle, or a local keras-hub or Hugging Face directory."
        ),
    )
    hub_preset: Optional[str] = Field(
        None,
        description=(
            "Recommended domain backbone for machines with hub access; "
            "`--backbone hub` selects it."
        ),
    )
    sequence_length: int = Field(128, ge=8, le=4096, description="Maximum tokens per text.")
    strip_accents: Optional[bool] = Field(
        None,
        description="Strip accents in a lowercasing tokenizer; empty means the backbone's own setting.",
    )


class NormalizationConfig(_Section):
    """Text clean-up applied before tokenization and to any text written out."""

    profile: Literal["none", "general", "finance", "medical"] = Field(
        "general",
        description=(
            "`general`: Unicode NFKC, typographic spaces and ellipses, HTML entities. "
            "`finance`: general, keeping cashtags, numbers and currency signs. "
            "`medical`: general, plus masking of e-mail addresses, phone numbers, dates "
            "and record-number-like IDs."
        ),
    )
    mask_urls: bool = Field(False, description="Replace URLs by `[URL]`.")


class TrainingConfig(_Section):
    """The fine-tuning loop."""

    mode: Literal["full", "frozen", "lora"] = Field(
        "full",
        description="`full` trains every weight, `frozen` only the head, `lora` low-rank adapters plus the head.",
    )
    lora_rank: int = Field(8, ge=1, le=256, description="Rank of the LoRA adapters (mode `lora`).")
    epochs: int = Field(3, ge=1, le=1000, description="Number of passes over the training data.")
    batch_size: int = Field(32, ge=1, le=8192, description="Examples per training step.")
    learning_rate: float = Field(2e-4, gt=0.0, lt=1.0, description="Peak learning rate of AdamW.")
    weight_decay: float = Field(0.01, ge=0.0, lt=1.0, description="AdamW weight decay.")
    schedule: Literal["linear", "cosine", "constant"] = Field(
        "linear", description="Learning-rate decay after warm-up."
    )
    warmup_ratio: float = Field(
        0.06, ge=0.0, lt=1.0, description="Fraction of all training steps spent warming up."
    )
    clip_norm: Optional[float] = Field(
        1.0, gt=0.0, description="Clip gradients to this global norm; empty disables clipping."
    )
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="Dropout before the classification head.")
    class_weight: Literal["none", "balanced"] = Field(
        "none", description="`balanced` weighs classes inversely to their training frequency."
    )
    selection_metric: Literal[
        "macro_f1", "weighted_f1", "accuracy", "macro_recall", "macro_precision", "roc_auc", "loss"
    ] = Field(
        "macro_f1",
        description="Validation metric that selects the best epoch and drives early stopping.",
    )
    early_stopping_patience: Optional[int] = Field(
        2, ge=0, description="Epochs without improvement before stopping; empty disables it."
    )
    seed: int = Field(0, description="Seed for weights, shuffling and dropout.")
    mixed_precision: bool = Field(
        False, description="Train with the `mixed_float16` policy (useful on GPUs)."
    )
    distribution: Literal["auto", "default", "mirrored"] = Field(
        "auto",
        description="tf.distribute strategy: `mirrored` over all local GPUs; `auto` uses it when there are several.",
    )


class OutputConfig(_Section):
    """Run location and report options."""

    run_dir: str = Field(
        "runs/latest",
        description="Run directory (relative to the config file); replaced atomically at the end.",
    )
    compare_baseline: bool = Field(
        True,
        description="Also fit TF-IDF + logistic regression on the same split and show it in the report.",
    )


class VTuneConfig(_Section):
    """A complete, resolved vertical_tune configuration."""

    industry: Optional[str] = Field(None, description="Industry preset this config starts from.")
    description: Optional[str] = Field(None, description="Free text shown in reports.")
    task: TaskConfig = Field(default_factory=TaskConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    backbone: BackboneConfig = Field(default_factory=BackboneConfig)
    normalization: NormalizationConfig = Field(default_factory=NormalizationConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="after")
    def _binary_has_two_labels(self):
        labels = self.task.labels
        if self.task.type == "binary" and labels != "from_data" and len(labels) != 2:
            raise ValueError(
                f"task.type `binary` needs exactly 2 labels, got {len(labels)}: {labels!r}"
            )
        return self
