"""Configuration of the GaitGS network as a dataclass with named presets (docs/architecture.md)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["GaitGSConfig", "MODEL_PRESETS", "get_config"]


@dataclass(frozen=True)
class GaitGSConfig:
    """Hyper-parameters of GaitGS (docs/architecture.md, "Paper configuration"; the paper's implementation details) plus the ablation switches.

    `channels` are `(c0, c1, c2)`: stem, first STEM and last STEMs. `parts` is `p`, the
    number of horizontal strips of horizontal pooling. `input_hw` is the silhouette size
    `(h, w)` the network expects.
    """

    channels: tuple[int, int, int] = (32, 64, 128)
    views: int = 11
    parts: int = 32
    depth: int = 3
    heads: int = 8
    ff_dim: int = 256
    dropout: float = 0.2
    cape_kernel: int = 7
    embed_dim: int = 256
    input_hw: tuple[int, int] = (64, 44)
    gem_p_init: float = 6.5
    # Ablation switches (all on = the paper's model).
    use_coarse: bool = True  # coarse (unit-level) branch of MGFE
    use_mcm: bool = True  # local span (MCM) of MSFE
    use_global_span: bool = True  # global span (GCM: CAPE + class token + transformer)
    use_pieg_prior: bool = True  # add PIEG's view prior to the transformer tokens
    name: str = field(default="custom", compare=False)

    def __post_init__(self):
        # Normalise lists (e.g. from JSON / dataclasses.asdict) into tuples.
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "input_hw", tuple(int(v) for v in self.input_hw))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with a clear message when the configuration cannot be built."""
        where = f"GaitGSConfig {self.name!r}"
        if len(self.channels) != 3 or min(self.channels) < 1:
            raise ValueError(f"{where}: channels must be three positive ints (c0, c1, c2), got {self.channels}")
        if len(self.input_hw) != 2 or min(self.input_hw) < 1:
            raise ValueError(f"{where}: input_hw must be (h, w) with positive ints, got {self.input_hw}")
        h, w = self.input_hw
        c0, c1, c2 = self.channels
        if h % 8 != 0:
            raise ValueError(f"{where}: input height {h} must be divisible by 8 (STEM cuts 8 horizontal strips)")
        if (h // 2) % 8 != 0:
            raise ValueError(
                f"{where}: input height {h} must be divisible by 16: the second-stage STEMs run at "
                f"h/2 = {h // 2} rows and cut it into 8 equal strips"
            )
        if w < 2:
            raise ValueError(f"{where}: input width {w} must be at least 2 (one 2x2 max-pool)")
        if self.parts < 1 or (h // 2) % self.parts != 0:
            raise ValueError(
                f"{where}: parts={self.parts} must divide h/2 = {h // 2} "
                f"(horizontal pooling needs whole rows per part; input height {h})"
            )
        if c2 % 4 != 0:
            raise ValueError(f"{where}: c2={c2} must be divisible by 4 (MCM squeezes channels by 4)")
        if self.heads < 1 or c2 % self.heads != 0:
            raise ValueError(f"{where}: c2={c2} must be divisible by heads={self.heads}")
        if self.cape_kernel < 1 or self.cape_kernel % 2 != 1:
            raise ValueError(f"{where}: cape_kernel must be odd and positive, got {self.cape_kernel}")
        if self.depth < 0 or self.views < 1 or self.embed_dim < 1 or self.ff_dim < 1:
            raise ValueError(f"{where}: depth >= 0, views, embed_dim and ff_dim >= 1 required")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{where}: dropout must be in [0, 1), got {self.dropout}")
        if not (self.use_mcm or self.use_global_span):
            raise ValueError(f"{where}: at least one of use_mcm / use_global_span must be on (else no embedding)")

    @property
    def num_branches(self) -> int:
        """1 (fine only) or 2 (fine + coarse)."""
        return 2 if self.use_coarse else 1

    @property
    def out_parts(self) -> int:
        """Number of parts of the output embedding: 2p with the coarse branch, p without."""
        return self.parts * self.num_branches

    def replace(self, **overrides) -> "GaitGSConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        """Plain dict (JSON / checkpoint friendly)."""
        return dataclasses.asdict(self)


MODEL_PRESETS: dict[str, GaitGSConfig] = {
    # The paper's CASIA-B model: 11,844,577 trainable parameters.
    "paper": GaitGSConfig(name="paper"),
    # Same network on 128x88 silhouettes: two feature rows per part, same parameter count.
    "paper-128": GaitGSConfig(input_hw=(128, 88), name="paper-128"),
    # 64x44 teaching model for a CPU (~0.5 M parameters).
    "small": GaitGSConfig(
        channels=(8, 16, 32), parts=16, depth=2, heads=4, ff_dim=128, embed_dim=64, name="small"
    ),
    # `small`'s network on 32x22 silhouettes (~0.5 M parameters): two transformer layers of four
    # heads, 4x tiny's channels; the model shipped for SynthGait-B (data/checkpoints/).
    "small-32": GaitGSConfig(
        channels=(8, 16, 32), parts=16, depth=2, heads=4, ff_dim=128, embed_dim=64, input_hw=(32, 22),
        name="small-32",
    ),
    # 32x22, one feature row per part: trains a useful model on a 2-core CPU in minutes.
    "tiny": GaitGSConfig(
        channels=(4, 8, 16), parts=16, depth=1, heads=2, ff_dim=64, embed_dim=64, dropout=0.1,
        input_hw=(32, 22), name="tiny",
    ),
    # The configuration of the authors' fixture (tests/fixtures/gaitgs-authors-small.pt).
    "authors-small": GaitGSConfig(
        channels=(4, 8, 16), views=11, parts=16, depth=2, heads=2, ff_dim=256, cape_kernel=7,
        embed_dim=32, input_hw=(32, 22), name="authors-small",
    ),
}


def get_config(name: str = "paper", **overrides) -> GaitGSConfig:
    """The preset `name`, with optional field overrides (`get_config("tiny", use_coarse=False)`)."""
    if isinstance(name, GaitGSConfig):
        return name.replace(**overrides) if overrides else name
    if name not in MODEL_PRESETS:
        raise ValueError(f"unknown GaitGS preset {name!r}; presets are: {', '.join(MODEL_PRESETS)}")
    unknown = set(overrides) - {f.name for f in dataclasses.fields(GaitGSConfig)}
    if unknown:
        raise ValueError(f"unknown GaitGSConfig field(s) {sorted(unknown)} for preset {name!r}")
    return MODEL_PRESETS[name].replace(**overrides) if overrides else MODEL_PRESETS[name]
