"""UTA, Unit Temporal Aggregation (docs/architecture.md §2): every 3 frames -> one unit."""
from torch import nn

from .speed import conv3d


class UTA(nn.Module):
    """UTA (docs/architecture.md §2): Conv3d(c->c, 3x1x1, stride 3x1x1), no padding, no activation."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, (3, 1, 1), stride=(3, 1, 1), bias=False)

    def forward(self, x):
        # x: [n, c, s, h, w] -> [n, c, s // 3, h, w]
        return conv3d(x, self.conv.weight, stride=self.conv.stride, padding=self.conv.padding)
