"""AdamW with linear warm-up followed by linear, cosine or no decay."""

import math

import keras


@keras.saving.register_keras_serializable(package="vertical_tune")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `peak_learning_rate`, then decay to 0 at `total_steps`.

    Args:
        peak_learning_rate: float. Learning rate at the end of warm-up.
        warmup_steps: int. Steps of linear warm-up; 0 starts at the peak.
        total_steps: int. Step at which the decayed rate reaches 0.
        decay: str. `linear`, `cosine` or `constant` (no decay after warm-up).
    """

    def __init__(self, peak_learning_rate, warmup_steps, total_steps, decay="linear"):
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = max(int(total_steps), self.warmup_steps + 1)
        self.decay = decay

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        peak = self.peak_learning_rate
        warmup = float(max(self.warmup_steps, 1))
        warm_rate = peak * keras.ops.minimum(1.0, (step + 1.0) / warmup)
        progress = keras.ops.clip(
            (step - self.warmup_steps) / float(self.total_steps - self.warmup_steps), 0.0, 1.0
        )
        if self.decay == "linear":
            decayed = peak * (1.0 - progress)
        elif self.decay == "cosine":
            decayed = peak * 0.5 * (1.0 + keras.ops.cos(math.pi * progress))
        else:
            decayed = keras.ops.convert_to_tensor(peak)
        return keras.ops.where(step < self.warmup_steps, warm_rate, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "decay": self.decay,
        }


def build_optimizer(training, total_steps):
    """Create the AdamW optimizer for a `TrainingConfig` and a number of training steps."""
    schedule = WarmupDecay(
        training.learning_rate,
        warmup_steps=int(round(training.warmup_ratio * total_steps)),
        total_steps=total_steps,
        decay=training.schedule,
    )
    optimizer = keras.optimizers.AdamW(
        learning_rate=schedule,
        weight_decay=training.weight_decay,
        global_clipnorm=training.clip_norm,
    )
    # Decaying LayerNorm scales and biases hurts fine-tuning; BERT recipes exclude them.
    # The log-variances of uncertainty loss weighting are not decayed either.
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "log_variance"])
    return optimizer
