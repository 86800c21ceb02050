"""Notebook 07 in a real JupyterLab, used as a student would: run all cells, move sliders, watch.

Starts JupyterLab on a free localhost port over a temporary copy of the course (the notebook is
copied, `gaitgs_lib/` and `data/` are linked, so nothing in the repository is written), opens
notebook 07 in headless Chromium, clears the committed outputs and runs all cells from the
*Run* menu, then moves three sliders with the keyboard and checks that each move replaces its
group's figure, that no error appears, and how long a move takes in the browser.

Latency policy. Each move is timed in the page, from the key press (a capture-phase `keydown`
listener) to the moment the group's new figure is in the page (a MutationObserver): 5 moves per
slider, each to a value not seen before, so nothing comes from the explorer's cache.
- The MEDIAN of each slider's moves must be at most 1 s, and no single move over 3 s (a shared
  CPU makes single moves spike).
- The kernel's CPU time per move (shown on each group's status line) must have a median of at
  most 1 s too: it measures our work alone, whatever else runs on the machine.
- When the machine is overloaded during the moves (1-minute load average above twice the
  number of CPUs), wall-clock times measure the neighbours rather than the explorer: the test
  still checks everything else, then reports the wall-clock check as xfail with the numbers.
The measurements are printed (`pytest -s`) and written to `latency.json` in the test's
temporary folder.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser  # headless Chromium driving JupyterLab (slow too: tests/conftest.py)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "07_temporal_span_explorer.ipynb"
MOVES = 5  # per slider
MEDIAN_LIMIT_S = 1.0
SINGLE_LIMIT_S = 3.0
OVERLOAD = 2.0  # load average per CPU above which wall-clock latency is not the explorer's
# (the panel's CSS class, the slider's description, the key that moves it)
SLIDERS = [
    ("explorer-timeline", "frame t", "ARROW_RIGHT"),
    ("explorer-attention", "span (frames)", "ARROW_LEFT"),
    ("explorer-curve", "first frame", "ARROW_RIGHT"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def _settings(folder: Path) -> None:
    """JupyterLab user settings for a deterministic page: every cell in the DOM, no news pop-up."""
    notebook = folder / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True)
    (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    apputils = folder / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True)
    (apputils / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server over a temporary copy of the course; yields (base URL, token)."""
    if importlib.util.find_spec("jupyterlab") is None:
        if os.environ.get("CI"):
            pytest.fail("browser test under CI but JupyterLab is not installed (pip install -e '.[dev]')")
        pytest.skip("JupyterLab is not installed (pip install -e '.[dev]')")
    if not (REPO / "data" / "checkpoints" / "tiny-synthgait-mini.pt").exists():
        pytest.fail("data/checkpoints/tiny-synthgait-mini.pt is missing: it is part of the repository")
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / NOTEBOOK, root / "notebooks" / NOTEBOOK)
    for name in ("gaitgs_lib", "data"):  # setup_notebook() finds the course by these two folders
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    _settings(tmp_path / "lab-settings")
    port, token = _free_port(), os.urandom(16).hex()
    env = {**os.environ, "GAITGS_QUICK": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces")}
    log = open(tmp_path / "jupyterlab.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url="],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _api(base, token, "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token
    finally:
        _stop(server, base, token)
        log.close()


def _stop(server: subprocess.Popen, base: str, token: str) -> None:
    """Shut down every kernel and the server; kill the server's process group if it lingers."""
    try:
        for kernel in _api(base, token, "/api/kernels") or []:
            _api(base, token, f"/api/kernels/{kernel['id']}", method="DELETE")
        _api(base, token, "/api/shutdown", method="POST")
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


# ------------------------------------------------------------------------------------------
# What the test does in the page
# ------------------------------------------------------------------------------------------
def _wait(driver, condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _menu(driver, menu: str, item: str) -> None:
    """Click a menu of JupyterLab's menu bar, then one of its items, as a user would."""
    from selenium.webdriver.common.by import By

    for label in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel"):
        if label.text == menu:
            label.click()
            break
    else:
        pytest.fail(f"no menu {menu!r} in JupyterLab's menu bar")
    entry = _wait(driver, lambda: [e for e in driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel")
                                   if e.text == item], 10, f"menu item {item!r}")
    entry[0].click()


LAST_OUTPUT_JS = """
const cells = document.querySelectorAll('.jp-Notebook .jp-CodeCell');
return cells.length ? cells[cells.length - 1].querySelector('.jp-OutputArea').innerText : '';
"""

ERRORS_JS = """
const out = [];
document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
  .forEach(e => out.push('stderr/error output: ' + e.innerText.slice(0, 300)));
document.querySelectorAll('.jp-OutputArea-output').forEach(e => {
  if (e.innerText.includes('Error displaying widget')) out.push('widget error: ' + e.innerText.slice(0, 200));
});
document.querySelectorAll('.widget-html-content').forEach(e => {
  if (e.innerText.startsWith('error:')) out.push('panel status: ' + e.innerText.slice(0, 300));
});
return out;
"""

# Resolves with the time from the last key press to the moment the panel's figure changed.
WAIT_FOR_FIGURE_JS = """
const [cls, before, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const area = document.querySelector('.' + cls).closest('.jp-OutputArea');
const changed = () => {
  const img = area.querySelector('img');
  if (img && img.src !== before) {
    done({ms: performance.now() - window.__keyAt, src: img.src.length});
    return true;
  }
  return false;
};
if (!changed()) {
  const observer = new MutationObserver(() => { if (changed()) observer.disconnect(); });
  observer.observe(area, {subtree: true, childList: true, attributes: true});
}
"""


def _figure_src(driver, css_class: str) -> str:
    return driver.execute_script(
        "return document.querySelector('.' + arguments[0]).closest('.jp-OutputArea').querySelector('img').src",
        css_class)


def _slider(driver, css_class: str, description: str):
    """The slider handle and its readout in one panel, found by the slider's label."""
    from selenium.webdriver.common.by import By

    panel = driver.find_element(By.CSS_SELECTOR, f".{css_class}")
    for box in panel.find_elements(By.CSS_SELECTOR, ".widget-slider"):
        if box.find_element(By.CSS_SELECTOR, ".widget-label").text == description:
            return box.find_element(By.CSS_SELECTOR, ".noUi-handle"), box.find_element(By.CSS_SELECTOR, ".widget-readout")
    pytest.fail(f"no slider {description!r} in .{css_class}")


def _other_walker() -> tuple[str, int, int]:
    """A test subject whose nm-05 sequence at 090 has another length than the notebook's default
    walker (the first test subject): (subject, its frames, the default's frames)."""
    from gaitgs_lib.data.dataset import load_partition
    from gaitgs_lib.data.io import read_sequence

    root = REPO / "data" / "synthgait-mini"
    subjects = sorted(load_partition(root / "partition.json")["test"])
    frames = {s: len(read_sequence(root / s / "nm-05" / "090" / "090.pkl")) for s in subjects}
    other = next(s for s in subjects if frames[s] != frames[subjects[0]])
    return other, frames[other], frames[subjects[0]]


def _max(driver, css_class: str, description: str) -> int:
    handle, _ = _slider(driver, css_class, description)
    return int(float(handle.get_attribute("aria-valuemax")))


def _status(driver, css_class: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f".{css_class} .widget-html-content").text


def test_explorer_sliders_replace_their_figure_within_a_second(browser, lab, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    base, token = lab
    started = time.monotonic()
    browser.set_script_timeout(30)
    browser.get(f"{base}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
    _wait(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell")) >= 10,
          120, "the notebook to open")
    _wait(browser, lambda: browser.execute_script(
        "const e = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        "return e && e.getAttribute('data-status') === 'idle';"), 120, "the kernel to start")
    _menu(browser, "Edit", "Clear Outputs of All Cells")
    _menu(browser, "Run", "Run All Cells")
    _wait(browser, lambda: "none for cached settings" in browser.execute_script(LAST_OUTPUT_JS)
          or browser.execute_script(ERRORS_JS), 240, "all cells to run")
    ran = time.monotonic() - started
    for css_class, _, _ in SLIDERS:  # the widgets rendered, with their status line
        _wait(browser, lambda: "updated in" in _status(browser, css_class), 30, f"the widgets of .{css_class}")
    assert browser.execute_script(ERRORS_JS) == []

    browser.execute_script(
        "window.__keyAt = 0; document.addEventListener('keydown', () => { window.__keyAt = performance.now(); }, true);")
    load_before = os.getloadavg()[0]
    timings = {}
    for css_class, description, key in SLIDERS:
        handle, readout = _slider(browser, css_class, description)
        values, moves, cpu = [readout.text], [], []
        for _ in range(MOVES):
            before = _figure_src(browser, css_class)
            handle.send_keys(getattr(Keys, key))
            result = browser.execute_async_script(WAIT_FOR_FIGURE_JS, css_class, before)
            moves.append(result["ms"] / 1000)
            values.append(readout.text)
            status = _wait(browser, lambda: re.search(r"kernel CPU ([\d.]+) s", _status(browser, css_class)),
                           10, f"the status line of .{css_class}")
            cpu.append(float(status.group(1)))
        assert len(set(values)) == MOVES + 1, f"{description}: the slider did not move each time: {values}"
        timings[description] = {"values": values, "seconds": moves, "median": statistics.median(moves),
                                "kernel_cpu_s": cpu, "kernel_cpu_median": statistics.median(cpu)}
    load = max(load_before, os.getloadavg()[0])

    # Another walker: all three figures are redrawn and every slider follows its length.
    subject, frames, default_frames = _other_walker()
    assert _max(browser, "explorer-timeline", "span (frames)") == default_frames
    before = {css: _figure_src(browser, css) for css, _, _ in SLIDERS}
    picked = time.monotonic()
    Select(browser.find_element(By.CSS_SELECTOR, ".explorer-timeline select")).select_by_visible_text(subject)
    for css_class, _, _ in SLIDERS:
        browser.execute_async_script(WAIT_FOR_FIGURE_JS, css_class, before[css_class])
    walker_s = time.monotonic() - picked
    assert _max(browser, "explorer-timeline", "span (frames)") == frames
    assert _max(browser, "explorer-attention", "span (frames)") == frames
    assert _max(browser, "explorer-curve", "first frame") == frames - 3  # explore.MIN_SPAN
    span = int(_slider(browser, "explorer-timeline", "span (frames)")[1].text)
    assert _max(browser, "explorer-timeline", "frame t") == span - 1
    errors = browser.execute_script(ERRORS_JS)
    browser.save_screenshot(str(tmp_path / "explorer.png"))

    report = {"notebook_run_s": round(ran, 1), "total_s": round(time.monotonic() - started, 1),
              "walker_change_s": round(walker_s, 2),
              "load_average": load, "cpus": os.cpu_count(), **timings}
    (tmp_path / "latency.json").write_text(json.dumps(report, indent=1))
    print(f"\nexplorer latency in the browser (key press -> new figure), load average {load:.1f} "
          f"on {os.cpu_count()} CPUs:")
    for name, t in timings.items():
        print(f"  {name:15s} median {t['median']:.2f} s, moves {[round(s, 2) for s in t['seconds']]}; "
              f"kernel CPU per move median {t['kernel_cpu_median']:.2f} s")
    print(f"  a new walker ({subject}, {frames} frames): all three figures redrawn in {walker_s:.1f} s")
    print(f"  open + clear + run all: {ran:.0f} s; whole test in the browser: {report['total_s']:.0f} s")
    assert errors == []
    for name, t in timings.items():
        assert t["kernel_cpu_median"] <= MEDIAN_LIMIT_S, f"{name}: kernel CPU per move {t['kernel_cpu_median']:.2f} s"
    slow = [f"{name}: median {t['median']:.2f} s, max {max(t['seconds']):.2f} s" for name, t in timings.items()
            if t["median"] > MEDIAN_LIMIT_S or max(t["seconds"]) > SINGLE_LIMIT_S]
    if slow and load > OVERLOAD * (os.cpu_count() or 1):
        pytest.xfail(f"machine overloaded (load average {load:.1f} on {os.cpu_count()} CPUs): {slow}")
    assert not slow, f"slider moves slower than {MEDIAN_LIMIT_S} s (median) / {SINGLE_LIMIT_S} s (max): {slow}"
