"""Load an exported vertical_tune model and classify texts.

This file is copied into every export folder as `predict.py`, so it imports nothing
from vertical_tune. Each model format needs only its own runtime:

- `saved_model`: tensorflow and tensorflow_text (`import tensorflow_text` registers
  the tokenizer ops that the graph uses).
- `litert`: ai_edge_litert, plus tensorflow_text when the model takes raw strings.
- `onnx`: onnxruntime.
- Models that take token ids: keras_hub, to tokenise with the preprocessor saved
  in `tokenizer/`.

The models expect texts already normalised with the run's normalisation profile
(`normalization_profile` in export.json). The training package applies it in
Python, so it is not part of any graph.

Usage:

    python predict.py onnx/model.int8.onnx "first text" "second text"

Example:

```python
import predict

model = predict.load_export(".", "litert/model.tflite")
model.predict(["shares rose after the report"])
```
"""

import json
import sys
from pathlib import Path

import numpy as np

TOKEN_INPUTS = ("token_ids", "padding_mask", "segment_ids")
PROBABILITIES = "probabilities"


class TokenEncoder:
    """Turn texts into the int32 token-id inputs of the exported models.

    Args:
        tokenizer_dir: str or Path. The keras-hub preprocessor preset saved by the
            export (`tokenizer/`).
    """

    def __init__(self, tokenizer_dir):
        import keras_hub

        self.preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(str(tokenizer_dir))

    def __call__(self, texts):
        features = self.preprocessor(np.asarray(list(texts), dtype=object))
        return {name: np.asarray(features[name]).astype(np.int32) for name in TOKEN_INPUTS}


class Predictor:
    """A loaded model: `prepare` builds its inputs, `run` returns probabilities.

    Args:
        labels: list of str. Class names in class-index order.
        encoder: TokenEncoder or None. None when the model takes raw strings.
    """

    def __init__(self, labels, encoder=None):
        self.labels = list(labels)
        self.encoder = encoder

    @property
    def text_input(self):
        """Whether the model takes raw strings (tokenisation inside the graph)."""
        return self.encoder is None

    def prepare(self, texts):
        """Return the model inputs for a batch of normalised texts."""
        if self.encoder is None:
            return np.asarray([str(text).encode("utf-8") for text in texts], dtype=object)
        return self.encoder(texts)

    def run(self, inputs):
        """Return float32 probabilities, shape (batch, classes), for prepared inputs."""
        raise NotImplementedError

    def predict_proba(self, texts, batch_size=32):
        """Return float32 probabilities, shape (len(texts), classes)."""
        texts = list(texts)
        batches = [
            self.run(self.prepare(texts[start : start + batch_size])) for start in range(0, len(texts), batch_size)
        ]
        if not batches:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return np.concatenate(batches).astype(np.float32)

    def predict(self, texts, batch_size=32):
        """Return the predicted label name of each text."""
        probabilities = self.predict_proba(texts, batch_size=batch_size)
        return [self.labels[index] for index in probabilities.argmax(axis=1)]


class SavedModelPredictor(Predictor):
    """A SavedModel whose `serving_default` signature takes a 1-D string tensor `text`."""

    def __init__(self, path, labels):
        super().__init__(labels)
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  Registers the tokenizer ops the graph uses.

        self._tf = tf
        self._loaded = tf.saved_model.load(str(path))
        self._function = self._loaded.signatures["serving_default"]

    def run(self, inputs):
        outputs = self._function(text=self._tf.constant(inputs, dtype=self._tf.string))
        return outputs[PROBABILITIES].numpy()


class KerasPredictor(Predictor):
    """A `.keras` TextClassifier with its preprocessor. `run` takes token ids."""

    def __init__(self, path, labels):
        import keras

        self.model = keras.saving.load_model(str(path), compile=False)
        super().__init__(labels)
        self.encoder = self._encode

    def _encode(self, texts):
        features = self.model.preprocessor(np.asarray(list(texts), dtype=object))
        return {name: np.asarray(features[name]) for name in TOKEN_INPUTS}

    def run(self, inputs):
        import keras

        logits = keras.Model.predict_on_batch(self.model, inputs)
        logits = np.asarray(logits, dtype=np.float32)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)


class LiteRTPredictor(Predictor):
    """A `.tflite` model run by the LiteRT interpreter.

    Args:
        path: str or Path. The `.tflite` file.
        labels: list of str.
        encoder: TokenEncoder or None. None when the model takes raw strings, and
            then the tensorflow_text LiteRT kernels are registered with the interpreter.
        num_threads: int or None. Interpreter threads, or None for the LiteRT default.
    """

    def __init__(self, path, labels, encoder=None, num_threads=None):
        super().__init__(labels, encoder)
        from ai_edge_litert.interpreter import Interpreter, InterpreterWithCustomOps

        if encoder is None:
            import tensorflow_text

            self.interpreter = InterpreterWithCustomOps(
                model_path=str(path),
                custom_op_registerers=list(tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS),
                num_threads=num_threads,
            )
        else:
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self._runner = self.interpreter.get_signature_runner("serving_default")

    def run(self, inputs):
        if self.encoder is None:
            return self._runner(text=inputs)[PROBABILITIES]
        return self._runner(**inputs)[PROBABILITIES]


class OnnxPredictor(Predictor):
    """An ONNX model run by onnxruntime on the CPU. `run` takes token ids."""

    def __init__(self, path, labels, encoder, num_threads=None):
        super().__init__(labels, encoder)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, inputs):
        return self.session.run([PROBABILITIES], inputs)[0]


def load_predictor(path, *, format, labels, text_input, tokenizer_dir=None, num_threads=None):
    """Load one exported model.

    Args:
        path: str or Path. The model file or SavedModel folder.
        format: str. `keras`, `saved_model`, `litert` or `onnx`.
        labels: list of str. Class names in class-index order.
        text_input: bool. Whether the model takes raw strings.
        tokenizer_dir: str, Path or None. The saved preprocessor, needed when
            `text_input` is false (except for `keras`, which has it inside).
        num_threads: int or None. CPU threads for LiteRT and onnxruntime.

    Returns:
        Predictor.
    """
    if format == "keras":
        return KerasPredictor(path, labels)
    if format == "saved_model":
        return SavedModelPredictor(path, labels)
    encoder = None if text_input else TokenEncoder(tokenizer_dir)
    if format == "litert":
        return LiteRTPredictor(path, labels, encoder, num_threads=num_threads)
    if format == "onnx":
        return OnnxPredictor(path, labels, encoder, num_threads=num_threads)
    raise ValueError(f"Unknown format {format!r}. Expected keras, saved_model, litert or onnx.")


def load_export(export_dir, artifact, num_threads=None):
    """Load the model `artifact` (a path listed in export.json) of an export folder."""
    export_dir = Path(export_dir)
    manifest = json.loads((export_dir / "export.json").read_text(encoding="utf-8"))
    entry = next((item for item in manifest["artifacts"] if item["path"] == artifact), None)
    if entry is None:
        known = ", ".join(item["path"] for item in manifest["artifacts"])
        raise ValueError(f"{artifact!r} is not listed in export.json. The export contains: {known}.")
    return load_predictor(
        export_dir / artifact,
        format=entry["format"],
        labels=manifest["labels"],
        text_input=entry["text_input"],
        tokenizer_dir=export_dir / manifest["tokenizer_dir"],
        num_threads=num_threads,
    )


def main(argv=None):
    """Print one JSON line (text, label, probabilities) per text given on the command line."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(__doc__.split("Example:")[0], file=sys.stderr)
        return 2
    artifact, texts = argv[0], argv[1:]
    predictor = load_export(Path(__file__).resolve().parent, artifact)
    probabilities = predictor.predict_proba(texts)
    for text, row in zip(texts, probabilities):
        label = predictor.labels[int(row.argmax())]
        scores = {name: float(value) for name, value in zip(predictor.labels, row)}
        print(json.dumps({"text": text, "label": label, "probabilities": scores}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
