"""B3D (docs/architecture.md §2): three parallel Conv3d kernels run as one fused 3x3x3 convolution."""
import torch
import torch.nn.functional as F
from torch import nn

from .speed import conv3d


class B3D(nn.Module):
    """B3D(a->b) (docs/architecture.md §2): LeakyReLU(conv3x3x3(x) + conv1x3x3(x) + conv3x1x1(x)).

    The three kernels stay separate parameters (checkpoints and parameter counts are the
    paper's), but the forward pass runs ONE convolution with their sum: the 1x3x3 kernel
    sits in the middle temporal slice and the 3x1x1 kernel in the spatial centre of the
    3x3x3 kernel. Convolution is linear in its kernel, so this is exact (up to rounding).
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv3x3x3 = nn.Conv3d(in_channels, out_channels, (3, 3, 3), padding=(1, 1, 1), bias=False)
        self.conv1x3x3 = nn.Conv3d(in_channels, out_channels, (1, 3, 3), padding=(0, 1, 1), bias=False)
        self.conv3x1x1 = nn.Conv3d(in_channels, out_channels, (3, 1, 1), padding=(1, 0, 0), bias=False)

    def fused_weight(self) -> torch.Tensor:
        """The summed kernel `[b, a, 3, 3, 3]` (differentiable w.r.t. the three kernels)."""
        w = self.conv3x3x3.weight  # [b, a, 3, 3, 3]
        w = w + F.pad(self.conv1x3x3.weight, (0, 0, 0, 0, 1, 1))  # [b, a, 1, 3, 3] -> middle frame
        w = w + F.pad(self.conv3x1x1.weight, (1, 1, 1, 1, 0, 0))  # [b, a, 3, 1, 1] -> spatial centre
        return w

    def forward(self, x):
        # x: [n, a, s, h, w] -> [n, b, s, h, w]
        return F.leaky_relu(conv3d(x, self.fused_weight(), padding=1), inplace=True)
