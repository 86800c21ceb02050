"""STEM (docs/architecture.md §2): a global B3D plus a local B3D run on 8 horizontal strips.

The authors' code names the halves `plain` (global) and `shortcut` (local).
Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
from einops import rearrange
from torch import nn

from .b3d import B3D
from .memory_format import is_channels_last

STRIPS = 8  # 2**3 horizontal strips of the local branch


def fold_strips(x, k: int):
    """`[n, c, s, (k r), w]` -> `[(n k), c, s, r, w]`: strips into the batch axis, keeping x's memory layout."""
    if is_channels_last(x):  # one copy, result channels-last again
        z = rearrange(x.permute(0, 2, 3, 4, 1), "n s (k r) w c -> (n k) s r w c", k=k)
        return z.permute(0, 4, 1, 2, 3)
    return rearrange(x, "n c s (k r) w -> (n k) c s r w", k=k)


def unfold_strips(x, k: int):
    """Inverse of `fold_strips`: `[(n k), c, s, r, w]` -> `[n, c, s, (k r), w]`."""
    if is_channels_last(x):
        z = rearrange(x.permute(0, 2, 3, 4, 1), "(n k) s r w c -> n s (k r) w c", k=k)
        return z.permute(0, 4, 1, 2, 3)
    return rearrange(x, "(n k) c s r w -> n c s (k r) w", k=k)


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
        strips = fold_strips(x, self.strips)  # [n*8, a, s, h/8, w]
        local = self.local_b3d(strips)  # [n*8, b, s, h/8, w]
        local = unfold_strips(local, self.strips)  # [n, b, s, h, w]
        return plain + local
