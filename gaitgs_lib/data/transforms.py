"""Load-time frame transforms shared by the dataset, the contact sheet and the explorer.

OpenGait stores silhouettes as square frames (`pretreat`: 64x64 or 128x128) and cuts
`W // 64 * 10` columns from each side when it loads them (docs/data-and-evaluation.md, "Preprocessing"):
64x64 -> 64x44, 128x128 -> 128x88. A model input smaller than that is an exact k x k block
average of it (64x44 -> 32x22), nothing else: `downscale_factor` refuses any other resize.
"""
from __future__ import annotations


def side_cut_columns(width: int) -> int:
    """Columns cut from each side of a frame `width` wide: `int(width // 64) * 10` (0 below 64)."""
    cut = int(width // 64) * 10
    return cut if 2 * cut < width else 0


def side_cut(frames):
    """Cut `side_cut_columns(W)` columns from each side: `[..., H, W] -> [..., H, W - 2 cut]`.

    Works on numpy arrays and torch tensors alike and returns a view (no copy); frames
    narrower than 64 columns (e.g. already cut to 44) come back unchanged.
    """
    width = frames.shape[-1]
    cut = side_cut_columns(width)
    return frames[..., cut: width - cut] if cut else frames


def check_stored_size(frame_hw, where: str = "frames") -> None:
    """Refuse frames that are neither OpenGait's square frames nor already side-cut ones.

    `pretreat` (ours and OpenGait's) writes square frames, 64x64 or 128x128; some OpenGait
    datasets come already cut to the 64:44 aspect (64x44, 128x88). Anything else (say
    100x37) raises a ValueError naming `where`, instead of being resized without a word.
    """
    h, w = (int(v) for v in frame_hw)
    if h == w or h * 44 == w * 64:
        return
    raise ValueError(
        f"{where}: frames are {h}x{w}; expected OpenGait's square frames (64x64 or 128x128, as "
        f"`python -m gaitgs_lib pretreat` writes them) or frames already cut to 64x44 / 128x88")


def downscale_factor(frame_hw, size, where: str = "frames") -> int:
    """The integer k with `frame_hw == k * size` (k >= 1), the only resize the dataset makes.

    A k x k area average is exact and keeps the aspect ratio (64x44 -> 32x22 is k = 2).
    Anything else (a different aspect, an upscale, a non-integer ratio) raises a ValueError
    naming `where`: it means the files were not made by `pretreat` for this model input.
    """
    h, w = (int(v) for v in frame_hw)
    sh, sw = (int(v) for v in size)
    k = h // sh if sh else 0
    if k >= 1 and (h, w) == (k * sh, k * sw):
        return k
    raise ValueError(
        f"{where}: frames are {h}x{w} after the side cut, which is not an exact k x k downscale of "
        f"the model input {sh}x{sw} (e.g. 64x44 -> 32x22); the files do not look like OpenGait "
        f"frames (square 64x64 or 128x128 from `python -m gaitgs_lib pretreat`)")
