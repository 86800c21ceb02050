"""Read and write the authors' OpenGait checkpoint layout (docs/architecture.md, "The authors' checkpoint layout").

OpenGait saves `{'model': state_dict, 'optimizer', 'scheduler', 'iteration'}` with the
authors' module names (`mgfe.STEM_S0.plain.conv3d_1.conv3d.weight`, one Conv1d pair per
part in `MCMs_S.conv1d3x1.{part}...`, ...). Our model keeps the same numbers under its own
names (and grouped MCM convolutions); this module maps between the two, exactly.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..config import MODEL_PRESETS, GaitGSConfig, get_config
from ..fileio import is_gaitgs_checkpoint, read_checkpoint, read_torch_file, write_checkpoint
from .gaitgs import GaitGS
from .reference import ReferenceGaitGS

__all__ = ["load_opengait", "to_opengait_state_dict", "from_opengait_state_dict", "save_opengait",
           "to_opengait_optimizer_state", "authors_parameter_order", "infer_config_fields",
           "CheckpointMismatchError", "load_trained_model"]

_STEMS = {"stem_f0": "STEM_S0", "stem_f1a": "STEM_S1.0", "stem_f1b": "STEM_S1.1",
          "stem_c0": "STEM_C0", "stem_c1a": "STEM_C1.0", "stem_c1b": "STEM_C1.1"}
_B3DS = {"global_b3d": "plain", "local_b3d": "shortcut"}
_KERNELS = {"conv3x3x3": "conv3d_1", "conv1x3x3": "conv3d_2", "conv3x1x1": "conv3d_3"}
_BRANCH = {"msfe_f": ("MCMs_S", "catm_f", "fc"), "msfe_c": ("MCMs_C", "catm_c", "fc_L")}
_MTBS = {"mtb1": "conv1d3x1", "mtb2": "conv1d3x3"}
_MTB_CONVS = {"conv_a": "0", "conv_b": "2"}


class CheckpointMismatchError(ValueError):
    """The checkpoint does not fit the model (missing / unexpected keys or shapes)."""


def _authors_name(key: str) -> str | None:
    """Our key -> the authors' key for every tensor that is not split per part (None for MCM weights)."""
    parts = key.split(".")
    if parts[0] == "mgfe":
        if parts[1] == "input_conv":
            return {"conv1": "mgfe.conv3d.0.conv3d.weight", "conv2": "mgfe.conv3d.2.conv3d.weight"}[parts[2]]
        if parts[1].startswith("uta"):
            return f"mgfe.UTA{parts[1][3:]}.conv3d.weight"
        if parts[1] in _STEMS:
            return f"mgfe.{_STEMS[parts[1]]}.{_B3DS[parts[2]]}.{_KERNELS[parts[3]]}.conv3d.weight"
    if parts[0] == "pieg":
        return {"gem.p": "PIEG.P", "v_view": "PIEG.V_view", "view_cls.weight": "PIEG.view_cls.weight"}[".".join(parts[1:])]
    if parts[0] in _BRANCH:
        mcm, catm, fc = _BRANCH[parts[0]]
        rest = ".".join(parts[2:])
        if parts[1] == "mcm":
            return None
        if parts[1] == "fc_local":
            return f"{fc}.fc_bin"
        if parts[1] == "gcm":
            if rest == "cls_token":
                return f"{catm}.cls_token"
            if rest == "cape.conv.weight":
                return f"{catm}.CAPE.conv1d.conv.weight"
            if rest == "fc.fc_bin":
                return f"{catm}.L_Transformer.separate_mlp.fc_bin"
            if rest.startswith("transformer.layers."):
                return f"{catm}.L_Transformer.attn.layers." + rest[len("transformer.layers."):]
    raise KeyError(f"no OpenGait name known for parameter {key!r}")


def _mcm_names(key: str, parts: int) -> list[str]:
    """Our grouped MCM conv key -> the p per-part authors' keys (in part order)."""
    branch, _, mtb, conv, _ = key.split(".")  # msfe_f.mcm.mtb1.conv_a.weight
    mcm = _BRANCH[branch][0]
    return [f"{mcm}.{_MTBS[mtb]}.{i}.{_MTB_CONVS[conv]}.conv.weight" for i in range(parts)]


def to_opengait_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Our GaitGS -> a state dict under the authors' key names (MCM weights split per part)."""
    parts = model.cfg.parts
    out = {}
    for key, value in model.state_dict().items():
        name = _authors_name(key)
        if name is None:
            for i, (name_i, chunk) in enumerate(zip(_mcm_names(key, parts), value.chunk(parts, dim=0))):
                out[name_i] = chunk.detach().clone()
        else:
            out[name] = value.detach().clone()
    return out


def _strip_module_prefix(sd: dict) -> dict:
    if sd and all(k.startswith("module.") for k in sd):
        return {k[len("module."):]: v for k, v in sd.items()}
    return sd


def _short_list(keys, limit: int = 5) -> str:
    keys = sorted(keys)
    head = ", ".join(keys[:limit])
    return f"{len(keys)} key(s): {head}" + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def infer_config_fields(sd: dict) -> dict:
    """Best-effort GaitGSConfig fields read off the tensor shapes of an authors' state dict."""
    sd = _strip_module_prefix(sd)
    fields = {}
    try:
        c0 = sd["mgfe.conv3d.0.conv3d.weight"].shape[0]
        c1 = sd["mgfe.STEM_S0.plain.conv3d_1.conv3d.weight"].shape[0]
        c2 = sd["mgfe.STEM_S1.1.plain.conv3d_1.conv3d.weight"].shape[0]
        fields["channels"] = (int(c0), int(c1), int(c2))
    except KeyError:
        pass
    if "PIEG.V_view" in sd:
        fields["views"] = int(sd["PIEG.V_view"].shape[0])
    if "fc.fc_bin" in sd:
        fields["parts"], _, fields["embed_dim"] = (int(v) for v in sd["fc.fc_bin"].shape)
    layers = {k.split(".")[4] for k in sd if k.startswith("catm_f.L_Transformer.attn.layers.")}
    if layers:
        fields["depth"] = len(layers)
    if "catm_f.L_Transformer.attn.layers.0.linear1.weight" in sd:
        fields["ff_dim"] = int(sd["catm_f.L_Transformer.attn.layers.0.linear1.weight"].shape[0])
    if "catm_f.CAPE.conv1d.conv.weight" in sd:
        fields["cape_kernel"] = int(sd["catm_f.CAPE.conv1d.conv.weight"].shape[-1])
    return fields


def _suggest_preset(sd: dict) -> str:
    fields = infer_config_fields(sd)
    if not fields:
        return ""
    matches = [name for name, cfg in MODEL_PRESETS.items()
               if all(getattr(cfg, k) == v for k, v in fields.items())]
    shown = ", ".join(f"{k}={v}" for k, v in fields.items())
    if matches:
        return f" The checkpoint's shapes ({shown}) match preset(s): {', '.join(matches)}."
    return f" The checkpoint's shapes say: {shown} (no preset matches; build a GaitGSConfig with these)."


def from_opengait_state_dict(model: nn.Module, sd: dict, strict: bool = True) -> dict[str, torch.Tensor]:
    """An authors' state dict -> a state dict under OUR key names for `model` (checked)."""
    sd = _strip_module_prefix(dict(sd))
    parts = model.cfg.parts
    own = model.state_dict()
    out, used, missing, shape_errors = {}, set(), [], []
    for key, target in own.items():
        name = _authors_name(key)
        names = [name] if name is not None else _mcm_names(key, parts)
        absent = [n for n in names if n not in sd]
        if absent:
            missing.extend(absent)
            continue
        value = sd[names[0]] if name is not None else torch.cat([sd[n] for n in names], dim=0)
        used.update(names)
        if tuple(value.shape) != tuple(target.shape):
            shown = names[0] if name is not None else f"{names[0]} (x{parts} parts)"
            shape_errors.append(f"{shown}: checkpoint {tuple(value.shape)} vs model {tuple(target.shape)}")
            continue
        out[key] = value
    unexpected = [k for k in sd if k not in used]
    problems = []
    if shape_errors:
        problems.append(f"shape mismatch for {len(shape_errors)} tensor(s): " + "; ".join(shape_errors[:5])
                        + (f" and {len(shape_errors) - 5} more" if len(shape_errors) > 5 else ""))
    if missing and strict:
        problems.append("missing " + _short_list(missing))
    if unexpected and strict:
        problems.append("unexpected " + _short_list(unexpected))
    if problems:
        raise CheckpointMismatchError(
            f"OpenGait checkpoint does not fit GaitGS config {model.cfg.name!r}: " + " | ".join(problems)
            + "." + _suggest_preset(sd)
        )
    return out


def _read_source(source) -> dict:
    if isinstance(source, (str, os.PathLike)):
        source = read_torch_file(source, "OpenGait checkpoint")
    if not isinstance(source, dict):
        raise TypeError(f"expected a checkpoint path, a {{'model': state_dict}} dict or a state dict, got {type(source).__name__}")
    if "model" in source and isinstance(source["model"], dict):
        source = source["model"]
    elif "state_dict" in source and isinstance(source["state_dict"], dict):
        source = source["state_dict"]
    return source


def load_opengait(model: nn.Module, source, strict: bool = True) -> nn.Module:
    """Load an authors' (OpenGait-layout) checkpoint into our GaitGS; returns the model.

    `source`: a path, a full `{'model': sd, ...}` checkpoint, or a bare state dict, with or
    without a DDP `module.` prefix. With `strict=False`, missing and unexpected keys are
    ignored (shape mismatches still raise).
    """
    sd = from_opengait_state_dict(model, _read_source(source), strict=strict)
    model.load_state_dict(sd, strict=strict)
    return model


def authors_parameter_order(cfg: GaitGSConfig) -> list[str]:
    """The authors' parameter names in the order their network registers them.

    That order is the order of OpenGait's optimizer state (OpenGait builds its optimizer
    over `model.parameters()` of the authors' network, one parameter group). It is read off
    `ReferenceGaitGS` (modeling/reference.py), whose modules follow the authors' names and
    registration order, built on the 'meta' device (no memory, no initialisation cost).
    """
    with torch.device("meta"):
        reference = ReferenceGaitGS(cfg)
    return [name for name, _ in reference.named_parameters()]


def to_opengait_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Our optimizer's state dict -> the one OpenGait's optimizer over the authors' network holds.

    The optimizer must hold every parameter of `model` in one parameter group (as our
    trainer's Adam does). Per parameter, tensor state of the parameter's shape (Adam's
    `exp_avg`, `exp_avg_sq`; SGD's momentum) is element-wise, so the state of our grouped
    MCM convolutions is split into the authors' per-part tensors exactly as the weights are
    (`to_opengait_state_dict`); scalar state (`step`) is copied to each part. Indices follow
    `authors_parameter_order` (380 tensors for the `paper` preset).
    """
    if len(optimizer.param_groups) != 1:
        raise ValueError(f"save_opengait: OpenGait's optimizer has one parameter group; this optimizer has "
                         f"{len(optimizer.param_groups)}")
    names = {id(p): name for name, p in model.named_parameters()}
    params = optimizer.param_groups[0]["params"]
    held = {names.get(id(p)) for p in params}
    if None in held or held != set(names.values()):
        raise ValueError("save_opengait: the optimizer must hold exactly the model's parameters "
                         f"({len(names)}); it holds {len(params)} tensors")
    saved = optimizer.state_dict()
    parts = model.cfg.parts
    state_by_name = {}
    for index, param in enumerate(params):  # state_dict() numbers the group's params 0..N-1
        state = saved["state"].get(index)
        if not state:
            continue
        name = names[id(param)]
        authors = _authors_name(name)
        if authors is not None:
            state_by_name[authors] = {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}
            continue
        for i, authors_i in enumerate(_mcm_names(name, parts)):
            state_by_name[authors_i] = {
                k: (v.chunk(parts, dim=0)[i].clone() if torch.is_tensor(v) and v.shape == param.shape
                    else v.clone() if torch.is_tensor(v) else v)
                for k, v in state.items()}
    present = set(to_opengait_state_dict(model))
    order = [name for name in authors_parameter_order(model.cfg) if name in present]
    group = {k: v for k, v in saved["param_groups"][0].items() if k != "params"}
    group["params"] = list(range(len(order)))
    return {"state": {i: state_by_name[name] for i, name in enumerate(order) if name in state_by_name},
            "param_groups": [group]}


def save_opengait(model: nn.Module, path, iteration: int = 0, optimizer=None, scheduler=None) -> Path:
    """Write a checkpoint in the authors' OpenGait layout, atomically (docs/architecture.md, "The authors' checkpoint layout").

    The file holds `model` (the authors' key names) and `iteration`. With `optimizer`, it
    also holds `optimizer`: the state OpenGait's optimizer over the authors' network holds
    (`to_opengait_optimizer_state`), so OpenGait resumes training from the file with its
    moments intact; with `scheduler`, `scheduler` (its state dict: a MultiStepLR's does not
    depend on the parameter layout). Entries without a value are left out, never None:
    OpenGait restores weights from such a file, logs "Restore NO Optimizer" and starts a
    fresh optimizer (as its `optimizer_reset` / `scheduler_reset` options do), whereas a
    None entry would make its resume fail.
    """
    checkpoint = {"model": to_opengait_state_dict(model), "iteration": int(iteration)}
    if optimizer is not None:
        checkpoint["optimizer"] = to_opengait_optimizer_state(model, optimizer)
    if scheduler is not None:
        checkpoint["scheduler"] = scheduler.state_dict()
    return write_checkpoint(checkpoint, path)


def _looks_like_opengait(ckpt) -> bool:
    if isinstance(ckpt.get("model"), dict) or isinstance(ckpt.get("state_dict"), dict):
        return True
    return any(str(k).split(".")[0] in {"mgfe", "module", "PIEG", "MCMs_S", "catm_f", "fc"} for k in ckpt)


def load_trained_model(path, device=None, preset: str | None = None, fmt: str = "auto"):
    """A checkpoint -> (GaitGS in eval mode, checkpoint dict).

    Our checkpoints carry their config (`fmt="gaitgs"`); the authors' OpenGait files
    (`fmt="opengait"`) need `preset`. With `fmt="auto"` a checkpoint with a "config" entry
    is ours. A `preset` that differs from the one a checkpoint was trained with is an error,
    and so is our checkpoint read as an OpenGait one. Every error is a one-line ValueError
    (FileNotFoundError for a missing file) that names the file and says what to do.
    """
    path = Path(path)
    ckpt = read_checkpoint(path)
    if fmt == "auto":
        if not is_gaitgs_checkpoint(ckpt) and not _looks_like_opengait(ckpt):
            raise ValueError(f"{path} is neither a gaitgs checkpoint (no 'config' and 'model') nor an "
                             f"OpenGait one (no 'model' state dict); keys found: {sorted(map(str, ckpt))[:6]}")
        fmt = "gaitgs" if is_gaitgs_checkpoint(ckpt) else "opengait"
    if fmt == "gaitgs":
        if not is_gaitgs_checkpoint(ckpt):
            raise ValueError(f"{path} is not a gaitgs training checkpoint (no 'config'/'model'); "
                             f"for the authors' files use --format opengait --preset NAME")
        try:
            cfg = GaitGSConfig(**ckpt["config"])
        except TypeError as err:  # a field this version does not know
            raise ValueError(f"{path}: its config does not fit this version of gaitgs_lib ({err})") from None
        if preset is not None and preset != cfg.name:
            raise ValueError(f"{path} was trained with preset {cfg.name!r} (input {cfg.input_hw[0]}x"
                             f"{cfg.input_hw[1]}, parts {cfg.parts}) but preset {preset!r} was asked; "
                             f"drop --preset (our checkpoints carry their config)")
        model = GaitGS(cfg)
        try:
            model.load_state_dict(ckpt["model"])
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            raise ValueError(f"{path}: weights do not fit its own config {cfg.name!r} "
                             f"({' '.join(first[1:2] or first[:1]).strip()[:200]})") from err
    elif fmt == "opengait":
        if is_gaitgs_checkpoint(ckpt):
            raise ValueError(f"{path} is a gaitgs checkpoint (it carries its config, preset "
                             f"{ckpt.get('preset', ckpt['config'].get('name'))!r}), not an OpenGait one: "
                             f"drop --format opengait (and --preset)")
        if preset is None:
            raise ValueError(f"{path}: an OpenGait checkpoint carries no config; pass --preset NAME")
        model = load_opengait(GaitGS(get_config(preset)), ckpt)
    else:
        raise ValueError(f"unknown checkpoint format {fmt!r}; expected auto, gaitgs or opengait")
    if device is not None:
        model = model.to(device)
    return model.eval(), ckpt
