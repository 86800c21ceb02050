"""PIEG, Prior Information Embedding Generation (docs/architecture.md §4): view logits and a learned view prior."""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from . import speed


def _no_autocast(device_type: str):
    """Autocast switched off for `device_type` when it is on (a no-op elsewhere, e.g. on 'meta').

    `torch.is_autocast_enabled(device_type)` needs torch >= 2.4 (the floor in pyproject.toml;
    older versions take no argument and raise TypeError); for a device type that has no
    autocast at all, such as 'meta', it raises RuntimeError, which means "not enabled".
    """
    try:
        enabled = torch.is_autocast_enabled(device_type)
    except RuntimeError:  # no autocast for this device type ('meta')
        enabled = False
    return torch.autocast(device_type=device_type, enabled=False) if enabled else contextlib.nullcontext()


def temporal_max(x: torch.Tensor) -> torch.Tensor:
    """Max over time, `[n, c, s, h, w]` -> `[n, c, h, w]` (`torch.max`, as the authors' PIEG)."""
    return speed.reduce(x, "n c s h w -> n c h w", "max")


class GeM(nn.Module):
    """Generalised-mean pooling over the whole map (docs/architecture.md §4): `mean(clamp(x, eps)^P)^(1/P)`.

    Computed in (at least) float32 even under autocast: x^6.5 overflows float16.

    Each channel is divided by its own maximum m before the power and multiplied back after:
    `m * mean((x/m)^P)^(1/P)` equals the formula above for any constant m > 0, so values and
    gradients are those of the plain formula, but the mean can no longer underflow. Without
    this, a channel that is zero everywhere (clamped to eps = 1e-6) gives eps^P = 0 in float32
    once the learned P exceeds about 7.3; the gradient of P is then -inf and the next step
    fills the network with NaN (seen training `tiny` on SynthGait-B at iteration ~370).
    """

    def __init__(self, p_init: float = 6.5, eps: float = 1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p_init)))  # scalar, shape ()
        self.eps = eps

    def forward(self, x):
        # x: [n, c, h, w] -> [n, c]
        with _no_autocast(x.device.type):
            x = x.to(torch.promote_types(x.dtype, torch.float32)).clamp(min=self.eps).flatten(2)
            m = x.amax(-1, keepdim=True).detach()  # [n, c, 1]: a constant, so gradients are exact
            return ((x / m).pow(self.p).mean(-1, keepdim=True).pow(1.0 / self.p) * m).squeeze(-1)


class PIEG(nn.Module):
    """PIEG (docs/architecture.md §4): GeM of the temporal max of S_f (and S_c) -> view logits; argmax -> prior row of V_view."""

    def __init__(self, channels: int, views: int, branches: int = 2, p_init: float = 6.5, with_prior: bool = True):
        super().__init__()
        self.gem = GeM(p_init)
        self.view_cls = nn.Linear(branches * channels, views, bias=False)
        self.v_view = nn.Parameter(torch.randn(views, channels)) if with_prior else None

    def forward(self, s_f, s_c=None):
        # s_f, s_c: [n, c2, s, h', w'] (s_c has s/3 units; None without the coarse branch)
        maps = [temporal_max(s_f)] + ([temporal_max(s_c)] if s_c is not None else [])  # each [n, c2, h', w']
        pooled = self.gem(torch.cat(maps, dim=1))  # [n, branches*c2]
        logits = self.view_cls(pooled)  # [n, views]
        view = logits.argmax(-1)  # [n], not differentiable
        prior = self.v_view[view] if self.v_view is not None else None  # [n, c2]
        return logits, view, prior
