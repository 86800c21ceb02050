"""Memory layout for the 3-D convolutions of MGFE (a speed detail, not part of the paper)."""
import torch


def conv3d_layout(x: torch.Tensor) -> torch.Tensor:
    """`x` in the memory layout the device's Conv3d runs fastest on (same values, same shape).

    On CPU, oneDNN's 3-D convolutions (and above all their backward pass) run several
    times faster on channels-last (NDHWC) tensors than on NCDHW ones; elsewhere the
    tensor is left as it is.
    """
    if x.device.type == "cpu" and x.dim() == 5:
        return x.contiguous(memory_format=torch.channels_last_3d)
    return x
