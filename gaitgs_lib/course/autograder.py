"""What an autograder zip installs where courses grade: `otter grade` (Docker) and Gradescope.

`otter assign` writes a zip whose `environment.yml` installs otter-grader only, so every
hidden test that imports torch or `gaitgs_lib` would fail there. `package_autograder`
rewrites the zip so that the grading image has what the tests import:

- `environment.yml` (what otter's `setup.sh` installs with mamba): the Python version the
  checks ran with, and in its pip section otter-grader plus `requirements.txt`'s lines;
- `requirements.txt`: torch pinned to the version the checks ran with, from PyTorch's CPU
  index (no CUDA libraries to download; grading needs no GPU), our package, and its
  dependencies (numpy, einops, ...);
- `requirements.d/gaitgs_lib-VERSION-py3-none-any.whl`: our package as a wheel, when it is
  not installed from a requirement the instructor names. `otter grade`'s Dockerfile copies
  `requirements.*` into `/autograder/source/` before it runs `setup.sh` (a folder's files land
  there directly) while Gradescope unpacks the whole zip there, so the requirements look for
  the wheel in both places (`--find-links .` and `--find-links requirements.d`, which pip
  resolves relative to the requirements file's folder);
- `setup.sh`: otter's own script, plus one last line that imports torch and `gaitgs_lib` in
  the grading environment, so a broken install fails the image build instead of every
  submission.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
DISTRIBUTION = "gaitgs-lib"
WHEEL_DIR = "requirements.d"  # matched by `requirements.*` in otter grade's Dockerfile
OTTER_ENV = "otter-env"  # the conda environment otter's setup.sh creates and run_autograder activates
SETUP_CHECK_MARK = "# gaitgs: check the grading environment"


def _installed_torch() -> str:
    import torch  # on use: start-up time of the command

    return torch.__version__.split("+")[0]


def _package_dependencies() -> list[str]:
    """The core (non-extra) dependencies of the installed distribution, torch left out (pinned apart)."""
    from importlib import metadata

    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    deps = [r.split(";")[0].strip() for r in requires if "extra ==" not in r]
    return [d for d in deps if not re.match(r"^torch\b", d)]


@dataclass(frozen=True)
class AutograderEnvironment:
    """What the grading machine installs for the hidden tests.

    package: a wheel file of `gaitgs-lib` (copied into the zip) or a pip requirement the
    instructor names (e.g. `gaitgs-lib @ git+https://HOST/you/gaitgs@v0.1.0`).
    torch: the torch version pinned (default: the one this process runs).
    torch_index: the extra index torch comes from (PyTorch's CPU builds); None for PyPI only.
    """

    package: str
    torch: str = ""
    torch_index: str | None = PYTORCH_CPU_INDEX
    python_version: str = f"{sys.version_info.major}.{sys.version_info.minor}"

    @property
    def wheel(self) -> Path | None:
        return Path(self.package) if self.package.endswith(".whl") else None

    def requirements(self) -> list[str]:
        """The lines of the zip's `requirements.txt` (pip options first)."""
        lines = [f"--extra-index-url {self.torch_index}"] if self.torch_index else []
        lines.append(f"torch=={self.torch or _installed_torch()}")
        if self.wheel is not None:
            version = self.wheel.name.split("-")[1]
            lines += ["--find-links .", f"--find-links {WHEEL_DIR}", f"{DISTRIBUTION}=={version}"]
        else:
            lines.append(self.package)
        return lines + _package_dependencies()


def build_wheel(source: str | os.PathLike, into: str | os.PathLike) -> Path:
    """Build the wheel of the `gaitgs-lib` source tree at `source` into `into`.

    Offline (no build isolation: the running setuptools builds it) and from a clean copy of
    the package, so nothing is written into the source tree and no stale `build/` output can
    slip into the wheel.
    """
    source, into = Path(source), Path(into)
    if not (source / "pyproject.toml").is_file():
        raise FileNotFoundError(f"{source} has no pyproject.toml: pass --package with a wheel or a pip requirement")
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=into) as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(source / "gaitgs_lib", copy / "gaitgs_lib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(source / name, copy / name)
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--quiet", "--wheel-dir", tmp, str(copy)], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("gaitgs_lib-*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            raise RuntimeError(f"building the wheel of {source} failed: {proc.stderr.strip()[-500:]}")
        final = into / wheels[0].name
        os.replace(wheels[0], final)
    return final


def source_tree() -> Path | None:
    """The source checkout the imported `gaitgs_lib` comes from, or None for an installed copy."""
    import gaitgs_lib

    root = Path(gaitgs_lib.__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and f'name = "{DISTRIBUTION}"' in pyproject.read_text():
        return root
    return None


def _environment_yml(text: str, env: AutograderEnvironment) -> str:
    import yaml  # otter-grader's dependency, like everything in this subpackage

    spec = yaml.safe_load(text)
    deps = spec["dependencies"]
    deps[:] = [f"python={env.python_version}" if isinstance(d, str) and d.startswith("python=") else d
               for d in deps]
    (pip,) = [d for d in deps if isinstance(d, dict) and "pip" in d]
    otter = [r for r in pip["pip"] if r.startswith("otter-grader")]
    pip["pip"] = otter + env.requirements()
    return yaml.safe_dump(spec, sort_keys=False)


def _setup_sh(text: str) -> str:
    check = ("import torch, gaitgs_lib; "
             "print('grading with torch', torch.__version__, 'and gaitgs_lib', gaitgs_lib.__version__)")
    return (text.rstrip("\n") + f"\n\n{SETUP_CHECK_MARK}: fail the image build, not every submission\n"
            f'mamba run -n {OTTER_ENV} python -c "{check}"\n')


def package_autograder(autograder_zip: str | os.PathLike, env: AutograderEnvironment) -> Path:
    """Rewrite an `otter assign` zip in place so it installs `env` (see the module docstring)."""
    path = Path(autograder_zip)
    with zipfile.ZipFile(path) as z:
        entries = {info.filename: z.read(info) for info in z.infolist()}
    entries["environment.yml"] = _environment_yml(entries["environment.yml"].decode(), env).encode()
    entries["setup.sh"] = _setup_sh(entries["setup.sh"].decode()).encode()
    entries["requirements.txt"] = ("\n".join(env.requirements()) + "\n").encode()
    if env.wheel is not None:
        if not env.wheel.is_file():
            raise FileNotFoundError(f"{env.wheel}: no such wheel (--package)")
        entries[f"{WHEEL_DIR}/{env.wheel.name}"] = env.wheel.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    from gaitgs_lib.fileio import atomic_open  # imports torch: on use, so the command's --help starts fast

    with atomic_open(path, "wb") as f:
        f.write(buffer.getvalue())
    return path
