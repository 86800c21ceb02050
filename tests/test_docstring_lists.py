"""Every bullet or numbered list in a docstring of gaitgs_lib renders as a list in the API reference.

The course site's API reference (`bash run.sh site`) renders docstrings with Python-Markdown
(MkDocs, mkdocstrings). Unlike CommonMark (GitHub), Python-Markdown starts a list only after a
blank line, and it has no option to do otherwise: a list right under a line of text is run into
that paragraph as one line ("Where the work runs: - on a CPU, ... - on an accelerator ..."), and
a line of text right under a list is run into its last item. So a docstring leaves a blank line
before a list and after it. tests/test_site.py checks one such list in the built pages.
"""
import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ITEM = re.compile(r"([-*+]|\d+[.)])\s+\S")  # an item at the docstring's left margin


def list_problems(doc: str) -> list[str]:
    """Lines of `doc` where a list starts right under text, or text starts right under a list."""
    problems, in_list, after_text = [], False, False
    for line in doc.splitlines():
        if not line.strip():
            in_list = after_text = False
        elif ITEM.match(line):
            if after_text and not in_list:
                problems.append(f"no blank line before the list at {line.strip()[:50]!r}")
            in_list, after_text = True, True
        elif in_list and not line.startswith(" "):  # an item's own continuation lines are indented
            problems.append(f"no blank line after the list, before {line.strip()[:50]!r}")
            in_list = False
        else:
            after_text = True
    return problems


def _docstrings():
    for path in sorted((REPO / "gaitgs_lib").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    name = getattr(node, "name", "(module)")
                    yield f"{path.relative_to(REPO).as_posix()}:{name}", doc


def test_docstring_lists_are_set_off_by_blank_lines():
    bad = [f"{where}: {p}" for where, doc in _docstrings() for p in list_problems(doc)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("doc, problems", [
    ("Where the work runs:\n\n- on a CPU;\n  more of it\n- on a GPU.\n\nThen text.", 0),
    ("Where the work runs:\n- on a CPU;\n- on a GPU.", 1),
    ("Steps:\n\n1. read\n2. write\nThen text.", 1),
    ("A line with a dash - inside it\nand a second line.", 0),
])
def test_the_check_finds_what_python_markdown_runs_together(doc, problems):
    assert len(list_problems(doc)) == problems
