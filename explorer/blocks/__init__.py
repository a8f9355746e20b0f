"""Block families, one per module; importing this package registers every block."""

from explorer.blocks import containers, layers  # noqa: F401
