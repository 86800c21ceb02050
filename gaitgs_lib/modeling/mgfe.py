"""MGFE, Multi-Granularity Feature Extractor (docs/architecture.md §3): fine (frame) and coarse (unit) branches."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .input_conv import InputConv
from .stem import STEM
from .uta import UTA

# On a CPU, MGFE runs the batch a few sequences at a time so that each feature map stays
# below this size (see `MGFE.chunk_size`): the first while autograd records (training), the
# second when it does not (evaluation, where the maps are freed as soon as they are used).
CPU_CHUNK_BYTES = 32 * 2**20
CPU_INFERENCE_CHUNK_BYTES = 8 * 2**20


def _spatial_pool(x):
    """MaxPool(1, 2, 2): halve height and width, keep time."""
    return F.max_pool3d(x, kernel_size=(1, 2, 2), stride=(1, 2, 2))


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

    def chunk_size(self, x) -> int:
        """Sequences per chunk: all of them, except on a CPU when a feature map would exceed `CPU_CHUNK_BYTES`.

        A speed detail, not part of the paper: every sequence goes through MGFE on its own
        (no operation mixes sequences), so running the batch in chunks computes the same
        numbers. On a CPU it is faster (how much: benchmarks/README.md, "Model speed"),
        probably because small maps are recycled by the memory allocator and stay in the
        cache, where every operation on a map of hundreds of MB touches fresh memory pages.

        Without autograd (evaluation) the budget is smaller, `CPU_INFERENCE_CHUNK_BYTES`,
        which evaluates faster than the training budget does (how much, on which CPUs:
        benchmarks/README.md, "Evaluation speed"). Training keeps its budget, so a run
        retrained from the same seed gives the same weights as before.
        """
        n, _, s, h, w = x.shape
        if x.device.type != "cpu":
            return n
        widest = self.stem_f0.global_b3d.conv3x3x3.out_channels  # [n, c1, s, h, w] is MGFE's largest map
        per_sequence = widest * s * h * w * x.element_size()
        budget = CPU_CHUNK_BYTES if torch.is_grad_enabled() else CPU_INFERENCE_CHUNK_BYTES
        return max(1, min(n, budget // per_sequence))

    def forward(self, x, intermediates: dict | None = None):
        # x: [n, 1, s, h, w], s >= 3
        chunk = self.chunk_size(x)
        if intermediates is not None or chunk >= x.shape[0]:
            return self._forward(x, intermediates)
        parts = [self._forward(part) for part in x.split(chunk)]  # per chunk: [m, c2, s, h/2, w/2], ...
        fine = torch.cat([f for f, _ in parts])  # [n, c2, s, h/2, w/2]
        coarse = torch.cat([c for _, c in parts]) if self.coarse else None  # [n, c2, s/3, h/2, w/2]
        return fine, coarse

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
