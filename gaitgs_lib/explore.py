"""The logic behind the widgets of notebook 07, the temporal span explorer.

Every control group of `notebooks/07_temporal_span_explorer.ipynb` calls these functions and
draws what they return (`gaitgs_lib.viz.explorer`), so the logic is covered by
`tests/test_explore.py` and the widgets stay thin: which frames form UTA's units and MCM's
windows, the range of every slider for a given sequence (`control_limits`, `spans_from`), and
`SpanExplorer`, which runs the model and caches each result by what it depends on. Frame
indices are 0-based; silhouettes are `[s, h, w]` floats in [0, 1].
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Subset

from gaitgs_lib.data.transforms import side_cut
from gaitgs_lib.evaluation import extract_embeddings, part_distance

__all__ = [
    "unit_groups",
    "mcm_windows",
    "select_span",
    "fit_frames",
    "embed_sequence",
    "span_distances",
    "class_token_attention",
    "attention_keys",
    "mcm_attention_over_time",
    "stride_signal",
    "sequence_index",
    "gallery_indices",
    "span_ranks",
    "DEFAULT_SPANS",
    "MIN_SPAN",
    "MAX_UNIT",
    "spans_from",
    "control_limits",
    "Walker",
    "SpanCurve",
    "SpanExplorer",
    "STRIDE_FRACTIONS",
    "stride_frames",
    "stride_spans",
    "cue_set",
    "SpanRanks",
    "span_rank_table",
]

# Frames fed for the distance-vs-span curve (then every remaining frame): short spans where the
# rank changes, about one stride (24 frames at 25 fps) at most; 7 forward passes per curve.
DEFAULT_SPANS = (3, 6, 9, 12, 18, 24)
MIN_SPAN = 3  # one unit of UTA: the shortest span both branches can see
MAX_UNIT = 6  # the explorer's largest unit size (GaitGS uses 3)


def unit_groups(num_frames: int, unit: int = 3) -> list[list[int]]:
    """Frames that form each unit of UTA (docs/architecture.md §2): `floor(s / unit)` groups of `unit`.

    UTA is a Conv3d with temporal kernel and stride `unit` and no padding, so unit `j` sees
    frames `j*unit ... j*unit + unit - 1` and the last `s mod unit` frames belong to no unit.
    `unit_groups(7, 3) == [[0, 1, 2], [3, 4, 5]]` (frame 6 is dropped).
    """
    if int(unit) != unit or unit < 1:
        raise ValueError(f"unit_groups: unit must be a positive int, got {unit!r}")
    if int(num_frames) != num_frames or num_frames < 0:
        raise ValueError(f"unit_groups: num_frames must be a non-negative int, got {num_frames!r}")
    unit, num_frames = int(unit), int(num_frames)
    return [list(range(j * unit, (j + 1) * unit)) for j in range(num_frames // unit)]


def mcm_windows(num_frames: int, t: int, sizes: Sequence[int] = (3, 5)) -> dict[int, dict[str, list[int]]]:
    """The temporal windows of MCM's templates around frame `t` (docs/architecture.md §6, MTB1 / MTB2).

    For every odd window size `k` the template at `t` pools frames `t - k//2 ... t + k//2`
    (stride 1, padding `k//2`). Returns `{k: {"frames": [...], "padded": [...]}}`: the real
    frames inside the sequence and the padded positions outside it (AvgPool counts those as
    zeros, MaxPool ignores them). `mcm_windows(10, 0)[5] == {"frames": [0, 1, 2], "padded": [-2, -1]}`.
    """
    num_frames, t = int(num_frames), int(t)
    if num_frames < 1:
        raise ValueError(f"mcm_windows: num_frames must be >= 1, got {num_frames}")
    if not 0 <= t < num_frames:
        raise ValueError(f"mcm_windows: frame t={t} is outside the sequence [0, {num_frames - 1}]")
    out = {}
    for k in sizes:
        if int(k) != k or k < 1 or k % 2 == 0:
            raise ValueError(f"mcm_windows: window sizes must be odd positive ints, got {k!r}")
        k = int(k)
        idx = range(t - k // 2, t + k // 2 + 1)
        out[k] = {
            "frames": [i for i in idx if 0 <= i < num_frames],
            "padded": [i for i in idx if not 0 <= i < num_frames],
        }
    return out


def select_span(num_frames: int, span: int, start: int = 0) -> tuple[int, int]:
    """The `[begin, end)` frame range of a span of `span` frames from `start`, clipped to the sequence.

    `select_span(50, 30, start=40) == (20, 50)`: a window that would run past the end is moved
    back so that it keeps `span` frames; a span longer than the sequence takes all of it.
    """
    num_frames, span, start = int(num_frames), int(span), int(start)
    if num_frames < 1:
        raise ValueError(f"select_span: the sequence has no frames (num_frames={num_frames})")
    if span < 1:
        raise ValueError(f"select_span: span must be >= 1 frame, got {span}")
    if start < 0:
        raise ValueError(f"select_span: start must be >= 0, got {start}")
    span = min(span, num_frames)
    begin = min(start, num_frames - span)
    return begin, begin + span


def fit_frames(frames, input_hw: tuple[int, int]) -> torch.Tensor:
    """Silhouettes `[s, H, W]` (uint8 0..255 or float 0..1) -> float `[s, h, w]` at the model's `input_hw`.

    Frames in the OpenGait on-disk size (`W == H`, e.g. 64x64) first lose `W // 64 * 10`
    columns on each side (docs/data-and-evaluation.md: 64x64 -> 64x44); then they are resized (area
    interpolation) to `input_hw` when that differs, e.g. 64x44 -> 32x22 for the `tiny` preset.
    """
    x = torch.as_tensor(np.asarray(frames) if not torch.is_tensor(frames) else frames)
    if x.ndim != 3:
        raise ValueError(f"fit_frames: expected silhouettes [s, h, w], got shape {tuple(x.shape)}")
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    h, w = int(input_hw[0]), int(input_hw[1])
    if x.shape[1] == x.shape[2] and x.shape[2] >= 64 and x.shape[1:] != (h, w):
        x = side_cut(x)  # [s, H, W - 2 cut]
    if tuple(x.shape[1:]) != (h, w):
        x = F.interpolate(x[:, None], size=(h, w), mode="area")[:, 0]  # [s, h, w]
    return x


@torch.no_grad()
def embed_sequence(model, frames: torch.Tensor, return_intermediates: bool = False):
    """Run `model` (eval mode) on one sequence `[s, h, w]`; returns the model's output dict.

    `out["embeddings"]` is `[1, c, P]`. The model's training mode is restored afterwards.
    """
    if frames.ndim != 3:
        raise ValueError(f"embed_sequence: expected one sequence [s, h, w], got shape {tuple(frames.shape)}")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        return model(frames[None].to(device), return_intermediates=return_intermediates)
    finally:
        model.train(was_training)


@torch.no_grad()
def span_distances(model, probe_frames: torch.Tensor, gallery_embeddings: torch.Tensor,
                   spans: Sequence[int], start: int = 0, metric: str = "euclidean") -> np.ndarray:
    """Distance of the probe to every gallery sequence when only `span` frames of it are fed.

    probe_frames: `[s, h, w]`; gallery_embeddings: `[m, c, P]`. For each span in `spans` the
    frames `select_span(s, span, start)` are embedded and compared with `part_distance`
    (mean over parts of the per-part distance, docs/data-and-evaluation.md). Returns float `[len(spans), m]`.
    """
    gallery = torch.as_tensor(gallery_embeddings)
    if gallery.ndim != 3:
        raise ValueError(f"span_distances: gallery_embeddings must be [m, c, P], got {tuple(gallery.shape)}")
    if len(spans) == 0:
        raise ValueError("span_distances: spans is empty")
    rows = []
    for span in spans:
        begin, end = select_span(probe_frames.shape[0], span, start)
        emb = embed_sequence(model, probe_frames[begin:end])["embeddings"].float().cpu()  # [1, c, P]
        if emb.shape[1:] != gallery.shape[1:]:
            raise ValueError(f"span_distances: probe embedding {tuple(emb.shape)} does not match "
                             f"gallery embeddings {tuple(gallery.shape)} (same model and preset?)")
        rows.append(part_distance(emb, gallery.float().cpu(), metric=metric)[0])  # [m]
    return torch.stack(rows).numpy()


def class_token_attention(attention: torch.Tensor, reduce_heads: bool = False,
                          reduce_parts: bool = False) -> torch.Tensor:
    """How much the class token attends to each frame (docs/architecture.md §6, global span).

    attention: `[n, p, heads, s+1, s+1]` (one transformer layer; query rows, key columns;
    token 0 is the class token). Returns row 0 without column 0, `[n, p, heads, s]`; with
    `reduce_heads` / `reduce_parts` the heads / parts are averaged away (dims dropped).
    The full row (with the class token itself) sums to 1, so the frame weights sum to <= 1.
    """
    if attention.ndim != 5 or attention.shape[-1] != attention.shape[-2] or attention.shape[-1] < 2:
        raise ValueError("class_token_attention: expected attention [n, p, heads, s+1, s+1] with s >= 1, "
                         f"got shape {tuple(attention.shape)}")
    out = attention[..., 0, 1:]  # [n, p, heads, s]
    if reduce_heads:
        out = out.mean(2)  # [n, p, s]
    if reduce_parts:
        out = out.mean(1)  # [n, (heads,) s]
    return out


def attention_keys(intermediates: dict, branch: str = "fine") -> list[str]:
    """Names of one branch's transformer attention tensors in GaitGS's `intermediates`, layer by layer.

    GaitGS stores them as `f_attention_<layer>` (fine branch) and `c_attention_<layer>`
    (coarse branch), each `[n, p, heads, t+1, t+1]`.
    """
    prefixes = {"fine": "f_attention_", "coarse": "c_attention_"}
    if branch not in prefixes:
        raise ValueError(f"attention_keys: branch must be 'fine' or 'coarse', got {branch!r}")
    pre = prefixes[branch]
    keys = [k for k in intermediates if k.startswith(pre) and k[len(pre):].isdigit()]
    return sorted(keys, key=lambda k: int(k[len(pre):]))


def mcm_attention_over_time(attention: torch.Tensor, sample: int = 0) -> torch.Tensor:
    """MTB attention `[n, c, s, p]` -> its mean over channels for one sample, `[s, p]` (in (0, 1))."""
    if attention.ndim != 4:
        raise ValueError(f"mcm_attention_over_time: expected MTB attention [n, c, s, p], got {tuple(attention.shape)}")
    return attention[sample].float().mean(0)  # [s, p]


def stride_signal(frames, rows: float = 0.25) -> torch.Tensor:
    """A gait-phase signal per frame: the horizontal extent of the silhouette's lowest `rows` fraction.

    frames: `[s, h, w]` in [0, 1] (or uint8). For a side view this is the distance between the
    feet: largest at double support (a heel strike), smallest at mid-stance, twice per stride.
    Returns float `[s]` in pixels (first to last column with foreground, 0 for an empty band).
    """
    x = torch.as_tensor(np.asarray(frames) if not torch.is_tensor(frames) else frames)
    if x.ndim != 3:
        raise ValueError(f"stride_signal: expected silhouettes [s, h, w], got shape {tuple(x.shape)}")
    if not 0 < rows <= 1:
        raise ValueError(f"stride_signal: rows must be a fraction in (0, 1], got {rows}")
    h = x.shape[1]
    band = x[:, h - max(1, round(h * rows)):].float()  # [s, rows, w]
    cols = band.amax(1) > (0.5 if not x.dtype == torch.uint8 else 127)  # [s, w]
    idx = torch.arange(x.shape[2], dtype=torch.float32)
    first = torch.where(cols, idx, torch.inf).amin(1)
    last = torch.where(cols, idx, -torch.inf).amax(1)
    return torch.where(cols.any(1), last - first + 1, torch.zeros(()))


def sequence_index(infos, sid: str, type: str, view: str) -> int:
    """Position of the sequence `sid/type/view` in a dataset's `infos` (objects with `.sid/.type/.view`)."""
    for i, info in enumerate(infos):
        if (info.sid, info.type, info.view) == (sid, type, view):
            return i
    have = sorted({i.type for i in infos if i.sid == sid and i.view == view})
    raise KeyError(f"no sequence {sid}/{type}/{view} in this dataset"
                   + (f"; {sid} at view {view} has types {have}" if have else f"; subject {sid} / view {view} not found"))


def gallery_indices(infos, view: str, types=("nm-01",)) -> list[int]:
    """Positions of the gallery sequences (given `types`, one `view`) in `infos`, ordered by subject id."""
    found = [(info.sid, i) for i, info in enumerate(infos) if info.view == view and info.type in set(types)]
    if not found:
        raise ValueError(f"no gallery sequence of types {list(types)} at view {view}")
    return [i for _, i in sorted(found)]


def span_ranks(distances, correct) -> np.ndarray:
    """Rank (1 = nearest) of the correct gallery entries for every span: `[len(spans), m]` -> `[len(spans)]`.

    `correct`: a gallery index or a boolean mask `[m]` (several sequences of the right subject);
    the rank is that of the best-placed correct entry. Ties count in the probe's favour.
    """
    d = np.asarray(distances, dtype=float)
    if d.ndim != 2:
        raise ValueError(f"span_ranks: distances must be [spans, m], got shape {d.shape}")
    mask = np.zeros(d.shape[1], bool)
    if np.ndim(correct) == 0:
        mask[int(correct)] = True
    else:
        mask = np.asarray(correct, bool)
        if mask.shape != (d.shape[1],) or not mask.any():
            raise ValueError(f"span_ranks: correct must be an index or a non-empty mask of {d.shape[1]} entries")
    best = np.where(mask, d, np.inf).min(1)  # [spans]
    return (d[:, ~mask] < best[:, None]).sum(1) + 1


# ------------------------------------------------------------------------------------------
# The sliders' ranges: every slider is bounded by the sequence it shows, nothing is clamped.
# ------------------------------------------------------------------------------------------
def spans_from(num_frames: int, start: int, spans: Sequence[int] = DEFAULT_SPANS) -> list[int]:
    """The spans fed from frame `start`: those of `spans` that fit, then every remaining frame.

    `spans_from(41, 0) == [3, 6, 9, 12, 18, 24, 41]`, `spans_from(41, 30) == [3, 6, 9, 11]`:
    each window `start ... start + span - 1` lies inside the sequence, so no window is moved.
    """
    num_frames, start = int(num_frames), int(start)
    if not 0 <= start < num_frames:
        raise ValueError(f"spans_from: start={start} is outside the sequence [0, {num_frames - 1}]")
    rest = num_frames - start
    return [int(s) for s in sorted(set(spans)) if 1 <= s < rest] + [rest]


def control_limits(num_frames: int, span: int | None = None) -> dict[str, tuple[int, int]]:
    """`(min, max)` of every slider of the explorer for a sequence of `num_frames` frames.

    `span`: frames fed from the first frame, `MIN_SPAN ... num_frames`; `t`: a frame of the
    current `span` (default: all frames), `0 ... span - 1`; `unit`: `1 ... min(MAX_UNIT, span)`;
    `start`: the first frame of the distance curve, `0 ... num_frames - MIN_SPAN`, so that at
    least one span of `MIN_SPAN` frames fits after it. A sequence shorter than `MIN_SPAN`
    gets the ranges its frames allow.
    """
    n = int(num_frames)
    if n < 1:
        raise ValueError(f"control_limits: the sequence has no frames (num_frames={num_frames})")
    span = n if span is None else max(1, min(int(span), n))
    return {
        "span": (min(MIN_SPAN, n), n),
        "t": (0, span - 1),
        "unit": (1, min(MAX_UNIT, span)),
        "start": (0, max(0, n - MIN_SPAN)),
    }


# ------------------------------------------------------------------------------------------
# SpanExplorer: the model's side of the explorer, each result cached by what it depends on.
# ------------------------------------------------------------------------------------------
class Walker(NamedTuple):
    """One probe sequence: who walks, seen from which view, in which condition (e.g. nm-05)."""

    subject: str
    view: str
    condition: str


@dataclass(frozen=True)
class SpanCurve:
    """Distances of one probe to the gallery at its view as more and more frames are fed.

    `spans[i]` frames from `start` give `distances[i]` (`[len(spans), m]`) to the gallery
    sequences of subjects `sids` (`[m]`); `ranks[i]` is the rank of the probe's own subject
    (None when the subject is not in the gallery).
    """

    start: int
    spans: list[int]
    distances: np.ndarray
    sids: list[str]
    ranks: list[int] | None


class _LRU:
    """A small least-recently-used cache: `get(key, compute)` computes each key once."""

    def __init__(self, size: int):
        self.size, self.data = int(size), OrderedDict()

    def get(self, key, compute: Callable[[], object]):
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        value = compute()
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)
        return value


class SpanExplorer:
    """What notebook 07's figures show, computed once and cached by what each depends on.

    - `frames(w)`, `signal(w)`: per walker `w = Walker(subject, view, condition)`;
    - `window(w, begin, end)`: ONE forward pass of frames `begin ... end - 1`, kept as the
      embedding `[1, c, P]` and the last layer's class-token attention of both branches
      (`{"fine": [p, heads, s], "coarse": [p, heads, s // 3]}`);
    - `attention(w, span, branch)`: read from `window(w, 0, span)`;
    - `gallery(view)`: the gallery's embeddings at one view (every frame fed);
    - `span_curve(w, start)`: the distance-vs-span curve, from cached windows and gallery.

    So a slider move recomputes only what it changes, and going back to a value costs
    nothing. `forward_passes` counts the model calls (the tests read it). `dataset[i]` must
    return `(frames [s, h, w], info)` at the model's input size, `dataset.infos[i]` having
    `.sid/.type/.view` (a `GaitDataset` does).
    """

    def __init__(self, model, dataset, gallery_types: Sequence[str] = ("nm-01",),
                 spans: Sequence[int] = DEFAULT_SPANS, cache_size: int = 512, metric: str = "euclidean"):
        self.model, self.dataset = model, dataset
        self.gallery_types, self.spans, self.metric = tuple(gallery_types), tuple(spans), metric
        self.forward_passes = 0
        self._walkers = _LRU(max(4, cache_size // 8))  # walker -> (frames, signal)
        self._windows = _LRU(cache_size)  # (walker, begin, end) -> embedding + attention
        self._galleries = _LRU(16)  # view -> (embeddings, sids)
        self._curves = _LRU(cache_size)  # (walker, start) -> SpanCurve

    def _walker(self, walker: Walker):
        walker = Walker(*walker)

        def load():
            index = sequence_index(self.dataset.infos, walker.subject, walker.condition, walker.view)
            frames = self.dataset[index][0]  # [s, h, w]
            return frames, stride_signal(frames)

        return self._walkers.get(walker, load)

    def frames(self, walker: Walker) -> torch.Tensor:
        """The walker's frames `[s, h, w]` (every frame, at the model's input size)."""
        return self._walker(walker)[0]

    def num_frames(self, walker: Walker) -> int:
        return int(self.frames(walker).shape[0])

    def signal(self, walker: Walker) -> torch.Tensor:
        """`stride_signal` of the walker's frames, `[s]` (feet distance in pixels)."""
        return self._walker(walker)[1]

    def window(self, walker: Walker, begin: int, end: int) -> dict:
        """Embedding and last-layer class-token attention of frames `begin ... end - 1` (one forward pass)."""
        walker, begin, end = Walker(*walker), int(begin), int(end)
        n = self.num_frames(walker)
        if not 0 <= begin < end <= n:
            raise ValueError(f"window: frames [{begin}, {end}) are not inside the sequence of {n} frames")

        def run():
            self.forward_passes += 1
            out = embed_sequence(self.model, self.frames(walker)[begin:end], return_intermediates=True)
            inter = out["intermediates"]
            attention = {branch: class_token_attention(inter[keys[-1]])[0].float().cpu()  # [p, heads, tokens]
                         for branch in ("fine", "coarse") if (keys := attention_keys(inter, branch))}
            return {"embedding": out["embeddings"].float().cpu(), "attention": attention}

        return self._windows.get((walker, begin, end), run)

    def attention(self, walker: Walker, span: int, branch: str = "fine") -> torch.Tensor:
        """Class token -> tokens (frames or units) of the last layer, mean over heads: `[p, tokens]`."""
        span = min(int(span), self.num_frames(walker))
        att = self.window(walker, 0, span)["attention"]
        if branch not in att:
            raise ValueError(f"attention: the model has no {branch!r} branch with a transformer "
                             f"(it has {sorted(att)})")
        return att[branch].mean(1)  # [p, tokens]

    def gallery(self, view: str):
        """`(embeddings [m, c, P], sids [m])` of the gallery sequences at `view`, ordered by subject."""

        def extract():
            idx = gallery_indices(self.dataset.infos, view, types=self.gallery_types)
            g = extract_embeddings(self.model, Subset(self.dataset, idx), progress=False)
            self.forward_passes += len(idx)
            return g["embeddings"].float(), list(g["sids"])

        return self._galleries.get(view, extract)

    def span_curve(self, walker: Walker, start: int = 0) -> SpanCurve:
        """Distance of the walker's frames `start ... start + span - 1` to the gallery, for `spans_from(...)`."""
        walker, start = Walker(*walker), int(start)

        def compute():
            spans = spans_from(self.num_frames(walker), start, self.spans)
            gallery, sids = self.gallery(walker.view)
            rows = [part_distance(self.window(walker, start, start + s)["embedding"], gallery,
                                  metric=self.metric)[0] for s in spans]  # [m] each
            d = torch.stack(rows).numpy()  # [len(spans), m]
            same = np.array([s == walker.subject for s in sids])
            ranks = span_ranks(d, same).tolist() if same.any() else None
            return SpanCurve(start, spans, d, sids, ranks)

        return self._curves.get((walker, start), compute)


# ------------------------------------------------------------------------------------------
# The cue sets (docs/cue-study.md): spans measured in strides, and rank against span.
# ------------------------------------------------------------------------------------------
# Spans fed on a cue set, in strides: from a few frames to three strides (then every frame).
STRIDE_FRACTIONS = (0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def stride_frames(meta: dict) -> float:
    """Frames per stride (two steps) of a SynthGait set: `fps * 120 / cadence`, median over subjects.

    meta: the set's `meta.json` (`gaitgs_lib.synthgait.load_meta`), with `fps` and every
    subject's `gait.cadence` in steps per minute. The cue sets share one cadence, 112.5
    steps/min, so a stride is 26.7 frames at 25 fps (docs/cue-study.md, "The cues").
    """
    try:
        fps = float(meta["fps"])
        cadences = [float(s["gait"]["cadence"]) for s in meta["subjects"].values()]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"stride_frames: expected a SynthGait meta.json with 'fps' and every subject's "
                         f"gait.cadence, missing {exc}") from exc
    if not cadences or min(cadences) <= 0 or fps <= 0:
        raise ValueError(f"stride_frames: need fps > 0 and positive cadences, got fps={fps}, "
                         f"{len(cadences)} cadences")
    return float(np.median([fps * 120.0 / c for c in cadences]))


def stride_spans(stride: float, fractions: Sequence[float] = STRIDE_FRACTIONS) -> tuple[int, ...]:
    """Spans (frames) of the given fractions of a stride, rounded, at least `MIN_SPAN`, without repeats.

    `stride_spans(26.67) == (3, 7, 13, 20, 27, 40, 53, 80)`: an eighth of a stride to three strides.
    """
    if not stride > 0:
        raise ValueError(f"stride_spans: stride must be a positive number of frames, got {stride!r}")
    return tuple(sorted({max(MIN_SPAN, int(round(f * stride))) for f in fractions if f > 0}))


def cue_set(cue: str, data_root="data", generate: bool = True) -> tuple[Path, Path] | None:
    """`(data folder, checkpoint)` of a cue set and the cue study's full model trained on it, or None.

    The checkpoint is the one the study ships (`gaitgs_lib.study.shipped_checkpoint`: the full
    model's seed 0, `data/checkpoints/cue-study/tiny-full-<cue>.pt`); None while it is not there
    (the study has not finished that cell). The data set is generated (about 20 CPU seconds)
    when missing and `generate`; both paths are under `data_root` as given (keep it relative).
    """
    from gaitgs_lib.study import cue_data, shipped_checkpoint
    from gaitgs_lib.synthgait.cues import CUES

    if cue not in CUES:
        raise ValueError(f"cue_set: unknown cue {cue!r}; choose one of {', '.join(CUES)}")
    checkpoint = shipped_checkpoint(cue, data_root=data_root)
    if not checkpoint.is_file():
        return None
    folder = cue_data(cue, root=data_root) if generate else Path(data_root) / f"synthgait-cue-{cue}"
    return Path(folder), checkpoint


@dataclass(frozen=True)
class SpanRanks:
    """The right subject's rank for several walkers and spans (`span_rank_table`).

    `ranks[i, j]`: walker `i`, span `spans[j]` frames; the last column is every frame of the
    walker from the curve's first frame on (`last_spans[i]` frames). `gallery_size`: subjects in the gallery (chance: rank-1
    `100 / gallery_size` %, mean rank `(gallery_size + 1) / 2` with one sequence per subject).
    """

    spans: list[int]
    ranks: np.ndarray      # [walkers, len(spans) + 1]
    last_spans: list[int]  # [walkers] frames fed in the last column
    gallery_size: int

    def rank1(self) -> np.ndarray:
        """% of walkers whose own subject is nearest, per column `[len(spans) + 1]`."""
        return 100.0 * (self.ranks == 1).mean(0)

    def mean_rank(self) -> np.ndarray:
        """Mean rank of the right subject over the walkers, per column `[len(spans) + 1]`."""
        return self.ranks.mean(0)


def span_rank_table(explorer: SpanExplorer, walkers: Sequence[Walker], start: int = 0) -> SpanRanks:
    """`SpanExplorer.span_curve` of every walker, its ranks aligned on the spans all walkers have.

    Each curve feeds `spans_from(num_frames, start, explorer.spans)`: the explorer's spans that
    fit, then every remaining frame. The table keeps the spans that fit every walker, and
    every remaining frame as its last column (a different number of frames per walker).
    """
    if len(walkers) == 0:
        raise ValueError("span_rank_table: no walkers")
    curves = [explorer.span_curve(Walker(*w), start) for w in walkers]
    for w, c in zip(walkers, curves):
        if c.ranks is None:
            raise ValueError(f"span_rank_table: subject {Walker(*w).subject} has no gallery sequence at "
                             f"view {Walker(*w).view}, so it has no rank")
    common = sorted(set.intersection(*(set(c.spans[:-1]) for c in curves)))
    ranks = np.array([[dict(zip(c.spans[:-1], c.ranks[:-1]))[s] for s in common] + [c.ranks[-1]]
                      for c in curves])  # [walkers, len(common) + 1]
    sizes = {len(set(c.sids)) for c in curves}
    return SpanRanks(common, ranks, [c.spans[-1] for c in curves], max(sizes))
