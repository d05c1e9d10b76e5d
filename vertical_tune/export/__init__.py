"""Export a run for deployment: Keras, SavedModel, LiteRT and ONNX, each checked against the Keras model."""
