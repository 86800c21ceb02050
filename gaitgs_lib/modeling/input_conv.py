"""The input convolutions (the "CNNs" at the start of the paper's network overview; docs/architecture.md §1): two Conv3d + LeakyReLU.

Named `InputConv`, not "stem", so that it cannot be confused with STEM, the paper's
spatio-temporal extraction module (`modeling/stem.py`). The authors' code holds it as `MGFE.conv3d`.
Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
import torch.nn.functional as F
from torch import nn

from .speed import conv3d


class InputConv(nn.Module):
    """Conv3d(1->c0, 3x3x3) -> LeakyReLU -> Conv3d(c0->c0, 1x1x1) -> LeakyReLU (docs/architecture.md §1)."""

    def __init__(self, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv3d(1, out_channels, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv3d(out_channels, out_channels, kernel_size=1, bias=False)

    def forward(self, x):
        # x: [n, 1, s, h, w] -> [n, c0, s, h, w]
        x = F.leaky_relu(conv3d(x, self.conv1.weight, padding=self.conv1.padding), inplace=True)  # [n, c0, s, h, w]
        return F.leaky_relu(conv3d(x, self.conv2.weight, padding=self.conv2.padding), inplace=True)
