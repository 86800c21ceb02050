"""Shipped text cites only what a clone contains: the paper, the authors' code, OpenGait, or our own files.

A user's clone holds the repository and nothing beside it: no design notes, no style guide,
no issue tracker. So no README, doc, notebook, assignment, library module, test, script or
benchmark may send a reader there (a note's section, a style guide's habit, a tracker's
issue number): it says the thing in words, or cites the paper, docs/ or a test.
Every relative `*.md` / `*.png` path that shipped text mentions must exist in the repository
(relative to the file that mentions it, or to the repository root). Paths given to `--out`,
and files a module's own code names (the files it writes), are not references and are not
checked. This file assembles the words it forbids from pieces, so that it passes its own check.
"""
import ast
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The forbidden words, in pieces (see the module docstring).
_SPEC = "sp" + "ec"
_SHARED = ".." + "/shared"
_NOTE = "proto" + "cols"
_STYLE = "STY" + "LE"
_ISSUE = "is" + "sue"

# (pattern, why it is not allowed)
FORBIDDEN = [
    (re.compile(rf"\b{_SPEC}\b", re.IGNORECASE), f"cites the design notes ('{_SPEC}'), which a clone does not contain"),
    (re.compile(re.escape(_SHARED)), f"points outside the repository ({_SHARED})"),
    (re.compile(r"(?<![\w-])(protocols|synthgait|gaitgs" + r"-architecture)\.md"),  # in pieces: no note named here
     "names a design note, which a clone does not contain: our pages are docs/data-and-evaluation.md, "
     "docs/synthgait-generator.md and docs/architecture.md"),
    (re.compile(r"(?<!docs/)(?<!\]\()(?<![\w/-])(architecture|data-and-evaluation|synthgait-generator)\.md"),
     "names a doc without its folder: write docs/architecture.md, docs/data-and-evaluation.md or "
     "docs/synthgait-generator.md"),
    (re.compile(rf"\b{_STYLE}(\.md|\s+habits?\b)"),
     "cites a style guide the repository does not contain: say the habit in words, or cite docs/"),
    (re.compile(rf"\b{_ISSUE}[- ]#?\d+", re.IGNORECASE),
     "cites a tracker a clone does not contain: say what went wrong and what holds now, or cite docs/ or a test"),
]
URL = re.compile(r"https?://\S+")
PATH = re.compile(r"(?<![\w/.:-])((?:\.\.?/)*[\w.-]+(?:/[\w.-]+)*\.(?:md|png))(?![\w/])")
OUTPUT_FLAG = re.compile(r"--out[ =]\s*$")


def _shipped_files() -> list[Path]:
    files = [REPO / "README.md", REPO / "data" / "README.md", REPO / "benchmarks" / "README.md"]
    files += sorted((REPO / "docs").rglob("*.md"))
    files += sorted((REPO / "notebooks").glob("*.ipynb"))
    files += sorted((REPO / "assignments").rglob("*.ipynb")) + sorted((REPO / "assignments").rglob("*.md"))
    files += sorted((REPO / "gaitgs_lib").rglob("*.py"))
    for folder in ("tests", "scripts", "benchmarks"):
        files += sorted((REPO / folder).rglob("*.py"))
    files += sorted((REPO / "tests").rglob("*.md"))
    skip = ("/.ipynb_checkpoints/", "/dist/", "/build/")
    return [f for f in files if f.exists() and not any(s in f.as_posix() for s in skip)]


def _code_strings(tree: ast.AST) -> set[str]:
    """The string constants of a module's code (not its docstrings): file names it writes or reads."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings}


def _python_text(path: Path, values: bool = True) -> str:
    """What a reader of a module reads: its comments and docstrings, and with `values` its other strings.

    Other string literals are mostly messages and values (an output file's default name), so
    they are checked for forbidden citations but not for paths that must exist.
    """
    source = path.read_text()
    parts = [tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
             if tok.type == tokenize.COMMENT]
    tree = ast.parse(source)
    docstrings = [ast.get_docstring(node, clean=False) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    parts += [d for d in docstrings if d]
    if values:
        parts += [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    return "\n".join(parts)


def shipped_text(path: Path, values: bool = True) -> str:
    """The text of a shipped file a reader sees: notebook cell sources, module docstrings and comments."""
    if path.suffix == ".ipynb":
        return "\n".join("".join(cell.get("source", [])) for cell in json.loads(path.read_text())["cells"])
    if path.suffix == ".py":
        return _python_text(path, values)
    return path.read_text()


def problems(path: Path, text: str, paths_in: str | None = None, written: frozenset[str] = frozenset()) -> list[str]:
    """Every forbidden citation in `text` and every missing relative path in `paths_in` (default `text`).

    `path` is the file the text comes from: relative paths are looked up beside it or at the root.
    `written`: names the file's own code uses (the files it writes), which need not exist.
    """
    found = []
    for line in text.splitlines():
        plain = URL.sub(" ", line)
        for pattern, why in FORBIDDEN:
            for m in pattern.finditer(plain):
                found.append(f"{m.group(0)!r} {why}: {line.strip()[:120]}")
    for line in (text if paths_in is None else paths_in).splitlines():
        plain = URL.sub(" ", line)
        for m in PATH.finditer(plain):
            if OUTPUT_FLAG.search(plain[:m.start()]):
                continue
            rel = m.group(1)
            if rel in written:
                continue
            if not ((path.parent / rel).exists() or (REPO / rel).exists()):
                found.append(f"{rel} does not exist in the repository: {line.strip()[:120]}")
    return found


FILES = _shipped_files()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_shipped_text_cites_only_what_the_repository_contains(path):
    written = frozenset(_code_strings(ast.parse(path.read_text()))) if path.suffix == ".py" else frozenset()
    found = problems(path, shipped_text(path), shipped_text(path, values=False), written)
    assert not found, f"{path.relative_to(REPO)}:\n  " + "\n  ".join(found)


def test_the_check_catches_unshipped_citations_and_missing_files(tmp_path):
    page = REPO / "docs" / "page.md"  # a page in docs/, as the check sees it
    note, bare = "synthgait" + ".md", "synthgait-generator" + ".md"
    bad = (f"As {_SPEC} §3 says; see {_NOTE}.md, docs/{note} and {_SHARED}/{_SPEC}/x.md;\n"
           f"the generator is described in {bare};\n"
           f"the diagram is img/nowhere.png and [the notes]({_SHARED}/notes.md).\n"
           f"{_STYLE}.md habits 1 and 6; {_STYLE} habit 9;\n"
           f"fixed in {_ISSUE} 10, see {_ISSUE}-12 and {_ISSUE.title()} #11.")
    found = problems(page, bad)
    assert any(f"'{_SPEC}'" in f for f in found)
    assert any(f"'{_NOTE}.md'" in f and "design note" in f for f in found)
    assert any(f"'{note}'" in f and "design note" in f for f in found)
    assert any(f"'{bare}'" in f and "without its folder" in f for f in found)
    assert any(_SHARED in f for f in found)
    assert any("img/nowhere.png does not exist" in f for f in found)
    assert sum("style guide" in f for f in found) == 2
    assert sum("tracker" in f for f in found) == 3
    good = ("GaitGS ([arXiv 2305.19700](https://arxiv.org/abs/2305.19700), its section on MSFE),\n"
            "docs/architecture.md §6, docs/data-and-evaluation.md, docs/synthgait-generator.md,\n"
            "the diagram [img](img/architecture.png), data/README.md,\n"
            "inspect the specific suspect, `--out docs/img/new.png`, https://github.com/ShiqiYu/OpenGait/README.md,\n"
            "an issue with the data, tissue 3, the plot's style, https://github.com/ShiqiYu/OpenGait/issues/12")
    assert problems(page, good) == []
    assert problems(page, "the script writes report.md", written=frozenset({"report.md"})) == []
    assert problems(page, "the script writes report.md") != []


def test_python_text_reads_strings_and_comments_not_names(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(f'"""Doc ({_SPEC} §1)."""\n{_SPEC} = 1  # see {_NOTE}.md\nx = "{_SHARED}"\nout = "docs/x.png"\n')
    text = _python_text(module)
    assert f"{_SPEC} §1" in text and f"{_NOTE}.md" in text and _SHARED in text
    assert f"{_SPEC} = 1" not in text
    assert "docs/x.png" in text and "docs/x.png" not in _python_text(module, values=False)
    assert _code_strings(ast.parse(module.read_text())) == {_SHARED, "docs/x.png"}
