"""Check a dataset split before any work starts: every bad sequence file, listed at once.

Sequences are read lazily during training, so a corrupt `.pkl` would otherwise stop a run
at whatever iteration first draws it. `validate_split(root, "train")` reads every file of
the split once, in full, so that a file cut short anywhere is caught (without the model,
so it costs little next to training; the report says how long it took), and checks what
`GaitDataset` would refuse when it loads the file (a readable pickle of a non-empty uint8
`[T, H, W]` array of OpenGait's frame sizes, and, given a model input size, an exact k x k
downscale to it), plus that every sequence has the frame size most of the split has (64x64
files mixed with 128x128 ones are a mistake even though each would load).

    report = validate_split("data/synthgait-mini", "train")
    report.ok, report.checked, report.problems      # [(path, what is wrong), ...]
    report.raise_if_bad()                           # DataValidationError listing every bad file
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from .dataset import GaitDataset
from .io import read_sequence
from .transforms import check_stored_size, downscale_factor
from .transforms import side_cut as cut_sides

__all__ = ["ValidationReport", "DataValidationError", "validate_files", "validate_split", "validate_dataset"]


class DataValidationError(ValueError):
    """Some sequence files of a split are unusable; the message lists every one."""


@dataclass
class ValidationReport:
    """What `validate_split` / `validate_files` found."""

    where: str  # e.g. "the train split of data/synthgait-mini"
    checked: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, what is wrong)
    frame_sizes: dict[tuple[int, int], int] = field(default_factory=dict)  # (H, W) -> number of sequences
    frames: int = 0  # frames read in all
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line when all is well; otherwise a header line and one line per bad file."""
        if self.ok:
            sizes = ", ".join(f"{h}x{w}" for h, w in self.frame_sizes)
            return (f"{self.checked} sequence files of {self.where} checked in {self.seconds:.1f} s: all readable "
                    f"uint8 [T, H, W] ({self.frames} frames of {sizes})")
        head = (f"{len(self.problems)} of {self.checked} sequence files of {self.where} are unusable; fix or "
                f"remove them (or regenerate the dataset), then run again:")
        return "\n".join([head] + [f"  {path}: {what}" for path, what in self.problems])

    def raise_if_bad(self) -> "ValidationReport":
        if not self.ok:
            raise DataValidationError(self.summary())
        return self


def _problem(path: str, err: Exception) -> str:
    text = str(err)
    return text[len(path) + 2:] if text.startswith(path + ": ") else text  # the path is listed already


def _check_file(path: str, size, cut: bool):
    """The sequence at `path` as GaitDataset loads it -> its stored frame size; ValueError if unusable."""
    seq = read_sequence(path)  # uint8 [T, H, W]
    check_stored_size(seq.shape[1:], path)
    if size is not None:
        hw = tuple(cut_sides(seq[:1]).shape[1:]) if cut else tuple(seq.shape[1:])
        if hw != tuple(size):
            downscale_factor(hw, size, path)
    return tuple(int(v) for v in seq.shape[1:]), int(seq.shape[0])


def validate_files(paths: Iterable, where: str = "the dataset", progress: bool = True, size=None,
                   side_cut: bool = True) -> ValidationReport:
    """Read every sequence file of `paths` once and report each one that is unusable.

    `size`: the model input `(h, w)` the frames must scale down to exactly (after the side
    cut when `side_cut`), as `GaitDataset(size=...)` requires; None checks the files alone.
    """
    from tqdm.auto import tqdm  # imported here: tqdm.auto pulls in the notebook widgets (start-up time)

    paths = [str(p) for p in paths]
    report = ValidationReport(where)
    sizes: dict[str, tuple[int, int]] = {}
    start = time.perf_counter()
    for path in tqdm(paths, desc=f"checking {where}", unit="file", disable=not progress, leave=False):
        try:
            sizes[path], frames = _check_file(path, size, side_cut)
        except (ValueError, OSError) as err:
            report.problems.append((path, _problem(path, err)))
            continue
        report.frames += frames
    report.checked = len(paths)
    report.frame_sizes = dict(Counter(sizes.values()).most_common())
    if len(report.frame_sizes) > 1:  # a stray frame size: name every file that has it
        usual = next(iter(report.frame_sizes))
        report.problems += [(p, f"frames of {hw[0]}x{hw[1]}, but {report.frame_sizes[usual]} of the "
                                f"{len(sizes)} readable sequences have {usual[0]}x{usual[1]}")
                            for p, hw in sizes.items() if hw != usual]
    report.problems.sort()
    report.seconds = time.perf_counter() - start
    return report


def validate_split(root, split: str = "train", partition=None, progress: bool = True) -> ValidationReport:
    """Check every sequence file of one split of a dataset in the OpenGait layout.

    `split`/`partition` as for `GaitDataset` ("train", "test" or "all"; the partition
    defaults to `<root>/partition.json`). Returns a `ValidationReport`; call
    `.raise_if_bad()` to turn problems into one `DataValidationError` listing them all.
    """
    dataset = GaitDataset(root, partition=partition, split=split, cache=False)
    return validate_dataset(dataset, progress=progress)


def validate_dataset(dataset, progress: bool = True) -> ValidationReport:
    """`validate_files` over the files of a `GaitDataset` (anything with `.infos[i].path`),
    with its model input size and side cut."""
    where = f"the {getattr(dataset, 'split', '?')} split of {getattr(dataset, 'root', 'the dataset')}"
    return validate_files((info.path for info in dataset.infos), where=where, progress=progress,
                          size=getattr(dataset, "size", None), side_cut=getattr(dataset, "side_cut", True))
