"""Block families, one per module; importing this package registers every block (without
importing torch: the PyTorch modules are in :mod:`explorer.blocks.modules`)."""

from explorer.blocks import classic, containers, dense, inception, layers, residual  # noqa: F401
