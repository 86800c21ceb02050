"""Memory format (channels-last) of MGFE's 5-D feature maps (a speed detail, not part of the paper).

On a CPU, oneDNN's 3-D convolutions (and above all their backward pass) run faster on
channels-last (NDHWC) tensors than on NCDHW ones (how much: benchmarks/README.md,
"Channels-last and fusing on `tiny`"), so MGFE keeps its maps channels-last there. A channels-last `[n, c, s, h, w]` tensor is, in memory, a plain
contiguous `[n, s, h, w, c]` array: `ndhwc(x)` is that array (a view, no copy), and the
blocks after MGFE (horizontal pooling, PIEG's temporal max) reduce over it directly instead
of first copying the map back to NCDHW. Values and shapes never depend on the layout.
`conv3d` runs every 3-D convolution of the fused model on that layout, and on oneDNN for a
batch of one sequence too.
"""
import torch
import torch.nn.functional as F


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


def ndhwc(x: torch.Tensor) -> torch.Tensor:
    """`[n, c, s, h, w]` -> `[n, s, h, w, c]`: a view (no copy) when `x` is channels-last."""
    return x.permute(0, 2, 3, 4, 1)
