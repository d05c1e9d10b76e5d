"""A shared backbone with one head per task, as one Keras model with named dict outputs."""

import keras
import keras_hub
from keras import ops

from vertical_tune.modeling.classifier import apply_transfer_mode, build_preprocessor, load_backbone
from vertical_tune.training.losses import (
    masked_classification_loss,
    masked_multilabel_loss,
    masked_regression_loss,
)


@keras.saving.register_keras_serializable(package="vertical_tune")
class LossBalancer(keras.layers.Layer):
    """Learned log-variances `s` of homoscedastic uncertainty weighting.

    The total loss is `sum_i exp(-s_i) * L_i + s_i`: a task whose loss stays high
    gets a smaller weight `exp(-s_i)`, and the `+ s_i` term keeps the weights from
    collapsing to zero. With `trainable=False` the weights stay at 1.

    NOTE: `s` trains with the backbone's learning rate. Adam moves it by about that
    rate per step, so at fine-tuning rates (1e-4 range) the weights move slowly.
    """

    def __init__(self, num_tasks, **kwargs):
        super().__init__(**kwargs)
        self.num_tasks = num_tasks
        self.log_variance = self.add_weight(
            shape=(num_tasks,), initializer="zeros", name="log_variance", trainable=self.trainable
        )

    def combine(self, losses):
        """Return the balanced total of a list of scalar losses."""
        if not self.trainable:
            return ops.sum(ops.stack(losses))
        s = ops.cast(self.log_variance, "float32")
        return ops.sum(ops.exp(-s) * ops.stack(losses) + s)

    def task_weights(self):
        """Return the current weight `exp(-s_i)` of each task, as floats."""
        return [float(w) for w in ops.convert_to_numpy(ops.exp(-self.log_variance))]

    def get_config(self):
        return {**super().get_config(), "num_tasks": self.num_tasks}


@keras.saving.register_keras_serializable(package="vertical_tune")
class MultiTaskTextModel(keras_hub.models.Task):
    """Raw text in, a dict of per-task outputs out: logits, or values for regression.

    Args:
        backbone: keras_hub.models.Backbone. The shared encoder.
        heads: list of dict, one per task, with `name`, `type` (`multiclass`,
            `binary`, `multilabel`, `regression`), `units`, `hidden_units`,
            `dropout`, `loss_weight`, `class_weights` (list or None), `focal_gamma`
            (float or None), and `mean`/`std` of a regression target.
        preprocessor: keras_hub Preprocessor or None.
        loss_balancing: str. `fixed` or `uncertainty`.

    The loss is computed in `compute_loss`, one masked loss per task, so blank
    labels, per-task class weights and focal loss need nothing from `fit`.
    """

    def __init__(self, backbone, heads, preprocessor=None, loss_balancing="fixed", **kwargs):
        self.backbone = backbone
        self.preprocessor = preprocessor
        inputs = backbone.input
        features = _sentence_features(backbone, inputs)
        outputs = {head["name"]: _head(head, features, backbone.dtype_policy) for head in heads}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.heads = [dict(head) for head in heads]
        self.loss_balancing = loss_balancing
        self.loss_balancer = LossBalancer(
            len(heads), trainable=loss_balancing == "uncertainty", name="loss_balancer"
        )
        self.task_loss_trackers = [keras.metrics.Mean(name=f"{head['name']}_loss") for head in heads]

    @property
    def task_names(self):
        """The task names, in output order."""
        return [head["name"] for head in self.heads]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        losses = []
        for head, tracker in zip(self.heads, self.task_loss_trackers):
            loss = task_loss(head, y[head["name"]], y_pred[head["name"]])
            tracker.update_state(loss)
            losses.append(head["loss_weight"] * loss)
        total = self.loss_balancer.combine(losses)
        if self.losses:
            total = total + ops.sum(ops.stack([ops.cast(loss, "float32") for loss in self.losses]))
        return _scale_for_replicas(total)

    @property
    def metrics(self):
        tracked = super().metrics
        return tracked + [m for m in self.task_loss_trackers if m not in tracked]

    def get_config(self):
        config = super().get_config()
        config.update({"heads": self.heads, "loss_balancing": self.loss_balancing})
        return config

    @classmethod
    def from_config(cls, config):
        # keras-hub compiles a new task with a default optimizer; a loaded model is
        # for inference, and `FineTuner` compiles its own optimizer to train again.
        return super().from_config({**config, "compile": False})


def task_loss(head, y_true, y_pred):
    """Return the masked loss of one head on one batch."""
    if head["type"] == "regression":
        return masked_regression_loss(y_true, y_pred, scale=head.get("std") or 1.0)
    if head["type"] == "multilabel":
        return masked_multilabel_loss(
            y_true, y_pred, class_weights=head.get("class_weights"), focal_gamma=head.get("focal_gamma")
        )
    return masked_classification_loss(
        y_true, y_pred, class_weights=head.get("class_weights"), focal_gamma=head.get("focal_gamma")
    )


def build_multitask_model(backbone, heads, *, sequence_length, mode="full", lora_rank=8, loss_balancing="fixed"):
    """Create a `MultiTaskTextModel` on a resolved backbone.

    Args:
        backbone: ResolvedBackbone.
        heads: list of head dicts (see `MultiTaskTextModel`).
        sequence_length: int. Tokens per example.
        mode: str. `full`, `frozen` or `lora`.
        lora_rank: int. LoRA rank for mode `lora`.
        loss_balancing: str. `fixed` or `uncertainty`.
    """
    model = MultiTaskTextModel(
        load_backbone(backbone),
        heads,
        preprocessor=build_preprocessor(backbone, sequence_length),
        loss_balancing=loss_balancing,
        compile=False,
    )
    apply_transfer_mode(model, mode, lora_rank)
    return model


def _scale_for_replicas(loss):
    """Divide a per-replica loss by the replica count, as Keras does for compiled losses.

    Under a `tf.distribute` strategy the gradients of all replicas are summed, so each
    replica's loss must be its share of the global mean.
    """
    if keras.config.backend() != "tensorflow":
        return loss
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


def _sentence_features(backbone, inputs):
    """Return the pooled `[CLS]` vector where the backbone has a pooler, else the first token."""
    outputs = backbone(inputs)
    if isinstance(outputs, dict) and "pooled_output" in outputs:
        return outputs["pooled_output"]
    sequence = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
    return sequence[:, 0, :]


def _head(head, features, dtype_policy):
    name = head["name"]
    x = keras.layers.Dropout(head["dropout"], dtype=dtype_policy, name=f"{name}_dropout")(features)
    if head.get("hidden_units"):
        x = keras.layers.Dense(head["hidden_units"], activation="gelu", dtype=dtype_policy, name=f"{name}_hidden")(x)
    x = keras.layers.Dense(head["units"], dtype=dtype_policy, name=f"{name}_dense")(x)
    if head["type"] == "regression":
        # The dense layer predicts a standardised value; this maps it to the label's unit.
        x = keras.layers.Rescaling(scale=head["std"], offset=head["mean"], dtype=dtype_policy, name=f"{name}_rescale")(x)
    return x
