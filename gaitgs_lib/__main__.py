"""Command line: `python -m gaitgs_lib COMMAND ...` (also installed as `gaitgs`).

Each command lives in the module that implements it, as a `main(argv)` function; this
file only dispatches, so `python -m gaitgs_lib summary` never imports the generator.
"""
import sys
from importlib import import_module

COMMANDS = {
    "summary": ("gaitgs_lib.modeling.summary", "main", "torchinfo summary of a preset"),
    "synth": ("gaitgs_lib.synthgait.cli", "main", "generate a SynthGait dataset"),
    "contact-sheet": ("gaitgs_lib.viz.contact_sheet", "main", "PNG of one subject across views and conditions"),
    "pretreat": ("gaitgs_lib.data.pretreat", "main", "raw CASIA-B-style PNGs -> OpenGait .pkl layout"),
    "train": ("gaitgs_lib.training", "main", "train GaitGS (CPU, one GPU, or torchrun)"),
    "evaluate": ("gaitgs_lib.evaluation", "main", "evaluate a checkpoint with a protocol"),
    "assignments": ("gaitgs_lib.course.cli", "main", "build/check the otter-grader assignments"),
    "cue-study": ("gaitgs_lib.study", "main", "the controlled-cue ablation study (docs/cue-study.md)"),
}


def _usage() -> str:
    lines = ["usage: python -m gaitgs_lib COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<14} {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "`python -m gaitgs_lib COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    try:
        result = getattr(import_module(module), func)(rest)
    except KeyboardInterrupt:  # Ctrl-C while the command starts (imports): the commands handle it later on
        print(f"interrupted: {name} stopped", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
