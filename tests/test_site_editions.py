"""The two editions of the course site (scripts/build_site.py), checked without running MkDocs:
the student site (`bash run.sh site`) has no answer page in its navigation or among its pages,
and links to answers are plain text there; the instructors' site (`--instructor`) has every
answer page, titled by its heading. Fast: it stages the pages and writes the config only."""
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ANSWERS = sorted((REPO / "docs" / "answers").glob("*.md"))


@pytest.fixture(scope="module")
def build_site():
    spec = importlib.util.spec_from_file_location("build_site", REPO / "scripts" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav_pages(nav) -> list[str]:
    """Every page path in a MkDocs navigation (nested lists of {title: page or list})."""
    pages = []
    for entry in nav:
        for value in (entry.values() if isinstance(entry, dict) else [entry]):
            pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_student_site_lists_and_stages_no_answer_page(build_site, tmp_path):
    assert ANSWERS, "docs/answers/ holds the answer pages"
    stage = tmp_path / "stage"
    nav = build_site.stage_site(stage)  # the default: the student site
    config = build_site.site_config(nav, stage, tmp_path / "out")
    pages = _nav_pages(config["nav"])
    assert pages and not [p for p in pages if "answers" in p], f"answer pages in the student nav: {pages}"
    assert not (stage / "docs" / "answers").exists(), "the student site stages no answer page"
    staged = [p.relative_to(stage).as_posix() for p in stage.rglob("*.md")]
    assert not [p for p in staged if "answers/" in p], staged
    link = re.compile(r"\]\([^)]*answers/[^)]*\)")
    for page in stage.rglob("*.md"):
        assert not link.search(page.read_text()), f"{page.relative_to(stage)} links to an answer page"
    assert "(instructors' site only)" in (stage / "docs" / "instructors.md").read_text()
    assert "docs/site.css" in config["extra_css"] and (stage / "docs" / "site.css").is_file()


def test_instructor_site_has_every_answer_page_titled_by_its_heading(build_site, tmp_path):
    stage = tmp_path / "stage"
    nav = build_site.stage_site(stage, instructor=True)
    answers = next(e["Answers (instructors)"] for e in nav if "Answers (instructors)" in e)
    assert sorted(page for entry in answers for page in entry.values()) == \
        sorted(str(a.relative_to(REPO)) for a in ANSWERS)
    for entry in answers:
        (title, page), = entry.items()
        heading = next(line for line in (REPO / page).read_text().splitlines() if line.startswith("# "))
        assert title in heading and "_" not in title, f"{page}: nav title {title!r}, heading {heading!r}"
    assert all((stage / a.relative_to(REPO)).is_file() for a in ANSWERS)
    config = build_site.site_config(nav, stage, tmp_path / "out", instructor=True)
    assert "instructors" in config["site_name"]
