"""STEM (docs/architecture.md §2): a global B3D plus a local B3D run on 8 horizontal strips.

The authors' code names the halves `plain` (global) and `shortcut` (local).
Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
from torch import nn

from . import speed
from .b3d import B3D

STRIPS = 8  # 2**3 horizontal strips of the local branch


def fold_strips(x, k: int):
    """`[n, c, s, (k r), w]` -> `[(n k), c, s, r, w]`: the k horizontal strips into the batch axis."""
    return speed.rearrange(x, "n c s (k r) w -> (n k) c s r w", k=k)


def unfold_strips(x, k: int):
    """Inverse of `fold_strips`: `[(n k), c, s, r, w]` -> `[n, c, s, (k r), w]`."""
    return speed.rearrange(x, "(n k) c s r w -> n c s (k r) w", k=k)


class STEM(nn.Module):
    """STEM(a->b) (docs/architecture.md §2): `global_b3d(x) + local_b3d(x cut into 8 strips)`.

    The local branch sees each strip of height h // 8 on its own (zero padding at every
    strip border). The strips are folded into the batch axis so that the 8 strip
    convolutions are one convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, strips: int = STRIPS):
        super().__init__()
        self.strips = strips
        self.global_b3d = B3D(in_channels, out_channels)
        self.local_b3d = B3D(in_channels, out_channels)

    def forward(self, x):
        # x: [n, a, s, h, w]
        if x.shape[3] % self.strips:
            raise ValueError(f"STEM: feature height {x.shape[3]} is not divisible by {self.strips} strips")
        plain = self.global_b3d(x)  # [n, b, s, h, w]
        # local_b3d(fold_strips(x, 8)): [n*8, a, s, h/8, w] -> [n*8, b, s, h/8, w]; the folded
        # copy of x is made again for the backward pass instead of kept (modeling/speed.py)
        local = speed.recompute_for_backward(self.local_b3d, fold_strips, x, self.strips)
        return plain + unfold_strips(local, self.strips)  # [n, b, s, h, w]
