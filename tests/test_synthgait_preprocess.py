"""synthgait/preprocess.py: SynthGait 1.x's numpy preprocessing, frozen so that its datasets stay byte-identical."""
import hashlib
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gaitgs_lib.data.pretreat import preprocess_sequence
from gaitgs_lib.synthgait import GENERATOR_VERSION, SYNTHGAIT_PRESETS, TYPES, VIEWS, generate, make_subject, render_walk
from gaitgs_lib.synthgait.preprocess import _cubic_taps, _tap_sum, preprocess_walk

# sha256 over (relative path, bytes) of every .pkl of generate("test", seed=0, subjects=2), per
# generator version: a version's datasets never change. Record a new version's digest when
# GENERATOR_VERSION changes (the failure message prints it).
DATASET_DIGESTS = {
    "1.1": "45ed937244178ea06d61b17d42c99c512aa63736180135b01ecf107164e174ea",
    "1.2": "7ba8255b343ea21a1ef0d4099eed6bd205de9ae47ae74009bdcbc6b062cfe0e9",
    "1.3": "ca5744476758945efcbc8403f18ec6ec3ba87e122260299aca193e72896b88e8",
}


def _numpy_resize(img, out_h, out_w):
    """The generator's resize on one image, unrounded: rows, then columns."""
    iy, wy = _cubic_taps(img.shape[0], out_h, np.arange(out_h))
    rows = _tap_sum(wy, img, iy)                                         # [out_h, W]
    ix, wx = _cubic_taps(img.shape[1], out_w, np.arange(out_w))
    return _tap_sum(wx, np.ascontiguousarray(rows.T), ix).T              # [out_h, out_w]


def test_numpy_kernel_is_bicubic_as_torch_computes_it():
    rng = np.random.default_rng(0)
    for (H, W, oh, ow) in [(90, 70, 64, 49), (40, 30, 64, 48), (200, 150, 64, 37), (7, 9, 64, 100)]:
        img = ((rng.random((H, W)) > 0.5) * 255).astype(np.uint8)
        ref = F.interpolate(torch.tensor(img, dtype=torch.float64)[None, None], size=(oh, ow),
                            mode="bicubic", align_corners=False)[0, 0].numpy()
        np.testing.assert_allclose(_numpy_resize(img, oh, ow), ref, atol=1e-3)


def test_walks_within_one_grey_level_of_opengaits_preprocessing():
    spec = SYNTHGAIT_PRESETS["test"]
    frames = identical = 0
    for sid in ("001", "002"):
        subject = make_subject(0, sid)
        for type_ in TYPES[::3]:
            for view in VIEWS[::3]:
                walk = render_walk(subject, type_, view, 0, cycles=spec.cycles, frame_range=spec.frame_range).frames
                ours = preprocess_walk(walk)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    opencv, _ = preprocess_sequence(walk)
                assert ours.shape == opencv.shape and ours.dtype == np.uint8
                diff = np.abs(ours.astype(int) - opencv.astype(int))
                frames += len(ours)
                identical += int((diff.reshape(len(diff), -1).max(1) == 0).sum())
                assert diff.mean() < 0.05
    assert identical / frames > 0.9


def test_drops_like_the_protocol():
    walk = np.zeros((4, 100, 70), np.uint8)
    walk[1, 20:84, 30:50] = 255
    walk[2, 20:84, 0:1] = 255                 # all mass in column 0: dropped, as OpenGait does
    out = preprocess_walk(walk)
    assert out.shape == (1, 64, 64)
    assert np.flatnonzero(out[0].any(axis=0)).tolist() == list(range(22, 42))
    with pytest.raises(ValueError, match=r"uint8 frames \[T, H, W\]"):
        preprocess_walk(walk[0])


@pytest.mark.slow
def test_generator_output_of_this_version_never_changes_and_needs_no_opencv(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)               # `import cv2` fails: OpenCV is optional
    out = generate("test", tmp_path / "sg", seed=0, subjects=2, progress=False, workers=1)
    digest = hashlib.sha256()
    for path in sorted(out.rglob("*.pkl")):
        digest.update(str(path.relative_to(out)).encode())
        digest.update(path.read_bytes())
    assert GENERATOR_VERSION in DATASET_DIGESTS, (
        f"record DATASET_DIGESTS[{GENERATOR_VERSION!r}] = {digest.hexdigest()!r} for the new generator version")
    assert digest.hexdigest() == DATASET_DIGESTS[GENERATOR_VERSION], "SynthGait's bytes changed without a version bump"
