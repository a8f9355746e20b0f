"""Exports a network can leave the app as: PyTorch code, a training script, ONNX. No Qt."""
