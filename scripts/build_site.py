"""Build the course site (`bash run.sh site`): the notebooks as committed, the guides, the
docs, the contact sheets and an API reference of gaitgs_lib, as static HTML in build/site/.

    python scripts/build_site.py [--out build/site] [--strict]
    python scripts/build_site.py --instructor [--out build/site-instructor]

The default build is the **student site**: it leaves out the answer pages (docs/answers/),
from the navigation and from the output, and shows links to them as plain text.
`--instructor` builds the instructors' site, the same pages plus the answers, by default
into build/site-instructor/ so that the two are never confused (docs/instructors.md, "The
course site").

Nothing is executed: notebooks are rendered from their committed outputs (mkdocs-jupyter,
`execute: false`) and the API reference is read from the docstrings without importing the
library (mkdocstrings' griffe). Steps: stage every page under build/site-src/ with the
repository's own relative layout (README.md becomes the home page), turn links between
notebooks into links between their pages, copy in any other repository file a page links to
(so no link breaks), write the API and gallery pages, then run `mkdocs build` with the
navigation below added to mkdocs.yml. Prints the build time; exits non-zero on failure.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# [text](target) in markdown, href="target"/src="target" in HTML; targets without a scheme
_LINK = re.compile(r"(\]\(|href=\"|src=\")(?![a-z][a-z0-9+.-]*:|#|/)([^)\"\s]+)")
GUIDES = [("Assignments", "assignments/README.md"), ("Instructors' guide", "docs/instructors.md"),
          ("Architecture", "docs/architecture.md"), ("Data and evaluation", "docs/data-and-evaluation.md"),
          ("SynthGait", "docs/synthgait-generator.md"), ("The cue study", "docs/cue-study.md"),
          ("Library design", "docs/design.md"),
          ("Guarantees", "docs/guarantees.md"), ("Data and checkpoints", "data/README.md"),
          ("Benchmarks", "benchmarks/README.md")]


def _page_link(target: str) -> str:
    """A link between source files as a link between built pages (use_directory_urls: false)."""
    path, hash_, fragment = target.partition("#")
    if path.endswith(".ipynb"):
        path = path[: -len(".ipynb")] + ".html"
    elif path.endswith("README.md"):
        path = path[: -len("README.md")] + "index.html"
    elif path.endswith(".md"):
        path = path[: -len(".md")] + ".html"
    return path + hash_ + fragment


# Answer pages colleagues are still writing: a link to one that does not exist yet is shown
# as plain text in the site instead of a broken link (every other link must resolve).
_PENDING = re.compile(r"(^|/)answers/\d\d_[a-z0-9_]+\.md$")
# Any answer page: the student site shows links to them as plain text and never stages them.
_ANSWER = re.compile(r"(^|/)answers/[^/]+\.md$")
_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
ANSWERS_DIR = REPO / "docs" / "answers"
# The site's own stylesheet (code blocks and outputs scroll inside the content column).
SITE_CSS = REPO / "docs" / "site.css"


def _is_answer(path: Path) -> bool:
    """True for a file under docs/answers/ (the instructors' answer pages)."""
    try:
        path.resolve().relative_to(ANSWERS_DIR.resolve())
    except ValueError:
        return False
    return True


def _stage_markdown(source: Path, dest: Path, instructor: bool = True) -> list[str]:
    """Copy a markdown page, unlinking links to answer pages that do not exist yet (and, for the
    student site, links to every answer page)."""
    def unlink_pending(m):
        target = m.group(2).partition("#")[0]
        if not instructor and _ANSWER.search(target):
            return f"{m.group(1)} *(instructors' site only)*"
        if _PENDING.search(target) and not (source.parent / target).exists():
            return f"{m.group(1)} *(not written yet)*"
        return m.group(0)

    text = _MD_LINK.sub(unlink_pending, source.read_text())
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return _links(text)


def _links(text: str) -> list[str]:
    return [m.group(2) for m in _LINK.finditer(text)]


def _stage_notebook(source: Path, dest: Path) -> list[str]:
    """Copy a notebook with its markdown links pointing at pages; returns the links it has."""
    nb = json.loads(source.read_text())
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        found += _links(text)
        cell["source"] = _LINK.sub(lambda m: m.group(1) + _page_link(m.group(2)), text)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
    return found


def _copy_link_targets(stage: Path, pages: dict[Path, list[str]], instructor: bool = True) -> None:
    """Copy into the stage every repository file a staged page links to (transitively for pages);
    the student site never copies an answer page."""
    todo = list(pages.items())
    while todo:
        rel_page, links = todo.pop()
        for link in links:
            target = (REPO / rel_page).parent / link.partition("#")[0]
            try:
                rel = target.resolve().relative_to(REPO)
            except ValueError:
                continue  # outside the repository: left as written
            if (REPO / rel).is_dir() and (REPO / rel / "README.md").is_file():
                rel = rel / "README.md"
            if not (REPO / rel).is_file() or (stage / rel).exists() or ".venv" in rel.parts:
                continue
            if not instructor and _is_answer(REPO / rel):
                continue
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, stage / rel)
            if rel.suffix == ".md":
                todo.append((rel, _links((REPO / rel).read_text())))


def _api_pages(stage: Path) -> list[dict]:
    """One page per module or subpackage of gaitgs_lib, rendered from docstrings by mkdocstrings."""
    root = REPO / "gaitgs_lib"
    names = sorted([p.stem for p in root.glob("*.py") if p.stem not in {"__init__", "__main__"}]
                   + [p.name for p in root.iterdir() if (p / "__init__.py").is_file()])
    nav = [{"Overview": "api/index.md"}]
    lines = ["# API reference", "", "Generated from the docstrings of `gaitgs_lib` "
             "(the same text `help()` shows). One page per module or subpackage:", ""]
    for name in names:
        page = f"api/{name}.md"
        options = "\n    options:\n      show_submodules: true" if (root / name).is_dir() else ""
        (stage / page).parent.mkdir(parents=True, exist_ok=True)
        (stage / page).write_text(f"# gaitgs_lib.{name}\n\n::: gaitgs_lib.{name}{options}\n")
        nav.append({f"gaitgs_lib.{name}": page})
        lines.append(f"- [`gaitgs_lib.{name}`]({name}.md)")
    (stage / "api/index.md").write_text("\n".join(lines) + "\n")
    return nav


def _gallery(stage: Path) -> str | None:
    images = sorted((REPO / "docs" / "img").glob("*.png"))
    if not images:
        return None
    lines = ["# Contact sheets and figures", "",
             "The figures kept in `docs/img/` (SynthGait's contact sheets among them): each is made by "
             "code in the library, and the notebooks and docs explain them.", ""]
    for image in images:
        title = image.stem.replace("_", " ")
        lines += [f"## {title}", "", f"![{title}](img/{image.name})", ""]
    (stage / "docs" / "gallery.md").write_text("\n".join(lines))
    return "docs/gallery.md"


def _title(page: Path) -> str:
    """A page's navigation label: its first `# ` heading (without a leading "Answers: "), else its file name."""
    for line in page.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip().removeprefix("Answers: ")
    return page.stem.replace("_", " ")


def stage_site(stage: Path, instructor: bool = False) -> list:
    """Write every page of the site under `stage`; returns the navigation.

    The student site (the default) has no answer page: docs/answers/ is neither staged nor in
    the navigation, and links to it are plain text. `instructor=True` adds the answers.
    """
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "docs").mkdir(parents=True)
    if SITE_CSS.is_file():
        shutil.copy2(SITE_CSS, stage / "docs" / SITE_CSS.name)
    pages: dict[Path, list[str]] = {}
    pages[Path("README.md")] = _stage_markdown(REPO / "README.md", stage / "index.md", instructor)
    if (REPO / "docs" / "img").is_dir():
        shutil.copytree(REPO / "docs" / "img", stage / "docs" / "img")
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for nb in notebooks:
        rel = nb.relative_to(REPO)
        pages[rel] = _stage_notebook(nb, stage / rel)
    guides = []
    for title, rel in GUIDES:
        if (REPO / rel).is_file():
            pages[Path(rel)] = _stage_markdown(REPO / rel, stage / rel, instructor)
            guides.append({title: rel})
    answers = sorted(ANSWERS_DIR.glob("*.md")) if instructor else []
    for answer in answers:
        rel = answer.relative_to(REPO)
        pages[rel] = _stage_markdown(answer, stage / rel, instructor)
    _copy_link_targets(stage, pages, instructor)
    nav = [{"Home": "index.md"},
           {"Notebooks": [{nb.stem.replace("_", " "): str(nb.relative_to(REPO))} for nb in notebooks]},
           {"Guides and docs": guides}]
    gallery = _gallery(stage)
    if gallery:
        nav.append({"Contact sheets": gallery})
    if answers:
        nav.append({"Answers (instructors)": [{_title(a): str(a.relative_to(REPO))} for a in answers]})
    nav.append({"API reference": _api_pages(stage)})
    return nav


def site_config(nav: list, stage: Path, out: Path, instructor: bool = False) -> dict:
    """mkdocs.yml with the navigation, the folders and the site's name for this build."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    config.update(nav=nav, docs_dir=str(stage), site_dir=str(out.resolve()))
    if instructor:
        config["site_name"] += " (instructors' edition, with answers)"
    return config


def build(out: Path, strict: bool = False, instructor: bool = False) -> float:
    """Stage and build the site into `out`; returns the seconds it took."""
    start = time.perf_counter()
    build_dir = REPO / "build"
    stage = build_dir / ("site-src-instructor" if instructor else "site-src")
    nav = stage_site(stage, instructor)
    config = site_config(nav, stage, out, instructor)
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            plugin["mkdocstrings"]["handlers"]["python"]["paths"] = [str(REPO)]
    generated = build_dir / ("mkdocs.site-instructor.yml" if instructor else "mkdocs.site.yml")
    generated.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [sys.executable, "-m", "mkdocs", "build", "--clean", "--quiet", "-f", str(generated)]
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # Material prints a banner about MkDocs 2 otherwise
    # run inside build/: mkdocs-jupyter keeps its render cache in ./.cache
    subprocess.run(cmd + (["--strict"] if strict else []), check=True, cwd=build_dir, env=env)
    return time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=None,
                   help="output folder (default build/site, or build/site-instructor with --instructor)")
    p.add_argument("--strict", action="store_true", help="fail on MkDocs warnings (e.g. a broken link)")
    p.add_argument("--instructor", action="store_true",
                   help="build the instructors' site: the student site plus the answer pages (docs/answers/)")
    args = p.parse_args(argv)
    out = Path(args.out or REPO / "build" / ("site-instructor" if args.instructor else "site"))
    try:
        seconds = build(out, args.strict, args.instructor)
    except subprocess.CalledProcessError as e:
        print(f"error: mkdocs build failed (exit {e.returncode}); see the messages above", file=sys.stderr)
        return 1
    index = out / "index.html"
    edition = "instructors' edition, with the answer pages" if args.instructor else "student edition: no answer pages"
    print(f"[gaitgs] course site built in {seconds:.0f} s ({edition}): open {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
