"""Shipped text cites only what a clone contains: the paper, the authors' code, OpenGait, or our own files.

A user's clone has no `../shared` and no design notes, so no README, doc, notebook,
assignment, docstring or comment may send a reader there ("spec §3", "see protocols.md").
Every relative `*.md` / `*.png` path that shipped text mentions must exist in the repository
(relative to the file that mentions it, or to the repository root). Paths given to `--out`
are files a command writes, not references, and are not checked.
"""
import ast
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# (pattern, why it is not allowed)
FORBIDDEN = [
    (re.compile(r"\bspec\b", re.IGNORECASE), "cites the design notes ('spec'), which a clone does not contain"),
    (re.compile(r"\.\./shared"), "points outside the repository (../shared)"),
    (re.compile(r"(?<![\w-])(protocols|synthgait|gaitgs-architecture)\.md"),
     "names a design note, which a clone does not contain: our pages are docs/data-and-evaluation.md, "
     "docs/synthgait-generator.md and docs/architecture.md"),
    (re.compile(r"(?<!docs/)(?<!\]\()(?<![\w/-])(architecture|data-and-evaluation|synthgait-generator)\.md"),
     "names a doc without its folder: write docs/architecture.md, docs/data-and-evaluation.md or "
     "docs/synthgait-generator.md"),
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
    skip = ("/.ipynb_checkpoints/", "/dist/", "/build/")
    return [f for f in files if f.exists() and not any(s in f.as_posix() for s in skip)]


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


def problems(path: Path, text: str, paths_in: str | None = None) -> list[str]:
    """Every forbidden citation in `text` and every missing relative path in `paths_in` (default `text`).

    `path` is the file the text comes from: relative paths are looked up beside it or at the root.
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
            if not ((path.parent / rel).exists() or (REPO / rel).exists()):
                found.append(f"{rel} does not exist in the repository: {line.strip()[:120]}")
    return found


FILES = _shipped_files()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_shipped_text_cites_only_what_the_repository_contains(path):
    found = problems(path, shipped_text(path), shipped_text(path, values=False))
    assert not found, f"{path.relative_to(REPO)}:\n  " + "\n  ".join(found)


def test_the_check_catches_unshipped_citations_and_missing_files(tmp_path):
    page = REPO / "docs" / "page.md"  # a page in docs/, as the check sees it
    bad = ("As spec §3 says; see protocols.md, docs/synthgait.md and ../shared/spec/x.md;\n"
           "the generator is described in synthgait-generator.md;\n"
           "the diagram is img/nowhere.png and [the notes](../shared/notes.md).")
    found = problems(page, bad)
    assert any("'spec'" in f for f in found)
    assert any("'protocols.md'" in f and "design note" in f for f in found)
    assert any("'synthgait.md'" in f and "design note" in f for f in found)
    assert any("'synthgait-generator.md'" in f and "without its folder" in f for f in found)
    assert any("../shared" in f for f in found)
    assert any("img/nowhere.png does not exist" in f for f in found)
    good = ("GaitGS ([arXiv 2305.19700](https://arxiv.org/abs/2305.19700), its section on MSFE),\n"
            "docs/architecture.md §6, docs/data-and-evaluation.md, docs/synthgait-generator.md,\n"
            "the diagram [img](img/architecture.png), data/README.md,\n"
            "inspect the specific suspect, `--out docs/img/new.png`, https://github.com/ShiqiYu/OpenGait/README.md")
    assert problems(page, good) == []


def test_python_text_reads_strings_and_comments_not_names(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Doc (spec §1)."""\nspec = 1  # see protocols.md\nx = "../shared"\nout = "docs/x.png"\n')
    text = _python_text(module)
    assert "spec §1" in text and "protocols.md" in text and "../shared" in text
    assert "spec = 1" not in text
    assert "docs/x.png" in text and "docs/x.png" not in _python_text(module, values=False)
