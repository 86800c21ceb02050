"""The import graph of gaitgs_lib: every module imports, and no two modules import each other
(directly or around a loop), counting imports hidden inside functions too: the layer rule of
docs/design.md ("Layers: who may import whom")."""
import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gaitgs_lib"


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def imported_modules(name: str, path: Path) -> set[str]:
    """Every gaitgs_lib module `name` imports (absolute or relative, anywhere in the file),
    plus the packages whose __init__ such an import runs first (those not above `name`)."""
    package = name if _is_package(name) else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names if a.name.split(".")[0] == "gaitgs_lib"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "gaitgs_lib":
                module = node.module
            else:
                continue
            if not name.startswith(module + "."):  # `from . import speed` inside the package: already running
                targets.add(module)
            targets |= {f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES}
    edges = set()
    for target in targets:
        if target not in MODULES:
            continue
        edges.add(target)
        parts = target.split(".")
        for i in range(2, len(parts)):  # parent packages run their __init__ first (gaitgs_lib's is lazy)
            parent = ".".join(parts[:i])
            if not (name == parent or name.startswith(parent + ".")):
                edges.add(parent)
    edges.discard(name)
    return edges


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve_to_modules():
    edges = imported_modules("gaitgs_lib.training.run", MODULES["gaitgs_lib.training.run"])
    assert {"gaitgs_lib.training.checkpoints", "gaitgs_lib.data.dataset", "gaitgs_lib.data", "gaitgs_lib.losses",
            "gaitgs_lib.modeling.gaitgs", "gaitgs_lib.modeling"} <= edges
    assert "gaitgs_lib.training" not in edges  # its own package


def test_no_import_cycle_in_gaitgs_lib():
    graph = {name: imported_modules(name, path) for name, path in MODULES.items()}
    cycles = find_cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_nothing_in_the_library_imports_from_tests_benchmarks_or_scripts():
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] in {"tests", "benchmarks", "scripts", "conftest"} for n in names), name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports(name):
    importlib.import_module(name)


# Who may import whom (docs/design.md, "Layers"): a part of the library imports only parts of
# lower layers (and itself). Upward doors are what made training and evaluation import each
# other before; this keeps them shut.
LAYERS = [
    {"gaitgs_lib", "config", "fileio", "runtime", "distance"},  # foundations (the root package is lazy)
    {"data", "modeling", "losses", "baselines"},  # data on disk, the network, the loss
    {"synthgait", "training", "evaluation"},  # programs built on them
    {"study"},  # experiments built on those programs (the cue study)
    {"viz", "explore", "notebook", "course"},  # what the notebooks and the instructor use
    {"__main__"},  # the command dispatcher
]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_every_part_has_a_layer():
    parts = {_part(name) for name in MODULES}
    assert parts == set().union(*LAYERS), "give every new part of gaitgs_lib a layer (here and in docs/design.md)"


def test_imports_only_go_down_the_layers():
    layer = {part: i for i, parts in enumerate(LAYERS) for part in parts}
    upward = sorted(
        f"{name} -> {target}"
        for name, path in MODULES.items()
        for target in imported_modules(name, path)
        if _part(target) != _part(name) and layer[_part(target)] >= layer[_part(name)]
    )
    assert not upward, "imports that do not go down a layer: " + "; ".join(upward)


# Functions longer than a screen, each with the reason it stays whole (docs/design.md).
LONG_FUNCTIONS = {
    "gaitgs_lib/synthgait/motion.py::pose": "poses the skeleton limb by limb in one pass, in the order of "
                                            "docs/synthgait-generator.md's angle table; split, the shared "
                                            "rotations would travel between helpers",
}


def test_no_function_is_longer_than_80_lines_without_a_stated_reason():
    long = {}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 80:
                long[f"{path.relative_to(PACKAGE.parent).as_posix()}::{node.name}"] = node.end_lineno - node.lineno + 1
    assert set(long) <= set(LONG_FUNCTIONS), f"functions over 80 lines without a reason: {long}"


def test_internal_aten_operators_appear_only_in_the_speed_seam():
    """The block files hold the paper's computation; kernel choices (internal aten operators) live in modeling/speed.py."""
    seam = PACKAGE / "modeling" / "speed.py"
    users = sorted(str(path.relative_to(PACKAGE.parent)) for path in PACKAGE.rglob("*.py")
                   if path != seam and "torch.ops.aten" in path.read_text())
    assert not users, f"torch.ops.aten outside modeling/speed.py: {users}"
    assert "torch.ops.aten" in seam.read_text()
