"""A dataset in OpenGait's layout (docs/data-and-evaluation.md, "Preprocessing" and "Partition files").

On disk: `<root>/<sid>/<type>/<view>/<view>.pkl` (uint8 `[T, H, W]`, 0/255) and
`<root>/partition.json` (`{"TRAIN_SET": [...], "TEST_SET": [...]}`, read by
`data.partition.load_partition`). At load time `int(W // 64) * 10` columns are cut from
each side (`data.transforms.side_cut`: 64x64 -> 64x44, 128x128 -> 128x88) and values are
divided by 255, as OpenGait does.
"""
from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from ..fileio import not_a_folder
from .io import read_sequence
from .partition import load_partition, missing_partition_hint, partition_from_mapping
from .transforms import check_stored_size, downscale_factor, side_cut as cut_sides

__all__ = ["GaitDataset", "SequenceInfo", "load_partition"]
log = logging.getLogger(__name__)

SPLITS = ("train", "test", "all")


@dataclass(frozen=True)
class SequenceInfo:
    """Who, in which condition, from which view, and where the sequence is stored."""

    sid: str
    type: str
    view: str
    path: str


class GaitDataset(torch.utils.data.Dataset):
    """Sequences of `<root>/<sid>/<type>/<view>/*.pkl`, one split of a partition (docs/data-and-evaluation.md).

    `ds[i] -> (frames float32 [T, h, w] in [0, 1], SequenceInfo)`. Aligned lists `infos`,
    `sids`, `types`, `views`, `labels`; `subjects` (sorted) and `label_of` (sid -> int);
    `view_names` (sorted) and `view_label_of` (view -> int) for the view classifier.

    partition: a path, a dict (`load_partition`'s or the JSON's form), or None for
        `<root>/partition.json` when present (`split="all"` needs none).
    cache: keep each sequence in memory (uint8, after the side cut) once read. With
        DataLoader workers every worker holds its own cache.
    side_cut: cut `int(W // 64) * 10` columns from each side (`data.transforms.side_cut`).
    subjects: optionally keep only these subject ids (e.g. a quick-mode subset).
    size: optional `(h, w)` model input. Frames are shrunk to it only by an exact k x k
        block average (`F.interpolate(mode="area")`; 64x44 -> 32x22 is k = 2), logged once
        (logger `gaitgs_lib.data.dataset`, level INFO). Any other resize is refused.

    Frame sizes are checked as each file is read: stored frames must be square (what
    `pretreat` writes, 64x64 or 128x128) or already cut to the 64:44 aspect, and with
    `size` an exact multiple of it after the side cut; otherwise a ValueError names the
    file (a `[T, 100, 37]` pickle is an error, never silently resized).
    """

    def __init__(self, root, partition=None, split: str = "train", cache: bool = True,
                 side_cut: bool = True, subjects: Iterable[str] | None = None,
                 size: tuple[int, int] | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            problem = not_a_folder(self.root, "dataset root")
            error = FileNotFoundError if not self.root.exists() else ValueError
            raise error(f"{problem} (expected <root>/<sid>/<type>/<view>/<view>.pkl)")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.split, self.cache, self.side_cut = split, cache, side_cut
        self.size = None if size is None else (int(size[0]), int(size[1]))

        on_disk = _subdirs(self.root)                               # subject folders
        wanted = self._split_subjects(partition, split, on_disk)
        if subjects is not None:
            keep = {str(s) for s in subjects}
            wanted = [s for s in (on_disk if wanted is None else wanted) if s in keep]
        infos = self._index(on_disk if wanted is None else sorted(set(wanted)))
        if not infos:
            if wanted is None:
                raise ValueError(f"no sequences found under {self.root} "
                                 f"(expected <root>/<sid>/<type>/<view>/<view>.pkl)")
            raise ValueError(f"split {split!r} of {self.root} holds no sequence "
                             f"(subjects on disk: {_short(on_disk)})")
        self.infos: list[SequenceInfo] = infos
        self.sids = [i.sid for i in infos]
        self.types = [i.type for i in infos]
        self.views = [i.view for i in infos]
        self.subjects = sorted(set(self.sids))
        self.label_of = {s: n for n, s in enumerate(self.subjects)}
        self.labels = [self.label_of[s] for s in self.sids]
        self.view_names = sorted(set(self.views))
        self.view_label_of = {v: n for n, v in enumerate(self.view_names)}
        self._cache: dict[int, np.ndarray] = {}
        self._logged_resize = False

    # ------------------------------------------------------------------ indexing
    def _index(self, sids) -> list[SequenceInfo]:
        infos = []
        for sid in sids:
            for typ in _subdirs(self.root / sid):
                for view in _subdirs(self.root / sid / typ):
                    folder = self.root / sid / typ / view
                    pkls = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".pkl") and e.is_file())
                    if not pkls:
                        continue
                    if len(pkls) > 1:
                        if f"{view}.pkl" not in pkls:
                            raise ValueError(f"{folder}: several .pkl files {pkls}; expected one sequence "
                                             f"per folder, named {view}.pkl")
                        pkls = [f"{view}.pkl"]
                    infos.append(SequenceInfo(sid, typ, view, str(folder / pkls[0])))
        return infos

    def _split_subjects(self, partition, split, on_disk) -> list[str] | None:
        if partition is None:
            default = self.root / "partition.json"
            if default.is_file():
                partition = default
            elif split == "all":
                return None
            else:
                raise ValueError(f"split {split!r} needs a partition: none given and {default} does not exist; "
                                 f"{missing_partition_hint(self.root)} (split='all' needs none)")
        if isinstance(partition, (str, os.PathLike)):
            partition = load_partition(partition)
        else:
            partition = partition_from_mapping(partition, "partition")
        wanted = partition["train"] + partition["test"] if split == "all" else partition[split]
        present = set(on_disk)
        absent = sorted(set(wanted) - present)
        if absent:
            warnings.warn(f"{len(absent)} subject(s) of the {split!r} partition are not under {self.root}, "
                          f"continuing without them: {_short(absent)}", stacklevel=3)
        return [s for s in wanted if s in present]

    # ------------------------------------------------------------------ loading
    def _frames_uint8(self, index: int) -> np.ndarray:
        if index in self._cache:
            return self._cache[index]
        path = self.infos[index].path
        seq = read_sequence(path)                                 # uint8 [T, H, W]
        check_stored_size(seq.shape[1:], path)
        if self.side_cut:
            seq = np.ascontiguousarray(cut_sides(seq))            # [T, H, W - 2 cut]
        if self.size is not None and tuple(seq.shape[1:]) != self.size:
            k = downscale_factor(seq.shape[1:], self.size, path)
            if not self._logged_resize:
                self._logged_resize = True
                log.info("%s: frames %dx%d are averaged %dx%d to the model input %dx%d",
                         self.root, *seq.shape[1:], k, k, *self.size)
        if self.cache:
            self._cache[index] = seq
        return seq

    def __len__(self) -> int:
        return len(self.infos)

    def __getitem__(self, index: int):
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} sequences")
        index = index % len(self)
        frames = torch.from_numpy(self._frames_uint8(index)).float().div_(255.0)  # [T, h, w]
        if self.size is not None and tuple(frames.shape[1:]) != self.size:
            frames = F.interpolate(frames[:, None], size=self.size, mode="area")[:, 0]  # [T, *size]
        return frames, self.infos[index]

    def __repr__(self) -> str:
        return (f"GaitDataset({str(self.root)!r}, split={self.split!r}: {len(self)} sequences, "
                f"{len(self.subjects)} subjects, {len(set(self.types))} types, {len(self.view_names)} views)")


def _subdirs(path: Path) -> list[str]:
    """Sorted names of the visible sub-folders of `path` ([] if it is not a folder)."""
    if not path.is_dir():
        return []
    return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))


def _short(items, n: int = 10) -> str:
    items = list(items)
    return ", ".join(items[:n]) + (f", ... ({len(items)} in all)" if len(items) > n else "")
