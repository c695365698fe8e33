"""The encoders: the sentence embedder, its ONNX runtime and export, the vector stores."""
