"""How the blocks run fast: every layout, kernel and memory choice of the model, in one place (not part of the paper).

The block files (`stem.py`, `hp.py`, `pieg.py`, `mgfe.py`, ...) hold the paper's computation
once, in the paper's terms, and call the functions here for the parts where *how* a tensor
is laid out or kept decides the speed or the memory:

- `conv3d`: every 3-D convolution, on channels-last (NDHWC) maps on a CPU, where oneDNN's
  3-D convolutions (and above all their backward pass) run faster than on NCDHW ones; a
  float32 batch of ONE sequence goes to oneDNN directly instead of PyTorch's slower native
  kernel. This and `max_pool3d`'s backward are the only places an internal aten operator is called.
- `rearrange` and `reduce`: einops-style patterns over `[n, c, ...]` maps that keep a
  channels-last map channels-last and reduce it where it lies, instead of copying it back
  to NCDHW first. Values and shapes never depend on the layout.
- `max_pool3d`: max pooling that keeps only where the maxima were for the backward pass,
  not its whole input (MGFE's spatial pooling of STEM outputs, which nothing else keeps).
- `recompute_for_backward`: runs a block on a tensor made from another one (STEM's folded
  strips) without keeping the made tensor for the backward pass; it is made again there.
- `chunk_size` and `in_chunks`: on a CPU a large batch runs a few sequences at a time
  (every sequence goes through MGFE on its own, so the numbers are the same), and the
  chunks' outputs are joined without keeping a second copy of them for the backward pass.

What each choice buys, measured: benchmarks/README.md ("Model speed", "Memory").
That each one computes what the plain computation computes (values and gradients):
tests/test_model_speed.py and tests/test_model_equivalence.py.
"""
from __future__ import annotations

import re

import einops
import torch
import torch.nn.functional as F

# On a CPU, a batch runs a few sequences at a time so that MGFE's largest feature map stays
# below this size (`chunk_size`): the first while autograd records (training), the second
# when it does not (evaluation, where the maps are freed as soon as they are used).
CPU_CHUNK_BYTES = 32 * 2**20
CPU_INFERENCE_CHUNK_BYTES = 8 * 2**20


# --- layout ---------------------------------------------------------------------------

def conv3d_memory_format(x: torch.Tensor) -> torch.Tensor:
    """`x` in the memory layout the device's Conv3d runs fastest on (same values, same shape).

    Channels-last on CPU; elsewhere the tensor is left as it is. A one-channel tensor is
    both layouts at once; it gets a channel stride of 1 (the same memory) so that the
    convolution's OUTPUT is channels-last.
    """
    if x.device.type != "cpu" or x.dim() != 5:
        return x
    if x.shape[1] == 1 and x.is_contiguous():
        n, _, s, h, w = x.stride()
        return x.as_strided(x.shape, (n, 1, s, h, w))
    return x.contiguous(memory_format=torch.channels_last_3d)


def is_channels_last(x: torch.Tensor) -> bool:
    """True when `x` is a 5-D `[n, c, s, h, w]` tensor stored as a contiguous `[n, s, h, w, c]` array."""
    return x.dim() == 5 and x.permute(0, 2, 3, 4, 1).is_contiguous()


def conv3d(x: torch.Tensor, weight: torch.Tensor, stride=1, padding=0) -> torch.Tensor:
    """`F.conv3d(x, weight, stride=stride, padding=padding)` (no bias), run the fastest way the device has.

    `x` is first put in `conv3d_memory_format`. On a CPU, PyTorch sends a batch of ONE
    small float32 input (fewer than 20,480 values in `[n, c, s, h]`, as most convolutions
    of one `tiny` or `small-32` walker are) to its native 3-D convolution instead of
    oneDNN's: much slower per convolution (benchmarks/README.md, "One walker at a time"), and
    rounded differently. A float32 batch of one goes to oneDNN's convolution directly, which
    gives a sequence the same convolution alone as in a batch (`tests/test_model_speed.py`).
    """
    x = conv3d_memory_format(x)
    if (x.shape[0] == 1 and x.device.type == "cpu" and x.dtype == torch.float32
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
            and not torch.is_autocast_enabled("cpu")):  # autocast casts what F.conv3d gets, not this op
        return torch.ops.aten.mkldnn_convolution(x, weight, None, _triple(padding), _triple(stride), (1, 1, 1), 1)
    return F.conv3d(x, weight, stride=stride, padding=padding)


def _triple(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)


def _channels_to_end(side: str, pattern: str) -> str:
    """One side of `pattern` with the channels moved from second to last: 'n c s (k r) w' -> 'n s (k r) w c'."""
    axes = re.findall(r"\([^)]*\)|\S+", side)
    if len(axes) < 2 or axes[1] != "c":
        raise ValueError(f"speed: pattern {pattern!r} must name the channels 'c' as the second axis on both sides")
    return " ".join(axes[:1] + axes[2:] + ["c"])


def _from_end(z: torch.Tensor) -> torch.Tensor:
    """`[n, ..., c]` -> `[n, c, ...]` (a view)."""
    return z.permute(0, z.dim() - 1, *range(1, z.dim() - 1))


def rearrange(x: torch.Tensor, pattern: str, **axes) -> torch.Tensor:
    """`einops.rearrange(x, pattern, **axes)` for a pattern with the channels `c` second on both sides.

    A channels-last `x` is rearranged as the NDHWC array it is, so the result is
    channels-last too (one copy at most, where the plain route would copy twice: into
    NCDHW here, and back to channels-last in the next convolution).
    """
    if not is_channels_last(x):
        return einops.rearrange(x, pattern, **axes)
    ndhwc_pattern = " -> ".join(_channels_to_end(side, pattern) for side in pattern.split("->"))
    return _from_end(einops.rearrange(x.permute(0, 2, 3, 4, 1), ndhwc_pattern, **axes))


def reduce(x: torch.Tensor, pattern: str, *ops: str, **axes) -> torch.Tensor:
    """Reduce the axes that `pattern` drops with each of `ops` ('mean', 'max') and add the results.

    `reduce(x, "n c s (p r) w -> n c s p", "mean", "max", p=16)` is horizontal pooling:
    mean plus max over each of 16 horizontal strips. The dropped axes must be neighbours; they are merged into one where
    they lie (a view, no copy), so that 'max' is `torch.max` over one axis, as in the
    authors' code (einops' own 'max' is `amax`, which splits the gradient between tied
    maxima). A channels-last map is reduced where it lies, and its gradient comes back
    channels-last.
    """
    if not ops or set(ops) - {"mean", "max"}:
        raise ValueError(f"speed.reduce: ops must be 'mean' and/or 'max', got {ops!r}")
    left, right = pattern.split("->")
    channels_last = is_channels_last(x)
    if channels_last:
        x, left = x.permute(0, 2, 3, 4, 1), _channels_to_end(left, pattern)
    names = re.findall(r"\w+", left)
    kept = set(re.findall(r"\w+", right))
    dropped = [i for i, a in enumerate(names) if a not in kept]
    if not dropped or dropped != list(range(dropped[0], dropped[-1] + 1)):
        raise ValueError(f"speed.reduce: pattern {pattern!r} must drop one run of neighbouring axes")
    first, last = dropped[0], dropped[-1]
    grouped = names[:first] + ["(" + " ".join(names[first:last + 1]) + ")"] + names[last + 1:]
    z = einops.rearrange(x, f"{left} -> {' '.join(grouped)}", **axes)  # the dropped axes as one, in place
    out = None
    for op in ops:  # all from one view of x, so that their gradients are added before going back through it
        part = z.mean(first) if op == "mean" else z.max(first).values
        out = part if out is None else out + part
    return _from_end(out) if channels_last else out


# --- memory ----------------------------------------------------------------------------

class _MaxPool3d(torch.autograd.Function):
    """`F.max_pool3d` that keeps only the indices of the maxima for the backward pass, not its input."""

    @staticmethod
    def forward(ctx, x, kernel, stride):
        y, indices = F.max_pool3d(x, kernel, stride, return_indices=True)
        ctx.save_for_backward(indices)
        ctx.kernel, ctx.stride, ctx.shape, ctx.strides = kernel, stride, x.shape, x.stride()
        return y

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        # The backward kernel takes the input for its shape and layout only (it scatters `grad`
        # to `indices`); an uninitialised tensor of that shape and layout is never touched.
        like = torch.empty_strided(ctx.shape, ctx.strides, dtype=grad.dtype, device=grad.device)
        return torch.ops.aten.max_pool3d_with_indices_backward(
            grad, like, ctx.kernel, ctx.stride, [0, 0, 0], [1, 1, 1], False, indices), None, None


def max_pool3d(x: torch.Tensor, kernel: tuple, stride: tuple) -> torch.Tensor:
    """`F.max_pool3d(x, kernel, stride)` (no padding) that keeps only the maxima's indices for the backward pass.

    PyTorch's max pooling keeps its input for the backward pass too, though the gradient
    only needs where each maximum was; MGFE pools STEM outputs that nothing else keeps.
    Values and gradients are exactly `F.max_pool3d`'s. Without autograd it is the plain function.
    """
    if not (torch.is_grad_enabled() and x.requires_grad):
        return F.max_pool3d(x, kernel, stride)
    return _MaxPool3d.apply(x, list(kernel), list(stride))


def _key(t: torch.Tensor) -> tuple:
    return t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride()


class _Remade:
    """A saved tensor that is made again when the backward pass needs it."""

    __slots__ = ("make", "args")

    def __init__(self, make, args):
        self.make, self.args = make, args


def recompute_for_backward(fn, make, *args):
    """`fn(make(*args))`, where the backward pass makes `make(*args)` again instead of keeping it.

    For a cheap `make` whose result is large and only an input of `fn` (STEM's folded
    strips: one copy of the block's input), this saves that copy's memory for a second
    copy in the backward pass. `args` are kept (they are alive anyway: the global branch
    keeps STEM's input). The values and gradients are exactly those of `fn(make(*args))`.
    """
    made = make(*args)
    key = _key(made)

    def pack(t):
        return _Remade(make, args) if _key(t) == key else t

    def unpack(saved):
        return saved.make(*saved.args) if isinstance(saved, _Remade) else saved

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        return fn(made)


def chunk_size(x: torch.Tensor, widest_channels: int) -> int:
    """Sequences per chunk for `x` `[n, 1, s, h, w]`: all of them, except on a CPU when MGFE's widest map would exceed the budget.

    `widest_channels` is the channel count of MGFE's largest map (`[n, c1, s, h, w]`).
    On a CPU, running the batch in chunks is faster (how much: benchmarks/README.md, "Model
    speed"), probably because small maps are recycled by the memory allocator and stay in
    the cache, where every operation on a map of hundreds of MB touches fresh memory pages.
    In training, where fewer than two sequences fit the budget (the `paper` preset's 64x44
    frames), the batch runs whole: chunks of one sequence were no faster there, and the
    memory allocator kept more of their maps resident (benchmarks/README.md, "Memory of a
    training step").
    Without autograd (evaluation) the budget is smaller, `CPU_INFERENCE_CHUNK_BYTES`, which
    evaluates faster (benchmarks/README.md, "Evaluation speed"), and chunks of one sequence
    are allowed.
    """
    n, _, s, h, w = x.shape
    if x.device.type != "cpu":
        return n
    per_sequence = widest_channels * s * h * w * x.element_size()
    if torch.is_grad_enabled():  # training: chunks of one sequence gain no speed and cost memory
        chunk = CPU_CHUNK_BYTES // per_sequence
        return n if chunk < 2 else min(n, chunk)
    return max(1, min(n, CPU_INFERENCE_CHUNK_BYTES // per_sequence))


class _Kept:
    """A saved tensor, held so that it can be swapped for an equal view of the joined output."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        self.tensor = tensor


def in_chunks(fn, x: torch.Tensor, chunk: int) -> tuple:
    """`fn(x)` for an `fn` that treats each sequence on its own and returns a tuple of `[n, ...]` tensors (or None), `chunk` sequences at a time.

    The chunks' outputs are concatenated. Where the backward pass keeps a chunk's output
    (in MGFE, UTA's last convolution keeps the fine map it reads), it keeps the matching rows
    of the concatenated output instead, so the chunks' own copies are freed and the outputs
    are kept once. The caller must not change the outputs in place.
    """
    if chunk >= x.shape[0]:
        return fn(x)
    kept = []

    def pack(t):
        kept.append(_Kept(t))
        return kept[-1]

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda saved: saved.tensor):
        parts = [fn(part) for part in x.split(chunk)]
    joined = tuple(None if part[0] is None else torch.cat(part) for part in zip(*parts))
    rows = {}
    for out, pieces in zip(joined, zip(*parts)):
        start = 0
        for piece in pieces if out is not None else ():
            view = out[start:start + piece.shape[0]]
            if view.stride() == piece.stride():
                rows[_key(piece)] = view
            start += piece.shape[0]
    for saved in kept:
        saved.tensor = rows.get(_key(saved.tensor), saved.tensor)
    return joined
