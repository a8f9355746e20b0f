"""The classic networks' blocks as modules (d2l's ``nin_block`` and ``vgg_block``)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from explorer.blocks.source import exported


@exported
class NiNBlock(nn.Sequential):
    """conv k×k → ReLU → 1×1 conv → ReLU → 1×1 conv → ReLU, all with the same channels."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int],
        padding: int | tuple[int, int],
    ) -> None:
        super().__init__(OrderedDict(
            conv1=nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding),
            relu1=nn.ReLU(),
            conv2=nn.Conv2d(out_channels, out_channels, kernel_size=1),
            relu2=nn.ReLU(),
            conv3=nn.Conv2d(out_channels, out_channels, kernel_size=1),
            relu3=nn.ReLU(),
        ))



@exported
class VGGBlock(nn.Sequential):
    """``num_convs`` × (conv 3×3 padding 1 → ReLU), then 2×2 max pooling with stride 2."""

    def __init__(self, in_channels: int, num_convs: int, out_channels: int) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(1, num_convs + 1):
            layers[f"conv{i}"] = nn.Conv2d(in_channels if i == 1 else out_channels,
                                           out_channels, kernel_size=3, padding=1)
            layers[f"relu{i}"] = nn.ReLU()
        layers["pool"] = nn.MaxPool2d(kernel_size=2, stride=2)
        super().__init__(layers)
