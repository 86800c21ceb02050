"""GaitGS (Xiong et al., ICIP 2024), the whole network (docs/architecture.md)."""
from __future__ import annotations

import torch
from torch import nn

from ..config import GaitGSConfig, get_config
from .hp import HorizontalPooling
from .mgfe import MGFE
from .msfe import MSFE
from .pieg import PIEG


def tile_short_sequence(sils: torch.Tensor) -> torch.Tensor:
    """Tile sequences shorter than 3 frames (docs/architecture.md §1): 1 frame -> 3, 2 frames -> 4."""
    # sils: [n, s, h, w]
    s = sils.shape[1]
    if s == 1:
        return sils.repeat(1, 3, 1, 1)
    if s == 2:
        return sils.repeat(1, 2, 1, 1)
    return sils


class GaitGS(nn.Module):
    """GaitGS (docs/architecture.md §1-7): MGFE -> PIEG + HP -> MSFE per branch -> embeddings `[n, embed, 2p]`.

    `GaitGS(cfg)(sils)` with `sils: [n, s, h, w]` floats in [0, 1] returns a dict with
    `embeddings` `[n, embed_dim, 2p]` (fine parts then coarse parts; `p` without the coarse
    branch) and `view_logits` `[n, views]`; with `return_intermediates=True` also
    `intermediates`, a dict of named tensors (see `forward`).
    """

    def __init__(self, cfg: GaitGSConfig | str | dict = "paper"):
        super().__init__()
        if isinstance(cfg, str):
            cfg = get_config(cfg)  # a preset name
        elif isinstance(cfg, dict):
            cfg = GaitGSConfig(**cfg)  # e.g. dataclasses.asdict(cfg) from a training checkpoint
        elif not isinstance(cfg, GaitGSConfig):
            raise TypeError(f"GaitGS: expected a GaitGSConfig, a preset name or a config dict, got {type(cfg).__name__}")
        self.cfg = cfg
        c0, c1, c2 = cfg.channels
        self.mgfe = MGFE(cfg.channels, coarse=cfg.use_coarse)
        self.pieg = PIEG(c2, cfg.views, branches=cfg.num_branches, p_init=cfg.gem_p_init,
                         with_prior=cfg.use_pieg_prior and cfg.use_global_span)
        self.hp = HorizontalPooling(cfg.parts)
        kwargs = dict(channels=c2, parts=cfg.parts, embed_dim=cfg.embed_dim, depth=cfg.depth, heads=cfg.heads,
                      ff_dim=cfg.ff_dim, dropout=cfg.dropout, cape_kernel=cfg.cape_kernel,
                      use_mcm=cfg.use_mcm, use_global_span=cfg.use_global_span)
        self.msfe_f = MSFE(**kwargs)
        self.msfe_c = MSFE(**kwargs) if cfg.use_coarse else None

    def input_dtypes(self) -> tuple[torch.dtype, ...]:
        """The dtypes `forward` takes: the weights' dtype, plus the autocast dtype while autocast is on."""
        weight_dtype = self.pieg.view_cls.weight.dtype
        device_type = self.pieg.view_cls.weight.device.type
        dtypes = (weight_dtype,)
        try:
            if torch.is_autocast_enabled(device_type):
                dtypes += (torch.get_autocast_dtype(device_type),)
        except RuntimeError:  # no autocast for this device type ('meta')
            pass
        return dtypes

    def check_input(self, sils) -> None:
        """Raise one clear error when `sils` is not `[n, s, h, w]` silhouettes in [0, 1] the model can take.

        Checked: type, rank, frame size, dtype (`input_dtypes()`: float32 for a float32 model;
        never cast silently), and the values: NaN/inf (counted) and values outside [0, 1], such
        as frames in 0..255 not divided by 255. The value checks read the whole input once
        (one reduction, and one device synchronisation on a GPU); they are skipped on the
        'meta' device and inside `torch.compile`.
        """
        h, w = self.cfg.input_hw
        where = f"GaitGS (config {self.cfg.name!r}, input_hw={h}x{w})"
        if not isinstance(sils, torch.Tensor):
            raise TypeError(f"{where}: expected a torch.Tensor [n, s, h, w], got {type(sils).__name__}")
        if sils.dim() == 5 and sils.shape[1] == 1:
            raise ValueError(
                f"{where}: expected silhouettes of rank 4 [n, s, h, w], got 5-D {tuple(sils.shape)} "
                f"[n, 1, s, h, w]; drop the channel axis with sils.squeeze(1)"
            )
        if sils.dim() != 4:
            raise ValueError(f"{where}: expected silhouettes of rank 4 [n, s, h, w], got shape {tuple(sils.shape)}")
        if not sils.is_floating_point():
            raise ValueError(
                f"{where}: expected float silhouettes in [0, 1], got dtype {sils.dtype} "
                f"(convert uint8 frames with sils.float() / 255)"
            )
        if tuple(sils.shape[2:]) != (h, w):
            raise ValueError(
                f"{where}: expected frames of {h}x{w}, got {sils.shape[2]}x{sils.shape[3]} "
                f"(shape {tuple(sils.shape)}); use the preset that matches the data or resize it"
            )
        if sils.shape[0] < 1 or sils.shape[1] < 1:
            raise ValueError(f"{where}: need at least one sequence and one frame, got shape {tuple(sils.shape)}")
        dtypes = self.input_dtypes()
        if sils.dtype not in dtypes:
            names = " or ".join(str(d).replace("torch.", "") for d in dtypes)
            raise ValueError(
                f"{where}: expected {names} silhouettes (the dtype of the model's weights), got "
                f"{str(sils.dtype).replace('torch.', '')}; cast the input with sils.to({dtypes[0]}) "
                f"(or the model with model.to(dtype))"
            )
        if sils.device.type != "meta" and not torch.compiler.is_compiling():
            self._check_values(sils, where)

    @staticmethod
    def _check_values(sils, where: str) -> None:
        """NaN/inf and the [0, 1] range, from one reduction over the input."""
        finite = torch.isfinite(sils)
        clean = torch.where(finite, sils, torch.zeros((), dtype=sils.dtype, device=sils.device))
        stats = torch.stack([(~finite).sum().double(), clean.amin().double(), clean.amax().double()])
        bad, low, high = stats.tolist()  # one transfer (one synchronisation on a GPU)
        if bad:
            raise ValueError(f"{where}: the input holds {int(bad)} NaN/inf value(s) out of {sils.numel()}; "
                             f"check the data and the preprocessing that produced it")
        if high > 1.0 and low >= 0.0 and high <= 255.0:
            raise ValueError(f"{where}: expected silhouettes in [0, 1], got values up to {high:g}: frames in "
                             f"0..255 must be divided by 255 (sils / 255)")
        if low < 0.0 or high > 1.0:
            raise ValueError(f"{where}: expected silhouettes in [0, 1], got values in [{low:g}, {high:g}]")

    def forward(self, sils, return_intermediates: bool = False) -> dict:
        """Silhouettes `[n, s, h, w]` -> dict(embeddings, view_logits[, intermediates]).

        Intermediates (fine branch `f_`, coarse branch `c_`): `input_conv` `[n, c0, s, h, w]`,
        `uta0_units` `[n, c0, s/3, h, w]`, `S_f` `[n, c2, s, h/2, w/2]`, `S_c`
        `[n, c2, s/3, h/2, w/2]`, `f_hp`/`c_hp` `[n, c2, s|s/3, p]`,
        `{f,c}_mtb{1,2}_attention` `[n, c2, s|s/3, p]`, `{f,c}_attention_{layer}`
        `[n, p, heads, t+1, t+1]` (t = s or s/3), `pieg_view` `[n]` (predicted view),
        `pieg_prior` `[n, c2]` (None when the prior is off). `s` counts frames after tiling.
        """
        self.check_input(sils)
        sils = tile_short_sequence(sils)  # [n, s>=3, h, w]
        inter = {} if return_intermediates else None
        s_f, s_c = self.mgfe(sils.unsqueeze(1), inter)  # [n, c2, s, h/2, w/2], [n, c2, s/3, h/2, w/2]
        logits, view, prior = self.pieg(s_f, s_c)  # [n, views], [n], [n, c2]
        if not self.cfg.use_pieg_prior:
            prior = None
        hp_f = self.hp(s_f)  # [n, c2, s, p]
        embeddings = [self.msfe_f(hp_f, prior, inter, "f_")]  # [n, embed, p]
        if inter is not None:
            inter["f_hp"] = hp_f
        if self.msfe_c is not None:
            hp_c = self.hp(s_c)  # [n, c2, s/3, p]
            embeddings.append(self.msfe_c(hp_c, prior, inter, "c_"))
            if inter is not None:
                inter["c_hp"] = hp_c
        out = {"embeddings": torch.cat(embeddings, dim=-1), "view_logits": logits}  # [n, embed, 2p], [n, views]
        if inter is not None:
            inter["pieg_view"] = view
            inter["pieg_prior"] = prior
            out["intermediates"] = inter
        return out

    def extra_repr(self) -> str:
        return f"preset={self.cfg.name!r}, input_hw={self.cfg.input_hw}"
