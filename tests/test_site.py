"""The course site as a reader meets it: `scripts/build_site.py` (what
`bash run.sh site` runs) builds it from the committed notebooks, a local HTTP server serves
it, headless Chromium opens the home page and a notebook page, every figure loads, and no
internal link of any page reachable from the home page is broken. Screenshots are saved in
the test's temporary folder. About a minute, most of it rendering the notebooks.
"""
import functools
import http.server
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

pytestmark = pytest.mark.slow  # builds the course site from every notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_PAGE = "notebooks/02_granularity_mgfe.html"  # B3D and STEM: many figures


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the site tools are in the `site` extra (pip install -e '.[site]')")
    out = tmp_path_factory.mktemp("site") / "site"
    proc = subprocess.run([sys.executable, "scripts/build_site.py", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "course site built" in proc.stdout
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # a free port on loopback
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"href", "src"} and value and not value.startswith("data:"):
                self.links.append(value)


def _target(site: Path, page: Path, link: str) -> Path | None:
    """The file an internal link of `page` points to (None for external links and anchors)."""
    url = urlparse(link)
    if url.scheme or url.netloc or not url.path:
        return None
    base = "/" + page.relative_to(site).as_posix()
    path = Path(site, unquote(urlparse(urljoin(base, url.path)).path).lstrip("/"))
    return path / "index.html" if path.is_dir() else path


def test_no_internal_link_is_broken(site):
    """Crawl from the home page through every reachable HTML page; check every href and src."""
    seen, todo, broken, checked = set(), [site / "index.html"], [], 0
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        parser = _Links()
        parser.feed(page.read_text(errors="replace"))
        for link in parser.links:
            target = _target(site, page, link)
            if target is None:
                continue
            checked += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {link}")
            elif target.suffix == ".html":
                todo.append(target)
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(sorted(set(broken))[:40])
    pages = {p.relative_to(site).as_posix() for p in seen}
    notebooks = sorted(REPO.glob("notebooks/[0-9][0-9]_*.ipynb"))
    assert {f"notebooks/{nb.stem}.html" for nb in notebooks} <= pages, "every notebook has a page"
    assert {"docs/gallery.html", "api/index.html", "api/course.html", "assignments/index.html"} <= pages
    if (REPO / "docs/instructors.md").exists():
        assert "docs/instructors.html" in pages
    # `bash run.sh site` is the students' edition: no answer page, linked or not
    assert not [p for p in pages if "answers/" in p] and not (site / "docs" / "answers").exists()
    assert checked > 200


def test_api_reference_shows_docstrings(site):
    text = (site / "api" / "course.html").read_text()
    assert "build_assignment" in text and "otter assign" in text  # a signature and its docstring


def test_api_reference_renders_docstring_lists_as_lists(site):
    """A docstring's list is a list on the page, not run into the line above (tests/test_docstring_lists.py)."""
    text = (site / "api" / "losses.html").read_text()
    block = text[text.index('id="gaitgs_lib.losses.TripletLoss"'):]
    items = re.findall(r"<li>\s*(.*?)</li>", block[:block.index("</ul>") + 5], re.DOTALL)
    assert len(items) == 3 and items[0].startswith("positive pairs (a, p)"), items
    assert re.search(r"<p>The loss is the mean over parts", block), "the text after the list is its own paragraph"


def _images(browser) -> list:
    return browser.execute_script(
        "return Array.from(document.images).map(i => [i.currentSrc.slice(0, 80), i.complete, i.naturalWidth]);")


# Code and outputs that stick out past the content column, or are cut off by a box that hides
# what does not fit (docs/site.css makes them scroll inside the column instead).
_OUT_OF_COLUMN = """
const col = document.querySelector('.md-content__inner').getBoundingClientRect();
const bad = [];
for (const el of document.querySelectorAll('.md-content__inner pre, .jp-OutputArea-output, .jp-InputArea-editor, .jp-CodeMirrorEditor')) {
  const r = el.getBoundingClientRect();
  const name = el.tagName + '.' + String(el.className).split(' ')[0];
  if (r.width > 0 && r.right > col.right + 1) bad.push(name + ' ends ' + Math.round(r.right - col.right) + ' px past the column');
  if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'hidden') bad.push(name + ' cuts off ' + (el.scrollWidth - el.clientWidth) + ' px');
}
return bad;
"""


@pytest.mark.browser
def test_a_reader_opens_the_home_page_and_a_notebook(site, server, browser, tmp_path):
    browser.get(server + "index.html")
    assert "GaitGS" in browser.title
    home_images = _images(browser)
    assert home_images and all(ok and width > 0 for _, ok, width in home_images), home_images
    browser.save_screenshot(str(tmp_path / "home.png"))

    browser.get(server + NOTEBOOK_PAGE)
    body = browser.find_element("tag name", "body").text
    assert "B3D" in body and "STEM" in body
    figures = _images(browser)
    assert len(figures) >= 5, f"the notebook page shows its committed figures, found {len(figures)}"
    assert all(ok and width > 0 for _, ok, width in figures), [f for f in figures if not f[2]]
    out_of_column = browser.execute_script(_OUT_OF_COLUMN)
    assert not out_of_column, f"code or output outside the content column: {out_of_column[:5]}"
    browser.save_screenshot(str(tmp_path / "notebook.png"))
    assert (tmp_path / "notebook.png").stat().st_size > 10_000
