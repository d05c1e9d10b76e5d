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


class ThresholdConfig(_Section):
    """Decision threshold on one label, chosen on the validation data after training.

    With two labels it is the usual binary threshold. With more, it is one-vs-rest:
    `positive_label` is predicted when its probability reaches the threshold, and
    otherwise the most probable other label.
    """

    rule: Literal["argmax", "f1", "min_recall", "min_precision"] = Field(
        "argmax",
        description=(
            "`argmax` predicts the most probable label. `f1` picks the threshold with the best F1 "
            "of the positive label, `min_recall` the highest threshold whose recall reaches "
            "`target` (best precision), `min_precision` the lowest whose precision reaches "
            "`target` (best recall). The threshold is chosen after training (the best epoch is "
            "picked with argmax predictions); the final metrics, the report and `predict` use it."
        ),
    )
    target: Optional[float] = Field(
        None, gt=0.0, le=1.0, description="Recall or precision to reach (rules `min_recall` and `min_precision`)."
    )
    positive_label: Optional[str] = Field(
        None,
        description=(
            "Label the threshold applies to; empty means the second label (class index 1) "
            "of a binary task. Required with more than two labels."
        ),
    )

    @model_validator(mode="after")
    def _target_matches_rule(self):
        if self.rule in ("min_recall", "min_precision") and self.target is None:
            raise ValueError(f"rule `{self.rule}` needs a `target`, e.g. 0.95")
        if self.rule in ("argmax", "f1") and self.target is not None:
            raise ValueError(f"rule `{self.rule}` takes no `target`; use `min_recall` or `min_precision`")
        return self


class TaskConfig(_Section):
    """The task: text and label columns and the label set."""

    type: Literal["multiclass", "binary"] = Field(
        "multiclass",
        description="Task type. `binary` is a two-class `multiclass` task.",
    )
    text_column: Union[str, list[str]] = Field(
        "text",
        description=(
            "Column with the input text, or a list of columns whose non-blank cells are "
            "joined with a blank line (e.g. a title and a body)."
        ),
    )
    label_column: str = Field("label", description="Column with the label.")
    labels: LabelSpec = Field(
        "from_data",
        description=(
            "Label set: `from_data` (sorted distinct values of the training labels), "
            "a list of label values in class-index order, or a mapping from the raw "
            "value in the file to a readable label name."
        ),
    )

    threshold: ThresholdConfig = Field(default_factory=ThresholdConfig)

    @field_validator("labels")
    @classmethod
    def _labels_not_empty(cls, value):
        if value != "from_data" and len(value) < 2:
            raise ValueError(
                f"a label set needs at least 2 labels, got {len(value)}; "
                "use `from_data` to read the labels from the training file"
            )
        return value


TaskType = Literal["multiclass", "binary", "multilabel", "regression"]
REGRESSION_METRICS = ("r2", "mae", "rmse")
CLASSIFICATION_METRICS = (
    "macro_f1", "weighted_f1", "accuracy", "macro_recall", "macro_precision", "roc_auc"
)
GATE_METRICS = CLASSIFICATION_METRICS + ("pr_auc",)
MULTILABEL_METRICS = ("macro_f1", "micro_f1", "samples_f1", "subset_accuracy", "roc_auc")


class HeadConfig(_Section):
    """The layers between the shared backbone and one task's output."""

    hidden_units: int = Field(
        0, ge=0, le=65536, description="Width of a hidden GELU layer in the head; 0 means a linear head."
    )
    dropout: Optional[float] = Field(
        None, ge=0.0, lt=1.0, description="Dropout before the head; empty means `training.dropout`."
    )


class TaskSpec(_Section):
    """One output of a multi-task model: its label column(s), type, loss and metric."""

    name: str = Field(
        ...,
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$",
        description="Task name: names the model output, metrics and prediction columns.",
    )
    type: TaskType = Field(
        "multiclass",
        description=(
            "`multiclass` and `binary`: one label per text; `multilabel`: any number of "
            "labels per text; `regression`: a number."
        ),
    )
    label_column: Optional[str] = Field(
        None,
        description="Column with the label (multilabel: with `delimiter`, one column of joined labels).",
    )
    label_columns: Optional[list[str]] = Field(
        None, description="Multilabel only: several 0/1 columns, one per label."
    )
    delimiter: Optional[str] = Field(
        None, description="Multilabel only: separator of the labels in `label_column`, e.g. `|`."
    )
    labels: LabelSpec = Field(
        "from_data",
        description="Label set, as in `task.labels`; for multilabel with `delimiter`, the allowed values.",
    )
    loss_weight: float = Field(1.0, gt=0.0, description="Weight of this task's loss in the sum.")
    class_weight: Literal["none", "balanced"] = Field(
        "none",
        description=(
            "`balanced` weighs classes inversely to their training frequency (multilabel: "
            "positives by their rarity), inside this task's loss."
        ),
    )
    focal_gamma: Optional[float] = Field(
        None,
        ge=0.0,
        le=10.0,
        description="Use focal loss with this focusing parameter (e.g. 2.0); empty means cross-entropy.",
    )
    selection_metric: Optional[str] = Field(
        None,
        description=(
            "Validation metric of this task: classification `macro_f1` (default), "
            "`weighted_f1`, `accuracy`, `macro_recall`, `macro_precision`, `roc_auc`; "
            "multilabel `macro_f1` (default), `micro_f1`, `samples_f1`, `subset_accuracy`, "
            "`roc_auc`; regression `r2` (default), `mae`, `rmse`."
        ),
    )
    head: HeadConfig = Field(default_factory=HeadConfig)

    @model_validator(mode="after")
    def _consistent(self):
        where = f"task {self.name!r}"
        if self.type == "multilabel":
            if (self.label_columns is None) == (self.label_column is None):
                raise ValueError(
                    f"{where}: a multilabel task needs either `label_columns` (several 0/1 "
                    "columns) or `label_column` with `delimiter`, not both or neither"
                )
            if self.label_column is not None and not self.delimiter:
                raise ValueError(f"{where}: `label_column` of a multilabel task needs a `delimiter`")
            if self.label_columns is not None and len(set(self.label_columns)) < 1:
                raise ValueError(f"{where}: `label_columns` is empty")
        else:
            if self.label_column is None:
                raise ValueError(f"{where}: a {self.type} task needs `label_column`")
            if self.label_columns is not None or self.delimiter is not None:
                raise ValueError(
                    f"{where}: `label_columns` and `delimiter` are for multilabel tasks only"
                )
        if self.type == "regression":
            if self.class_weight != "none" or self.focal_gamma is not None:
                raise ValueError(f"{where}: class weights and focal loss need a classification task")
            if self.labels != "from_data":
                raise ValueError(f"{where}: a regression task has no `labels`")
        allowed = {
            "regression": REGRESSION_METRICS,
            "multilabel": MULTILABEL_METRICS,
        }.get(self.type, CLASSIFICATION_METRICS)
        if self.selection_metric is not None and self.selection_metric not in allowed:
            raise ValueError(
                f"{where}: selection_metric {self.selection_metric!r} does not apply to a "
                f"{self.type} task; use one of {', '.join(allowed)}"
            )
        if self.selection_metric is None:
            self.selection_metric = "r2" if self.type == "regression" else "macro_f1"
        return self

    @property
    def columns(self):
        """The label columns this task reads."""
        return list(self.label_columns) if self.label_columns is not None else [self.label_column]


class MultiTaskConfig(_Section):
    """The combination of the tasks of a multi-task model (`tasks`): loss weights and selection."""

    loss_balancing: Literal["fixed", "uncertainty"] = Field(
        "fixed",
        description=(
            "`fixed`: the sum of the losses times each `loss_weight`. `uncertainty`: "
            "each loss also gets a learned weight (homoscedastic uncertainty weighting), "
            "logged per epoch."
        ),
    )
    selection: str = Field(
        "mean",
        description=(
            "What picks the best epoch and drives early stopping: `mean` of the tasks' "
            "selection metrics (error metrics count negated), or one task's name."
        ),
    )


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
            "Training data: a CSV, TSV, JSONL or Parquet file, `tfds:NAME[:SPLIT]`, or with "
            "`streaming` a glob of shards or a folder written by `vtune data prepare`. "
            "Relative paths are relative to the config file."
        ),
    )
    validation: Optional[str] = Field(
        None, description="Validation data; when empty, a stratified split of `train`."
    )
    test: Optional[str] = Field(
        None, description="Test data, evaluated once after training; optional."
    )
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet", "tfrecord"] = Field(
        "auto",
        description=(
            "File format; `auto` picks it from the file extension. `tfrecord` is the "
            "tokenized output of `vtune data prepare` and needs `streaming`."
        ),
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
    streaming: bool = Field(
        False,
        description=(
            "Read the training data as a tf.data stream, file by file, instead of loading "
            "it into memory: for data larger than memory. Needs `data.validation`; "
            "`task.labels: from_data` costs one extra pass. `split` is not used, and "
            "`max_train_rows` is refused."
        ),
    )
    shuffle_buffer: int = Field(
        10000, ge=1, description="Rows held in the shuffle buffer of a streamed training set."
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
    checkpoint_every_steps: Optional[int] = Field(
        None,
        ge=1,
        description=(
            "Also checkpoint every N training steps, so `--resume` continues mid-epoch; "
            "a checkpoint is always written at the end of each epoch."
        ),
    )


class DistillationConfig(_Section):
    """Knowledge distillation: a fine-tuned teacher run trains a smaller student (`vtune distill`)."""

    teacher: Optional[str] = Field(
        None, description="Run directory of the fine-tuned teacher (relative to the config file)."
    )
    student: Optional[str] = Field(
        None,
        description=(
            "Student backbone, in any form `backbone.preset` accepts; it keeps the "
            "teacher's label set. Empty means a shallower copy of the teacher (`student_layers`)."
        ),
    )
    student_layers: Optional[int] = Field(
        None,
        ge=1,
        le=64,
        description=(
            "Transformer layers of a student copied from the teacher: the top layer of "
            "each of this many equal blocks of the teacher's layers. Empty means a third "
            "of the teacher's layers."
        ),
    )
    temperature: float = Field(
        2.0, gt=0.0, le=100.0, description="Softmax temperature of the soft targets (teacher and student logits)."
    )
    alpha: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Weight of the hard-label loss; the soft-target (KL) loss gets `1 - alpha`.",
    )
    feature_weight: float = Field(
        0.0,
        ge=0.0,
        le=100.0,
        description=(
            "Weight of a mean squared error between the teacher's and the student's "
            "sentence vectors (through a learned projection when their sizes differ); 0 disables it."
        ),
    )
    unlabelled: Optional[str] = Field(
        None,
        description=(
            "File of in-domain texts (same text column) that only the teacher labels, "
            "as soft targets; relative to the config file."
        ),
    )

    @model_validator(mode="after")
    def _one_student(self):
        if self.student is not None and self.student_layers is not None:
            raise ValueError(
                "set either `student` (another backbone) or `student_layers` (a shallower "
                "copy of the teacher), not both"
            )
        return self


CompressionMethod = Literal["trim", "lowrank", "prune", "int8"]


class CompressionConfig(_Section):
    """Compression of a fine-tuned run (`vtune compress`): methods applied in order, each evaluated against the original."""

    methods: list[CompressionMethod] = Field(
        [],
        description=(
            "Methods applied in this order, e.g. `[trim, prune, int8]`: `trim` drops the top "
            "transformer layers, `lowrank` factorises large kernels by truncated SVD, `prune` "
            "zeroes the smallest weights, `int8` quantises the weights. `int8` must come last."
        ),
    )
    keep_layers: Optional[int] = Field(
        None,
        ge=1,
        le=256,
        description="`trim`: transformer layers kept (the bottom ones). Empty means two thirds of them.",
    )
    rank: Optional[int] = Field(
        None, ge=1, le=65536, description="`lowrank`: one rank for every factorised kernel."
    )
    energy: Optional[float] = Field(
        None,
        gt=0.0,
        le=1.0,
        description="`lowrank`: per kernel, the smallest rank keeping this fraction of the squared singular values.",
    )
    parameter_fraction: Optional[float] = Field(
        None,
        gt=0.0,
        lt=1.0,
        description=(
            "`lowrank`: per kernel, the rank giving about this fraction of its parameters. "
            "Used when `rank` and `energy` are empty, with 0.5 as default."
        ),
    )
    min_kernel_size: int = Field(
        16384,
        ge=1,
        description="`lowrank`: kernels with fewer weights than this stay as they are.",
    )
    sparsity: float = Field(
        0.5,
        ge=0.0,
        lt=1.0,
        description="`prune`: fraction of each Dense and attention kernel set to zero.",
    )
    pruning_frequency: int = Field(
        10, ge=1, description="`prune`: training steps between two updates of the pruning masks."
    )
    epochs: int = Field(
        1,
        ge=0,
        le=100,
        description=(
            "Fine-tuning epochs after `trim`, `lowrank` and `prune` (0 skips it; `prune` then "
            "zeroes the weights at once). The batch size and the data come from `training` and `data`."
        ),
    )
    learning_rate: Optional[float] = Field(
        None, gt=0.0, lt=1.0, description="Peak learning rate of that fine-tuning; empty means `training.learning_rate`."
    )

    @field_validator("methods")
    @classmethod
    def _int8_last_and_unique(cls, methods):
        repeated = sorted({m for m in methods if methods.count(m) > 1})
        if repeated:
            raise ValueError(f"each method may appear once; {', '.join(repeated)} appears more than once")
        if "int8" in methods and methods[-1] != "int8":
            raise ValueError(
                f"`int8` must be the last method (an int8 model cannot be fine-tuned); got {methods}"
            )
        return methods

    @model_validator(mode="after")
    def _one_rank_rule(self):
        given = [name for name in ("rank", "energy", "parameter_fraction") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"set one of `rank`, `energy` and `parameter_fraction`, not {' and '.join(given)}")
        return self


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
    checkpoint_dir: Optional[str] = Field(
        None,
        description=(
            "Folder of the training checkpoints that `--resume` continues from (relative to "
            "the config file); empty means `RUN_DIR.checkpoint` beside the run directory. "
            "It is removed once the run is saved."
        ),
    )


class RegistryConfig(_Section):
    """Location of the registry of numbered model versions."""

    path: str = Field(
        "registry",
        description=(
            "Registry folder (relative to the config file): `registry.db` (SQLite) plus one "
            "artefact folder per version."
        ),
    )


class GateConfig(_Section):
    """The rules a challenger must pass to replace the champion."""

    metric: Optional[str] = Field(
        None,
        description="Metric compared with the champion's; empty means `training.selection_metric`.",
    )
    margin: float = Field(
        0.005,
        ge=0.0,
        lt=1.0,
        description="The challenger's `metric` must beat the champion's by at least this much (absolute).",
    )
    floors: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Minimum value of each listed metric, e.g. `{macro_f1: 0.75, macro_recall: 0.7}`; "
            "a challenger below any floor is rejected, even without a champion."
        ),
    )
    max_recall_drop: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="Largest drop of any single class's recall, challenger vs champion, that is allowed.",
    )

    @field_validator("metric")
    @classmethod
    def _metric_is_known(cls, value):
        if value is not None and value not in GATE_METRICS:
            raise ValueError(f"unknown metric {value!r}; expected one of {', '.join(GATE_METRICS)}")
        return value

    @field_validator("floors")
    @classmethod
    def _floor_metrics_are_known(cls, floors):
        unknown = sorted(set(floors) - set(GATE_METRICS))
        if unknown:
            raise ValueError(
                f"unknown metric {', '.join(map(repr, unknown))} in floors; expected any of {', '.join(GATE_METRICS)}"
            )
        outside = {name: value for name, value in floors.items() if not 0.0 <= value <= 1.0}
        if outside:
            raise ValueError(f"floors are metric values between 0 and 1; got {outside}")
        return floors


class DriftConfig(_Section):
    """Warning thresholds of the drift report written with each retrain."""

    label_shift: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Warn when the total variation distance between the label distributions exceeds this.",
    )
    length_shift: float = Field(
        0.25,
        ge=0.0,
        description="Warn when the mean text length (in words) changes by more than this fraction.",
    )
    oov_increase: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description=(
            "Warn when the share of words never seen in the training data rises by more than "
            "this, new data vs the fixed evaluation set."
        ),
    )


class RetrainConfig(_Section):
    """`vtune retrain`: new data in, a challenger trained, gated and maybe promoted."""

    incoming: Optional[str] = Field(
        None,
        description=(
            "Folder (relative to the config file) where new labelled files arrive, in the "
            "training file's columns. Files not seen by an earlier retrain count as new data."
        ),
    )
    evaluation: Optional[str] = Field(
        None,
        description=(
            "Fixed evaluation file on which champion and challenger are compared; empty "
            "means `data.validation`."
        ),
    )
    holdout: float = Field(
        0.2,
        ge=0.0,
        lt=1.0,
        description="Share of the new rows held out (stratified) and added to the evaluation set.",
    )
    start_from: Literal["champion", "backbone"] = Field(
        "champion",
        description="Train the challenger from the champion's weights or from the pretrained backbone.",
    )
    gate: GateConfig = Field(default_factory=GateConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    log_file: str = Field(
        "logs/retrain.log", description="Log file of every retrain job (relative to the config file)."
    )
    decision_log: str = Field(
        "logs/decisions.jsonl",
        description="One JSON line per retrain decision (relative to the config file).",
    )


class DataSourceConfig(_Section):
    """One data source named in the model card."""

    name: str = Field(..., description="Name of the data set or source.")
    license: str = Field(..., description="Its license, as its publisher states it, e.g. `CC BY-SA 3.0`.")
    url: Optional[str] = Field(None, description="Where it is published.")


class ModelCardConfig(_Section):
    """Text of `MODEL_CARD.md` beyond the measured numbers."""

    intended_use: Optional[str] = Field(None, description="What the model is for and who uses it.")
    out_of_scope: Optional[str] = Field(None, description="Uses the model is not meant for.")
    limitations: list[str] = Field(default_factory=list, description="Known limitations, one sentence each.")
    data_sources: list[DataSourceConfig] = Field(
        default_factory=list, description="Data the model was trained on, with their licenses."
    )


class DistributionConfig(_Section):
    """Devices and tf.distribute strategy of training, distillation and compression."""

    strategy: Literal["auto", "default", "mirrored", "multi_worker", "tpu"] = Field(
        "auto",
        description=(
            "`default`: one device. `mirrored`: all local GPUs, or `cpu_devices` logical CPU "
            "devices. `multi_worker`: MultiWorkerMirroredStrategy over the cluster in the "
            "`TF_CONFIG` environment variable. `tpu`: TPUStrategy on `tpu`. `auto`: "
            "`mirrored` with two or more GPUs, else `default`."
        ),
    )
    cpu_devices: Optional[int] = Field(
        None,
        ge=2,
        le=64,
        description="Split the CPU into this many logical devices for `mirrored` (testing without GPUs).",
    )
    tpu: str = Field(
        "local",
        description="TPU to connect to with `tpu`: `local` on a TPU VM, or a TPU name or `grpc://` address.",
    )
    batch_size: Literal["global", "per_replica"] = Field(
        "global",
        description=(
            "How `training.batch_size` is read. `global`: examples per step over all "
            "replicas, split between them. `per_replica`: examples per replica, so the "
            "global batch is `batch_size` times the number of replicas."
        ),
    )
    learning_rate_scaling: Literal["none", "linear", "sqrt"] = Field(
        "none",
        description=(
            "How `training.learning_rate` follows the global batch size, relative to "
            "`training.batch_size`: `linear` multiplies it by global / `training.batch_size`, "
            "`sqrt` by the square root of that, `none` keeps it."
        ),
    )
    mixed_precision: Literal["none", "mixed_float16", "mixed_bfloat16"] = Field(
        "none",
        description=(
            "Keras mixed-precision policy. `mixed_float16` needs a GPU; `mixed_bfloat16` "
            "suits TPUs and recent GPUs and CPUs."
        ),
    )
    jit_compile: Optional[bool] = Field(
        None,
        description="Compile training steps with XLA: `true`, `false`, or empty for Keras' choice.",
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
    distribution: DistributionConfig = Field(default_factory=DistributionConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    distillation: DistillationConfig = Field(default_factory=DistillationConfig)
    compression: CompressionConfig = Field(default_factory=CompressionConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)
    model_card: ModelCardConfig = Field(default_factory=ModelCardConfig)
    tasks: Optional[list[TaskSpec]] = Field(
        None,
        description=(
            "Multi-task model: one head per entry on a shared backbone. When set, "
            "`task.text_column` names the text, and the other `task` keys, "
            "`training.class_weight` and `training.selection_metric` are not used: each "
            "task sets its own."
        ),
    )
    multitask: MultiTaskConfig = Field(default_factory=MultiTaskConfig)

    @model_validator(mode="after")
    def _binary_has_two_labels(self):
        labels = self.task.labels
        if self.task.type == "binary" and labels != "from_data" and len(labels) != 2:
            raise ValueError(
                f"task.type `binary` needs exactly 2 labels, got {len(labels)}: {labels!r}"
            )
        return self

    @field_validator("tasks")
    @classmethod
    def _task_names_are_unique(cls, tasks):
        # A field validator, so the error points at `tasks` and its line in the YAML file.
        if tasks is None:
            return tasks
        if not tasks:
            raise ValueError("`tasks` is empty; remove it for a single-task model or list at least one task")
        names = [task.name for task in tasks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"task names must be unique; {', '.join(map(repr, duplicates))} appears more than once")
        return tasks

    @field_validator("multitask")
    @classmethod
    def _selection_names_a_task(cls, multitask, info):
        # `tasks` is declared before `multitask`, so it is in `info.data` unless it was invalid.
        tasks = info.data.get("tasks")
        if tasks is None:
            return multitask
        names = [task.name for task in tasks]
        if multitask.selection != "mean" and multitask.selection not in names:
            raise ValueError(
                f"multitask.selection {multitask.selection!r} is neither `mean` nor a task name ({', '.join(names)})"
            )
        return multitask

    @property
    def is_multitask(self):
        """True when the config defines `tasks`."""
        return self.tasks is not None
