"""Draw docs/img/architecture.png, the whole-network diagram of docs/architecture.md.

    python docs/img/architecture.py                 # the paper preset, 30 frames (about 15 s on a CPU)
    python docs/img/architecture.py --preset tiny --out /tmp/tiny.png

The shapes in the boxes come from a forward pass of the model (`gaitgs_lib.viz.model.show_architecture`),
so rerun this after any change to the network.
"""
import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script: no display needed

from gaitgs_lib.config import MODEL_PRESETS  # noqa: E402
from gaitgs_lib.fileio import atomic_open  # noqa: E402
from gaitgs_lib.viz.model import show_architecture  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper", help=f"model preset, one of {sorted(MODEL_PRESETS)}")
    parser.add_argument("--frames", type=int, default=30, help="frames of the walk fed to the model")
    parser.add_argument("--out", default=str(Path(__file__).with_name("architecture.png")))
    args = parser.parse_args(argv)
    if args.preset not in MODEL_PRESETS:
        print(f"architecture.py: unknown --preset {args.preset!r}; choose one of {sorted(MODEL_PRESETS)}",
              file=sys.stderr)
        return 2
    fig = show_architecture(args.preset, frames=args.frames)
    with atomic_open(args.out, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
