"""GEI baseline on hand-made frames: exact means and the protocol applied unchanged."""
import numpy as np
import pytest
import torch

from gaitgs_lib.baselines import gei, gei_embeddings
from gaitgs_lib.evaluation import casia_b_protocol


def test_gei_is_the_frame_mean():
    frames = np.array([[[0, 1], [1, 1]], [[0, 0], [1, 0]]], dtype=np.float32)   # [2, 2, 2]
    np.testing.assert_array_equal(gei(frames), [[0, 0.5], [1, 0.5]])
    t = torch.tensor(frames)
    torch.testing.assert_close(gei(t), torch.tensor([[0, 0.5], [1, 0.5]]))
    with pytest.raises(ValueError, match=r"\[T, h, w\]"):
        gei(np.zeros((0, 4, 4)))


class _Toy:
    """A dataset-like list: subject k's sequences are frames filled with k/10 (plus a view-dependent pixel)."""

    def __init__(self):
        self.items = []
        for sid in ("075", "076"):
            for typ in ("nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "bg-01", "cl-01"):
                for view in ("000", "018"):
                    f = torch.full((3, 4, 2), int(sid) / 100)
                    f[:, 0, 0] += 0.02 * int(view == "018")
                    if typ == "cl-01" and sid == "075":
                        f = torch.full((3, 4, 2), 0.76)                 # looks like subject 076
                    self.items.append((f, sid, typ, view))
        self.sids = [i[1] for i in self.items]
        self.types = [i[2] for i in self.items]
        self.views = [i[3] for i in self.items]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i][0], None


def test_gei_embeddings_feed_the_casia_b_protocol():
    ds = _Toy()
    emb, sids, types, views = gei_embeddings(ds)
    assert emb.shape == (len(ds), 8, 1)
    torch.testing.assert_close(emb[0, :, 0], torch.full((8,), 0.75))
    res = casia_b_protocol(emb, sids, types, views)
    assert res["mean"]["NM"] == 100.0 and res["mean"]["BG"] == 100.0
    assert res["mean"]["CL"] == 50.0            # subject 075's coat makes it match 076
