"""Presets: the classic networks, faithful to ARCHITECTURES.md."""
