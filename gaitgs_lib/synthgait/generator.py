"""SynthGait dataset generation: presets, the on-disk layout, determinism, atomic output.

docs/synthgait-generator.md ("Structure", "Performance") and docs/data-and-evaluation.md ("Preprocessing into the
OpenGait layout"). Output: `<out>/<sid>/<type>/<view>/<view>.pkl` (uint8 [T, 64, 64]),
`<out>/partition.json`, `<out>/meta.json`; optionally CASIA-B-style raw PNGs in the sibling
folder `<out>-raw/<sid>/<type>/<view>/<sid>-<type>-<view>-<frame:03d>.png` (320x240).
Everything is written into temporary sibling folders that are renamed into place at the
end, so a crash never leaves a half-written dataset. One run at a time writes a given
folder: `generate` holds an OS lock on `<parent>/.<name>.lock` (released when the run ends,
also when it is killed), and a second run refuses (or, from `ensure_synthgait`, waits).
Ctrl-C stops the worker processes at once and removes the temporaries.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..data.io import write_sequence
from ..fileio import atomic_open, exclusive_lock
from .preprocess import preprocess_walk
from .render import FIELD_H, FIELD_W
from .cues import CUE_VERSION, CUES, cue_subjects
from .sequence import FPS, TYPES, VIEWS, make_subject, render_walk, rng_for

# 1.1: pinhole camera; 1.2: coats; 1.3: padded coats, more hoods (docs/synthgait-generator.md, "Versions")
GENERATOR_VERSION = "1.3"
TRAIN_FRACTION = 74 / 124          # CASIA-B's 074 / 050 split


@dataclass(frozen=True)
class SynthPreset:
    """How big a SynthGait dataset is (docs/synthgait-generator.md, "Structure")."""

    name: str
    n_subjects: int
    cycles: tuple                  # gait cycles per sequence, uniform range
    frame_range: tuple             # clip of the raw sequence length (frames)
    twin_pairs_train: int
    twin_pairs_test: int
    types: tuple = tuple(TYPES)
    views: tuple = tuple(VIEWS)

    @property
    def n_train(self) -> int:
        return int(round(self.n_subjects * TRAIN_FRACTION))


SYNTHGAIT_PRESETS = {
    # CASIA-B's size: 124 subjects x 10 types x 11 views, 60-110 frames at 25 fps
    "b": SynthPreset("b", 124, cycles=(2.5, 4.0), frame_range=(60, 110), twin_pairs_train=6, twin_pairs_test=5),
    # the notebooks' quick dataset: 30 subjects (18 / 12), 1.3-1.8 cycles (~35-50 frames) per sequence
    "mini": SynthPreset("mini", 30, cycles=(1.3, 1.8), frame_range=(30, 52), twin_pairs_train=2, twin_pairs_test=2),
    # the cue data sets (synthgait.cues, `--cue`): 40 subjects (24 / 16), NM only, three near-side
    # views, ~4 strides per sequence so that stride-to-stride structure is seen (docs/synthgait-generator.md)
    "cue": SynthPreset("cue", 40, cycles=(3.6, 4.4), frame_range=(90, 125), twin_pairs_train=0, twin_pairs_test=0,
                       types=tuple(TYPES[:6]), views=("072", "090", "108")),
    # for tests: 4 subjects (2 / 2, one twin pair among the test subjects), ~half a cycle
    "test": SynthPreset("test", 4, cycles=(0.4, 0.5), frame_range=(8, 16), twin_pairs_train=0, twin_pairs_test=1),
}


def subject_ids(n: int) -> list[str]:
    return [f"{i:03d}" for i in range(1, n + 1)]


def twin_pairs(preset: SynthPreset, seed: int, n_subjects: int | None = None) -> list[list[str]]:
    """Twin pairs [[a, b], ...] (b borrows a's body): adjacent ids drawn from the train and test ranges."""
    n = n_subjects or preset.n_subjects
    n_train = int(round(n * TRAIN_FRACTION))
    rng = rng_for(seed, 0, 99)
    pairs = []
    for lo, hi, k in ((0, n_train, preset.twin_pairs_train), (n_train, n, preset.twin_pairs_test)):
        starts = np.arange(lo, hi - 1, 2)
        k = min(k, len(starts))
        for s in sorted(rng.choice(starts, size=k, replace=False)) if k else []:
            pairs.append([f"{s + 1:03d}", f"{s + 2:03d}"])
    return pairs


def _subjects(preset: SynthPreset, seed: int, n: int, cue: str | None = None, strength: float = 1.0):
    """[(Subject, events or None)] of a data set: the realistic subjects, or those of a cue set."""
    if cue is not None:
        return cue_subjects(cue, seed, n, strength)
    twin_of = {b: a for a, b in twin_pairs(preset, seed, n)}
    return [(make_subject(seed, sid, twin_of.get(sid)), None) for sid in subject_ids(n)]


def _generate_subject(job) -> dict:
    """Worker: render, preprocess and write every sequence of one subject -> frame statistics."""
    preset, seed, (subject, events), out, raw_out = job
    from PIL import Image

    stats = {}
    for type_ in preset.types:
        for view in preset.views:
            r = render_walk(subject, type_, view, seed, cycles=preset.cycles, frame_range=preset.frame_range,
                            events=events)
            seq = preprocess_walk(r.frames)
            if seq.shape[0] == 0:
                raise RuntimeError(f"SynthGait: {subject.sid}/{type_}/{view} lost every frame in preprocessing")
            write_sequence(Path(out) / subject.sid / type_ / view / f"{view}.pkl", seq)
            stats[f"{type_}/{view}"] = [int(r.frames.shape[0]), int(seq.shape[0])]
            if raw_out is not None:
                folder = Path(raw_out) / subject.sid / type_ / view
                folder.mkdir(parents=True, exist_ok=True)
                for i, frame in enumerate(field_frames(r)):
                    Image.fromarray(frame).save(folder / f"{subject.sid}-{type_}-{view}-{i + 1:03d}.png")
    return {"sid": subject.sid, "frames": stats}


def field_frames(r) -> np.ndarray:
    """Paste a rendered walk's person window into CASIA-B's 320x240 field -> uint8 [T, 240, 320]."""
    T, h, w = r.frames.shape
    out = np.zeros((T, FIELD_H, FIELD_W), np.uint8)
    for t in range(T):
        x0, y0 = (int(v) for v in r.origin[t])
        fx0, fy0 = max(x0, 0), max(y0, 0)
        fx1, fy1 = min(x0 + w, FIELD_W), min(y0 + h, FIELD_H)
        if fx1 > fx0 and fy1 > fy0:
            out[t, fy0:fy1, fx0:fx1] = r.frames[t, fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    return out


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete `<folder>.tmp-<pid>*` left by a generator process that was killed (SIGKILL/SIGTERM)."""
    for tmp in folder.parent.glob(folder.name + ".tmp-*"):
        pid = tmp.name[len(folder.name) + 5:].split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)                       # still running: leave it alone
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except PermissionError:
            pass


def _identity(preset: str, seed: int, n: int, cue: str | None = None, strength: float = 1.0) -> dict:
    ident = {"generator": "synthgait", "version": GENERATOR_VERSION, "preset": preset, "seed": int(seed),
             "n_subjects": int(n)}
    if cue is not None:                                # realistic data sets keep the keys they always had
        ident.update(cue=cue, cue_version=CUE_VERSION, cue_strength=float(strength))
    return ident


def _read_meta(out: Path) -> dict | None:
    try:
        return json.loads((out / "meta.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_json(path: Path, obj) -> None:
    with atomic_open(path, "w") as f:
        f.write(json.dumps(obj, indent=1, sort_keys=True) + "\n")


class OutputBusyError(OSError):
    """Another process is generating into the same folder (it holds the folder's lock)."""


def _exclusive(out: Path, wait: bool = False):
    """Hold the OS lock on `<parent>/.<name>.lock` while generating into `out` (`fileio.exclusive_lock`).

    Without `wait` a held lock raises OutputBusyError; with it, the run says whom it waits for.
    """
    lock = out.parent / f".{out.name}.lock"

    def busy(holder: str) -> None:
        if not wait:
            raise OutputBusyError(f"generate: {out} is being written by another synth run (process {holder}, "
                                  f"lock {lock}); wait for it to finish, or choose another --out")
        print(f"waiting for process {holder}, which is generating {out} ...", flush=True)

    return exclusive_lock(lock, busy)


def _check_arguments(preset: str, seed, subjects, cue=None, strength=1.0) -> int:
    """The number of subjects, after checking preset, seed, subjects and cue (ValueError naming the argument)."""
    if preset not in SYNTHGAIT_PRESETS:
        raise ValueError(f"generate: unknown preset {preset!r}; choose one of {sorted(SYNTHGAIT_PRESETS)}")
    if cue is not None and cue not in CUES:
        raise ValueError(f"generate: unknown cue {cue!r} (--cue); choose one of {', '.join(CUES)}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not strength > 0:
        raise ValueError(f"generate: the cue strength (--cue-strength) must be a number > 0, got {strength!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"generate: the seed (--seed) must be an integer >= 0, got {seed!r}")
    n = SYNTHGAIT_PRESETS[preset].n_subjects if subjects is None else subjects
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"generate: the number of subjects (--subjects) must be at least 2 (one train and "
                         f"one test subject), got {subjects!r}")
    return int(n)


def _check_target(out: Path, raw_png: bool) -> None:
    """Refuse an output that is the working folder (or above it), a file, or not writable."""
    where, here = out.resolve(), Path.cwd().resolve()
    if where == here or where in here.parents or out.name in ("", ".", ".."):
        raise ValueError(f"generate: --out {out} is the current folder or a folder above it; give the "
                         f"dataset a folder of its own, e.g. data/synthgait-mini")
    raw_dir = out.with_name(out.name + "-raw")
    for folder in (out, raw_dir) if raw_png else (out,):
        if folder.is_file():
            raise NotADirectoryError(f"generate: {folder} is a file; --out must name a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = out.parent / f".{out.name}.probe-{os.getpid()}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise PermissionError(f"generate: cannot write into {out.parent} ({exc.strerror}); "
                              f"choose an --out in a folder you can write to") from exc


def _check_replaceable(out: Path, raw_dir: Path, raw_png: bool, meta: dict | None, ident: dict,
                       overwrite: bool) -> None:
    """Refuse to replace anything but a SynthGait dataset (and its raw PNGs), and those only with overwrite."""
    for folder in (out, raw_dir) if raw_png else (out,):
        if not folder.is_dir() or not any(folder.iterdir()):
            continue
        ours = meta is not None and (folder == out or meta.get("raw_png") == raw_dir.name)
        if not ours:
            example = sorted(p.name for p in folder.iterdir())[0]
            raise FileExistsError(f"generate: {folder} holds files that are not a SynthGait dataset (e.g. {example}); "
                                  f"choose a new --out (synth replaces only a SynthGait dataset, with --overwrite)")
        if not overwrite:
            what = (f"a different SynthGait dataset ({ {k: meta.get(k) for k in ident} })" if folder == out
                    else "the raw PNGs of another SynthGait run")
            raise FileExistsError(f"generate: {folder} already holds {what}; pass overwrite=True "
                                  f"(CLI: --overwrite) to replace it, or choose another --out")


def _ignore_sigint() -> None:
    """Pool worker initializer: Ctrl-C reaches the parent alone, which then stops the pool.

    A worker interrupted inside the pool's queue code can leave a lock held and hang the
    pool's shutdown; workers that ignore SIGINT are only ever stopped by `_stop_pool`.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop_pool(pool, timeout: float = 5.0) -> None:
    """Terminate a pool's workers, waiting at most `timeout` seconds before killing them outright."""
    workers = list(getattr(pool, "_pool", []))          # the worker processes (CPython's attribute)
    stopper = threading.Thread(target=pool.terminate, daemon=True)
    stopper.start()
    stopper.join(timeout)
    for p in workers:
        if p.is_alive():
            p.kill()


def _render_all(jobs: list, workers: int, bar) -> dict:
    """Run `_generate_subject` on every job (in `workers` processes when > 1) -> {sid: frame stats}."""
    stats = {}
    if workers > 1 and len(jobs) > 1:
        pool = mp.get_context().Pool(workers, initializer=_ignore_sigint)
        try:
            for res in pool.imap_unordered(_generate_subject, jobs):
                stats[res["sid"]] = res["frames"]
                bar.update()
            pool.close()
            pool.join()
        except BaseException:                            # Ctrl-C, or a worker's error
            _stop_pool(pool)
            raise
    else:
        for job in jobs:
            res = _generate_subject(job)
            stats[res["sid"]] = res["frames"]
            bar.update()
    return stats


def _dataset_meta(ident: dict, spec: SynthPreset, seed: int, n: int, subs, stats: dict, raw_dir: Path,
                  raw_png: bool) -> dict:
    raw_lengths = [v[0] for s in stats.values() for v in s.values()]
    kept_lengths = [v[1] for s in stats.values() for v in s.values()]
    meta = dict(ident)
    meta.update({
        "fps": FPS, "types": list(spec.types), "views": list(spec.views),
        "frame_size": [64, 64], "cycles_per_sequence": list(spec.cycles),
        "raw_field": [FIELD_H, FIELD_W], "raw_png": str(raw_dir.name) if raw_png else None,
        "n_sequences": len(kept_lengths), "frames_raw_total": int(sum(raw_lengths)),
        "frames_kept_total": int(sum(kept_lengths)),
        "frames_kept_range": [int(min(kept_lengths)), int(max(kept_lengths))],
        "twins": twin_pairs(spec, seed, n) if ident.get("cue") is None else [],
        "subjects": {s.sid: s.traits() for s, _ in subs},
    })
    if ident.get("cue") is not None:
        meta["cue_events"] = {s.sid: asdict(e) for s, e in subs if e is not None}
    return meta


def _move_into_place(pairs, tag: str) -> None:
    """Rename each finished temporary folder onto its destination (the old one moved aside, then deleted)."""
    for src, dst in pairs:
        if src is None:
            continue
        if dst.exists():
            old = dst.with_name(dst.name + tag + "-old")
            os.replace(dst, old)
            os.replace(src, dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(src, dst)


def generate(preset: str = "mini", out: str | os.PathLike = "data/synthgait-mini", seed: int = 0,
             overwrite: bool = False, raw_png: bool = False, subjects: int | None = None,
             progress: bool = True, workers: int | None = None, wait: bool = False,
             cue: str | None = None, cue_strength: float = 1.0) -> Path:
    """Generate a SynthGait dataset (docs/synthgait-generator.md) in the OpenGait layout; returns its folder.

    preset: "mini" (30 subjects), "b" (124, CASIA-B's size), "cue" (40, the cue sets' size) or
    "test" (4, for unit tests); cue: None for realistic subjects, or one of `cues.CUES`: identity
    carried by that one temporal cue (docs/synthgait-generator.md, "Cue data sets"), scaled by
    `cue_strength`;
    seed: an integer >= 0; subjects: a different number of subjects, >= 2 (split 74:50 like
    CASIA-B); raw_png: also write CASIA-B-style raw PNGs into `<out>-raw/` (for `pretreat`);
    workers: processes (default: up to 2, one per CPU; results do not depend on it);
    wait: when another process is generating into `out`, wait for it instead of refusing.
    Returns at once when `out` already holds this preset/seed/version/size. Replaces only a
    SynthGait dataset, and only with `overwrite=True`; refuses any other folder's content.
    """
    n = _check_arguments(preset, seed, subjects, cue, cue_strength)
    spec = SYNTHGAIT_PRESETS[preset]
    if cue is not None:                                # cue sets are NM walks only: no bag or coat hides the cue
        spec = replace(spec, types=tuple(t for t in spec.types if t.startswith("nm")))
    out = Path(out)
    _check_target(out, raw_png)
    raw_dir = out.with_name(out.name + "-raw")
    with _exclusive(out, wait=wait):
        ident = _identity(preset, seed, n, cue, cue_strength)
        meta = _read_meta(out) if out.is_dir() else None
        meta = meta if meta is not None and meta.get("generator") == "synthgait" else None
        complete = meta is not None and all(meta.get(k) == v for k, v in ident.items())
        if complete and not overwrite and (not raw_png or raw_dir.is_dir()):
            print(f"SynthGait {preset} (seed {seed}, {n} subjects, v{GENERATOR_VERSION}) already complete at {out}")
            return out
        if not complete or overwrite:
            _check_replaceable(out, raw_dir, raw_png, meta, ident, overwrite)
        for folder in (out, raw_dir):
            _remove_stale_temporaries(folder)
        tag = f".tmp-{os.getpid()}"
        tmp = out.with_name(out.name + tag)
        tmp_raw = raw_dir.with_name(raw_dir.name + tag) if raw_png else None
        t0 = time.time()
        try:
            for folder in (tmp, tmp_raw):
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
                    folder.mkdir()
            subs = _subjects(spec, seed, n, cue, cue_strength)
            jobs = [(spec, seed, s, str(tmp), str(tmp_raw) if tmp_raw else None) for s in subs]
            from tqdm.auto import tqdm

            bar = tqdm(total=len(jobs), desc=f"SynthGait {preset}", unit="subject", disable=not progress)
            stats = _render_all(jobs, workers or min(2, os.cpu_count() or 1), bar)
            bar.close()
            sids = subject_ids(n)
            n_train = int(round(n * TRAIN_FRACTION))
            _write_json(tmp / "partition.json", {"TRAIN_SET": sids[:n_train], "TEST_SET": sids[n_train:]})
            meta = _dataset_meta(ident, spec, seed, n, subs, stats, raw_dir, raw_png)
            _write_json(tmp / "meta.json", meta)          # written last: its presence marks completeness
            _move_into_place(((tmp, out), (tmp_raw, raw_dir)), tag)
        finally:
            for folder in (tmp, tmp_raw):
                if folder is not None and folder.exists():
                    shutil.rmtree(folder, ignore_errors=True)
    print(f"SynthGait {preset}: {n} subjects, {meta['n_sequences']} sequences, {meta['frames_kept_total']} frames "
          f"in {time.time() - t0:.1f} s -> {out}" + (f" (+ raw PNGs in {raw_dir})" if raw_png else ""))
    return out


def cue_folder_name(cue: str, preset: str = "cue") -> str:
    """`synthgait-cue-<cue>` (the study's size), or `synthgait-<preset>-cue-<cue>` for another preset."""
    return f"synthgait-cue-{cue}" if preset == "cue" else f"synthgait-{preset}-cue-{cue}"


def ensure_synthgait(preset: str = "mini", root: str | os.PathLike = "data", seed: int = 0,
                     progress: bool = True, cue: str | None = None, cue_strength: float = 1.0) -> Path:
    """The folder `<root>/synthgait-<preset>` (with a cue: `cue_folder_name`), generated first when missing.

    A SynthGait dataset of the same preset and seed made by an older generator (or cue)
    version, or with another cue strength, is replaced; anything else in the folder makes it
    refuse (see `generate`). When another process is generating the same folder, waits for
    it (notebooks started together).
    """
    out = Path(root) / (f"synthgait-{preset}" if cue is None else cue_folder_name(cue, preset))
    meta = _read_meta(out)
    kwargs = dict(seed=seed, progress=progress, wait=True, cue=cue, cue_strength=cue_strength)
    if meta is not None and meta.get("preset") == preset and meta.get("seed") == seed and meta.get("cue") == cue:
        same_cue = cue is None or (meta.get("cue_version") == CUE_VERSION
                                   and meta.get("cue_strength") == float(cue_strength))
        if meta.get("version") == GENERATOR_VERSION and same_cue:
            return out
        print(f"{out} was made by SynthGait {meta.get('version')} (cue {meta.get('cue_version')}, strength "
              f"{meta.get('cue_strength')}); regenerating with {GENERATOR_VERSION}")
        return generate(preset, out, overwrite=True, **kwargs)
    return generate(preset, out, **kwargs)


def load_meta(root: str | os.PathLike) -> dict:
    """meta.json of a SynthGait dataset (traits, twins, generator version)."""
    meta = _read_meta(Path(root))
    if meta is None:
        raise FileNotFoundError(f"{Path(root) / 'meta.json'}: not a SynthGait dataset (no meta.json)")
    return meta
