"""Block families, one per module; importing this package registers every block."""

from explorer.blocks import classic, containers, dense, inception, layers, residual  # noqa: F401
