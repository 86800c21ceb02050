"""Parameter counts per block (docs/architecture.md, "Paper configuration") and the CLI `python -m gaitgs_lib summary`."""
from __future__ import annotations

import argparse

from torch import nn

__all__ = ["parameter_table", "format_parameter_table", "main"]

# (row name, parameter-name prefixes); rows follow docs/architecture.md's per-block list.
_BLOCKS = [
    ("input_conv", ("mgfe.input_conv.",)),
    ("STEM_f0", ("mgfe.stem_f0.",)),
    ("STEM_f1", ("mgfe.stem_f1a.", "mgfe.stem_f1b.")),
    ("STEM_c0", ("mgfe.stem_c0.",)),
    ("STEM_c1", ("mgfe.stem_c1a.", "mgfe.stem_c1b.")),
    ("UTA0", ("mgfe.uta0.",)),
    ("UTA1", ("mgfe.uta1.",)),
    ("UTA2", ("mgfe.uta2.",)),
    ("PIEG", ("pieg.",)),
    ("MCM_f", ("msfe_f.mcm.",)),
    ("MCM_c", ("msfe_c.mcm.",)),
    ("GCM_f", ("msfe_f.gcm.",)),
    ("GCM_c", ("msfe_c.gcm.",)),
    ("SeparateFCs_f", ("msfe_f.fc_local.",)),
    ("SeparateFCs_c", ("msfe_c.fc_local.",)),
]
# Sub-rows of the global span, as docs/architecture.md counts them: "transformer" is the encoder
# layers alone, "SeparateFCs" the head that maps the class token's output (`gcm.fc`).
_GCM_PARTS = [("CAPE", ("cape.",)), ("cls_token", ("cls_token",)), ("transformer", ("transformer.",)),
              ("SeparateFCs", ("fc.",))]


def parameter_table(model: nn.Module, detail: bool = False, trainable_only: bool = True) -> dict[str, int]:
    """Parameter count per GaitGS block, in docs/architecture.md's order, plus `total`.

    Blocks absent from the configuration (ablations) are left out. With `detail=True`
    the global-span rows are followed by `GCM_f.CAPE`, `GCM_f.cls_token`,
    `GCM_f.transformer` (the encoder layers) and `GCM_f.SeparateFCs` (the head of the class
    token). For the `paper` preset: input_conv 1,888, STEM_f0 159,744, STEM_f1 1,916,928,
    UTA0/1/2 3,072/12,288/49,152, PIEG 4,225, MCM 1,310,720, GCM 1,451,008 (CAPE 896,
    cls_token 4,096, transformer 397,440, SeparateFCs 1,048,576), SeparateFCs 1,048,576,
    total 11,844,577.
    """
    params = {name: p.numel() for name, p in model.named_parameters() if p.requires_grad or not trainable_only}
    table: dict[str, int] = {}
    assigned = set()
    for row, prefixes in _BLOCKS:
        names = [n for n in params if n.startswith(prefixes)]
        if not names:
            continue
        table[row] = sum(params[n] for n in names)
        assigned.update(names)
        if detail and row.startswith("GCM_"):
            base = prefixes[0]
            for sub, sub_prefixes in _GCM_PARTS:
                table[f"{row}.{sub}"] = sum(params[n] for n in names if n[len(base):].startswith(sub_prefixes))
    other = [n for n in params if n not in assigned]
    if other:
        table["other"] = sum(params[n] for n in other)
    table["total"] = sum(params.values())
    return table


def format_parameter_table(table: dict[str, int]) -> str:
    """The table as aligned text (sub-rows indented)."""
    width = max(len(k) for k in table) + 2
    lines = [f"{'block':<{width}}{'parameters':>12}", "-" * (width + 12)]
    for key, value in table.items():
        label = ("  " + key.split(".", 1)[1]) if "." in key else key
        if key == "total":
            lines.append("-" * (width + 12))
        lines.append(f"{label:<{width}}{value:>12,}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """`python -m gaitgs_lib summary --preset paper [--frames 30] [--depth 3] [--no-torchinfo]`."""
    import torch

    from ..config import MODEL_PRESETS, get_config
    from .gaitgs import GaitGS

    parser = argparse.ArgumentParser(prog="python -m gaitgs_lib summary",
                                     description="torchinfo summary and per-block parameter counts of a GaitGS preset")
    parser.add_argument("--preset", default="paper", choices=list(MODEL_PRESETS))
    parser.add_argument("--frames", type=int, default=30, help="frames of the dummy input sequence (default 30)")
    parser.add_argument("--depth", type=int, default=3, help="torchinfo nesting depth (default 3)")
    parser.add_argument("--no-torchinfo", action="store_true", help="only the per-block table (no forward pass)")
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames must be >= 1")

    cfg = get_config(args.preset)
    torch.manual_seed(0)
    model = GaitGS(cfg).eval()
    h, w = cfg.input_hw
    if not args.no_torchinfo:
        from torchinfo import summary

        with torch.no_grad():
            stats = summary(model, input_data=[torch.zeros(1, args.frames, h, w)], depth=args.depth,
                            col_names=("input_size", "output_size", "num_params"), verbose=0)
        print(stats)
        print("(torchinfo's mult-adds leave out the B3D convolutions: they run as one functional conv3d "
              "with the summed kernel)")
        print()
    print(f"GaitGS preset {args.preset!r}: input {h}x{w}, {args.frames} frames")
    print(format_parameter_table(parameter_table(model, detail=True)))
    return 0
