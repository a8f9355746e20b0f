"""The blocks' PyTorch modules, one file per family.

The family modules one level up declare the blocks (name, parameters, description) without
importing torch, so the blocks can be listed at once; their factories import these modules
when a block is built.
"""
