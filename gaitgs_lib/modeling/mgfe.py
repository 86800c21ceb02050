"""MGFE, Multi-Granularity Feature Extractor (docs/architecture.md §3): fine (frame) and coarse (unit) branches."""
from __future__ import annotations

from torch import nn

from . import speed
from .input_conv import InputConv
from .stem import STEM
from .uta import UTA


def _spatial_pool(x):
    """MaxPool(1, 2, 2): halve height and width, keep time."""
    return speed.max_pool3d(x, kernel=(1, 2, 2), stride=(1, 2, 2))


class MGFE(nn.Module):
    """MGFE (docs/architecture.md §3): input convolutions, STEMs and UTAs producing `S_f` (frames) and `S_c` (units).

    With `coarse=False` only the fine branch is built and run (`S_c` is None).
    """

    def __init__(self, channels: tuple[int, int, int], coarse: bool = True):
        super().__init__()
        c0, c1, c2 = channels
        self.coarse = coarse
        self.input_conv = InputConv(c0)
        self.stem_f0 = STEM(c0, c1)
        self.stem_f1a = STEM(c1, c2)
        self.stem_f1b = STEM(c2, c2)
        if coarse:
            self.uta0 = UTA(c0)
            self.uta1 = UTA(c1)
            self.uta2 = UTA(c2)
            self.stem_c0 = STEM(c0, c1)
            self.stem_c1a = STEM(c1, c2)
            self.stem_c1b = STEM(c2, c2)

    def forward(self, x, intermediates: dict | None = None):
        # x: [n, 1, s, h, w], s >= 3 -> S_f [n, c2, s, h/2, w/2], S_c [n, c2, s/3, h/2, w/2] (or None)
        if intermediates is not None:
            return self._forward(x, intermediates)
        # No operation mixes sequences, so a large batch may run a few sequences at a time (modeling/speed.py)
        widest = self.stem_f0.global_b3d.conv3x3x3.out_channels  # [n, c1, s, h, w] is the largest map
        return speed.in_chunks(self._forward, x, speed.chunk_size(x, widest))

    def _forward(self, x, intermediates: dict | None = None):
        # x: [n, 1, s, h, w], s >= 3
        x = self.input_conv(x)  # [n, c0, s, h, w]
        if intermediates is not None:
            intermediates["input_conv"] = x
        u = None
        if self.coarse:
            u = self.uta0(x)  # [n, c0, s/3, h, w]
            if intermediates is not None:
                intermediates["uta0_units"] = u
        x = _spatial_pool(self.stem_f0(x))  # [n, c1, s, h/2, w/2]
        if self.coarse:
            u = _spatial_pool(self.stem_c0(u)) + self.uta1(x)  # [n, c1, s/3, h/2, w/2]
        x = self.stem_f1b(self.stem_f1a(x))  # [n, c2, s, h/2, w/2]
        if self.coarse:
            u = self.stem_c1b(self.stem_c1a(u)) + self.uta2(x)  # [n, c2, s/3, h/2, w/2]
        if intermediates is not None:
            intermediates["S_f"] = x
            intermediates["S_c"] = u
        return x, u
