"""The blocks' PyTorch modules, one file per family; importing this package imports them all
(and so registers every exported block class, :mod:`explorer.blocks.source`).

The family modules one level up declare the blocks (name, parameters, description) without
importing torch, so the blocks can be listed at once; their factories import these modules
when a block is built.
"""

from explorer.blocks.modules import (  # noqa: F401
    classic,
    containers,
    dense,
    inception,
    layers,
    residual,
)
