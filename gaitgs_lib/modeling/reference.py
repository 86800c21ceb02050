"""A plain reference GaitGS in the authors' module structure (docs/architecture.md).

Written for teaching, the tests and the benchmark, not for speed: three separate
convolutions per B3D, a python loop over the 8 STEM strips, one Conv1d pair per part in
MCM, and PyTorch's own nn.TransformerEncoder. Module names follow the authors' OpenGait
checkpoint keys, so their state dict loads with `load_state_dict` directly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicConv3d(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        super().__init__()
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, bias=False)

    def forward(self, x):
        return self.conv3d(x)


class BasicConv1d(nn.Module):
    def __init__(self, cin, cout, kernel, padding=0, groups=1):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, padding=padding, groups=groups, bias=False)

    def forward(self, x):
        return self.conv(x)


class RefB3D(nn.Module):
    """Three parallel convolutions, summed, then LeakyReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv3d_1 = BasicConv3d(cin, cout, (3, 3, 3), padding=(1, 1, 1))
        self.conv3d_2 = BasicConv3d(cin, cout, (1, 3, 3), padding=(0, 1, 1))
        self.conv3d_3 = BasicConv3d(cin, cout, (3, 1, 1), padding=(1, 0, 0))

    def forward(self, x):
        return F.leaky_relu(self.conv3d_1(x) + self.conv3d_2(x) + self.conv3d_3(x))


class RefSTEM(nn.Module):
    """Global B3D + local B3D applied strip by strip (8 strips, python loop)."""

    def __init__(self, cin, cout, strips=8):
        super().__init__()
        self.strips = strips
        self.plain = RefB3D(cin, cout)
        self.shortcut = RefB3D(cin, cout)

    def forward(self, x):
        size = x.shape[3] // self.strips
        local = torch.cat([self.shortcut(part) for part in x.split(size, dim=3)], dim=3)
        return self.plain(x) + local


class RefUTA(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv3d = nn.Conv3d(c, c, (3, 1, 1), stride=(3, 1, 1), bias=False)

    def forward(self, x):
        return self.conv3d(x)


class RefMGFE(nn.Module):
    def __init__(self, channels, channels_last=False):
        super().__init__()
        c0, c1, c2 = channels
        self.channels_last = channels_last  # benchmark option: NDHWC feature maps after the input convolutions
        self.conv3d = nn.Sequential(
            BasicConv3d(1, c0, 3, padding=1), nn.LeakyReLU(),
            BasicConv3d(c0, c0, 1), nn.LeakyReLU(),
        )
        self.STEM_S0 = RefSTEM(c0, c1)
        self.STEM_S1 = nn.Sequential(RefSTEM(c1, c2), RefSTEM(c2, c2))
        self.STEM_C0 = RefSTEM(c0, c1)
        self.STEM_C1 = nn.Sequential(RefSTEM(c1, c2), RefSTEM(c2, c2))
        self.UTA0, self.UTA1, self.UTA2 = RefUTA(c0), RefUTA(c1), RefUTA(c2)
        self.pool = nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2))

    def forward(self, x):
        x = self.conv3d(x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        u = self.UTA0(x)
        x = self.pool(self.STEM_S0(x))
        u = self.pool(self.STEM_C0(u)) + self.UTA1(x)
        x = self.STEM_S1(x)
        u = self.STEM_C1(u) + self.UTA2(x)
        return x, u


class RefMCM(nn.Module):
    """One Conv1d pair per part for MTB1 (conv1d3x1) and MTB2 (conv1d3x3), python loop over parts."""

    def __init__(self, c, parts):
        super().__init__()
        h = c // 4
        self.conv1d3x1 = nn.ModuleList(
            nn.Sequential(BasicConv1d(c, h, 3, padding=1), nn.LeakyReLU(), BasicConv1d(h, c, 1))
            for _ in range(parts))
        self.conv1d3x3 = nn.ModuleList(
            nn.Sequential(BasicConv1d(c, h, 3, padding=1), nn.LeakyReLU(), BasicConv1d(h, c, 3, padding=1))
            for _ in range(parts))

    def forward(self, x):
        # x: [n, c, s, p] -> E [n, c, s, p]
        outs = []
        for i in range(x.shape[-1]):
            z = x[..., i]  # [n, c, s]
            a1 = torch.sigmoid(self.conv1d3x1[i](z))
            t1 = F.avg_pool1d(z, 3, 1, 1) + F.max_pool1d(z, 3, 1, 1)
            a2 = torch.sigmoid(self.conv1d3x3[i](z))
            t2 = F.avg_pool1d(z, 5, 1, 2) + F.max_pool1d(z, 5, 1, 2)
            outs.append(t1 * a1 + t2 * a2)
        return torch.stack(outs, dim=-1)


class RefSeparateFCs(nn.Module):
    def __init__(self, parts, cin, cout):
        super().__init__()
        self.fc_bin = nn.Parameter(nn.init.xavier_uniform_(torch.empty(parts, cin, cout)))

    def forward(self, x):
        # [n, c, p] -> [n, out, p], one part at a time
        return torch.stack([x[:, :, i] @ self.fc_bin[i] for i in range(x.shape[-1])], dim=-1)


class RefCAPE(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.conv1d = BasicConv1d(c, c, k, padding=k // 2, groups=c)


class RefTransformer(nn.Module):
    def __init__(self, c, parts, out_dim, depth, heads, ff, dropout):
        super().__init__()
        layer = nn.TransformerEncoderLayer(c, heads, ff, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.attn = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.separate_mlp = RefSeparateFCs(parts, c, out_dim)


class RefCATM(nn.Module):
    """Global span: CAPE, class token, prior, transformer per (sample, part), class-token readout."""

    def __init__(self, c, parts, out_dim, depth, heads, ff, dropout, kernel):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, c, 1, parts))
        self.CAPE = RefCAPE(c, kernel)
        self.L_Transformer = RefTransformer(c, parts, out_dim, depth, heads, ff, dropout)

    def forward(self, e, prior):
        n, c, s, p = e.shape
        cape = torch.stack([self.CAPE.conv1d(e[..., i]) for i in range(p)], dim=-1)
        e = e + cape
        tokens = torch.cat([self.cls_token.expand(n, -1, -1, -1), e], dim=2) + prior[:, :, None, None]
        seq = tokens.permute(0, 3, 2, 1).reshape(n * p, s + 1, c)  # [(n p), s+1, c]
        out = self.L_Transformer.attn(seq)[:, 0].reshape(n, p, c).permute(0, 2, 1)  # [n, c, p]
        return self.L_Transformer.separate_mlp(out)


class RefPIEG(nn.Module):
    def __init__(self, c, views, p_init=6.5):
        super().__init__()
        self.P = nn.Parameter(torch.tensor(float(p_init)))
        self.V_view = nn.Parameter(torch.randn(views, c))
        self.view_cls = nn.Linear(2 * c, views, bias=False)

    def forward(self, s_f, s_c):
        x = torch.cat([s_f.max(2)[0], s_c.max(2)[0]], dim=1).float()  # [n, 2c, h, w]
        pooled = F.avg_pool2d(x.clamp(min=1e-6).pow(self.P), x.shape[-2:]).pow(1.0 / self.P).flatten(1)
        logits = self.view_cls(pooled)
        return logits, self.V_view[logits.argmax(-1)]


class ReferenceGaitGS(nn.Module):
    """GaitGS with the authors' structure and names; `forward` returns the same dict as ours."""

    def __init__(self, cfg, channels_last=False):
        super().__init__()
        self.cfg = cfg
        c2 = cfg.channels[2]
        # Registration order is the authors' (mgfe, MCMs, PIEG, ...): it is the order of their
        # optimizer's state (modeling/checkpoint.py, `authors_parameter_order`).
        self.mgfe = RefMGFE(cfg.channels, channels_last)
        self.MCMs_S = RefMCM(c2, cfg.parts)
        self.MCMs_C = RefMCM(c2, cfg.parts)
        self.PIEG = RefPIEG(c2, cfg.views, cfg.gem_p_init)
        args = (c2, cfg.parts, cfg.embed_dim, cfg.depth, cfg.heads, cfg.ff_dim, cfg.dropout, cfg.cape_kernel)
        self.catm_f = RefCATM(*args)
        self.catm_c = RefCATM(*args)
        self.fc = RefSeparateFCs(cfg.parts, c2, cfg.embed_dim)
        self.fc_L = RefSeparateFCs(cfg.parts, c2, cfg.embed_dim)

    def hp(self, x):
        n, c, s, h, w = x.shape
        p = self.cfg.parts
        z = x.reshape(n, c, s, p, (h // p) * w)
        return z.mean(-1) + z.max(-1)[0]

    def forward(self, sils):
        s = sils.shape[1]
        if s < 3:
            sils = sils.repeat(1, 3 if s == 1 else 2, 1, 1)
        s_f, s_c = self.mgfe(sils.unsqueeze(1))
        logits, prior = self.PIEG(s_f, s_c)
        outs = []
        for feat, mcm, catm, fc in ((s_f, self.MCMs_S, self.catm_f, self.fc), (s_c, self.MCMs_C, self.catm_c, self.fc_L)):
            e = mcm(self.hp(feat))
            outs.append(catm(e, prior) + fc(e.max(2)[0]))
        return {"embeddings": torch.cat(outs, dim=-1), "view_logits": logits}
