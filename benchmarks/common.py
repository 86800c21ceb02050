"""What the benchmarks print about the machine they ran on (shared by the benchmark scripts)."""
from __future__ import annotations

import os
import platform


def cpu_name() -> str:
    """The CPU's model name and its number of logical cores (from /proc/cpuinfo where there is one)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        if names:
            cpu = f"{names[0]} ({len(names)} logical cores)"
    except OSError:
        pass
    return cpu


def describe(with_gpu: bool = False) -> str:
    """`cpu; [gpu;] torch version; load average` in one line."""
    import torch  # here, so that importing this module stays cheap

    parts = [cpu_name()]
    if with_gpu:
        parts.append(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU")
    parts.append(f"torch {torch.__version__}")
    parts.append(f"load average {os.getloadavg()[0]:.1f}")
    return "; ".join(parts)
