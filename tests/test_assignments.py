"""The otter-grader assignments: every master builds, its solutions pass the generated tests
(hidden ones included), a submission answering only the first question gets exactly that
question's marks, and the unfilled student version gets zero. The student versions and the
autograders are generated from the masters, never edited by hand (docs/instructors.md)."""
import json
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from gaitgs_lib import course as A
from gaitgs_lib.course.autograder import AutograderEnvironment
from gaitgs_lib.course.cli import main

REPO = Path(__file__).resolve().parents[1]

# Third-party noise while otter and nbconvert run (not ours to fix).
pytestmark = [
    pytest.mark.filterwarnings("ignore:Traits should be given as instances:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.drop"),
]

MASTERS = A.find_masters(REPO / "assignments")
NAMES = [m.parent.name for m in MASTERS]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return {b.name: b for b in A.build(MASTERS, out)}


def test_the_course_assignments_exist():
    assert {"01_uta", "02_mtb", "03_rank1"} <= set(NAMES)
    assert len(NAMES) >= 6, NAMES
    for master in MASTERS:
        assert master.stem == master.parent.name, f"{master}: name the master after its folder"


def test_masters_are_committed_without_outputs():
    for master in MASTERS:
        nb = nbformat.read(str(master), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{master.name}: clear outputs"
        config = [c.source for c in nb.cells if c.cell_type == "raw" and c.source.startswith("# ASSIGNMENT CONFIG")]
        assert len(config) == 1 and "ok_format: false" in config[0], f"{master.name}: exception-based tests expected"


@pytest.mark.parametrize("name", NAMES)
def test_solutions_pass_and_unfilled_student_version_fails(built, name):
    result = A.check_assignment(built[name], engine="inprocess")
    assert result.ok, "\n".join(result.problems)
    assert len(result.solution.questions) >= 3
    for q in result.solution.questions.values():
        assert q.full_marks and q.possible > 0, f"{name} {q.name}: {q.failures}"
    for q in result.student.questions.values():
        assert q.score == 0, f"{name} {q.name}: an unfilled answer earns {q.score} points"
    assert set(result.student.questions) == set(result.solution.questions)
    first = next(iter(result.solution.questions))
    assert result.partial_answered == (first,)
    assert result.partial.score == result.solution.questions[first].possible < result.partial.possible


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_hides_solutions_and_hidden_tests(built, name):
    b = built[name]
    student = b.student.read_text()
    assert "BEGIN SOLUTION" not in student and "# HIDDEN" not in student
    meta = json.loads(student)["metadata"]["otter"]["tests"]
    with zipfile.ZipFile(b.autograder_zip) as z:
        graded = {n[len("tests/"):-3]: z.read(n).decode() for n in z.namelist() if n.startswith("tests/")}
    assert set(meta) == set(graded), "the student notebook carries the public tests of every question"
    for q, source in graded.items():
        assert "hidden=True" in source, f"{name} {q}: every question needs a hidden test"
        assert "hidden=True" not in meta[q], f"{name} {q}: a hidden test leaked into the student notebook"


TINY_MASTER = [
    ("raw", "# ASSIGNMENT CONFIG\nname: 09_tiny\ncheck_all_cell: false\nexport_cell: false\n"
            "generate: true\ntests:\n  ok_format: false"),
    ("markdown", "# Tiny"),
    ("raw", "# BEGIN QUESTION\nname: q1\npoints: 1"),
    ("markdown", "Write `double(x)`."),
    ("raw", "# BEGIN SOLUTION"),
    ("code", "def double(x):\n    # BEGIN SOLUTION\n    return x + x\n    # END SOLUTION"),
    ("raw", "# END SOLUTION"),
    ("raw", "# BEGIN TESTS"),
    ("code", "def test_two(double):\n    assert double(2) == 4\n\ntest_two(double)"),
    ("code", "# HIDDEN\ndef test_many(double):\n    assert [double(i) for i in range(3)] == [0, 2, 4]\n\n"
             "test_many(double)"),
    ("raw", "# END TESTS"),
    ("raw", "# END QUESTION"),
    ("raw", "# BEGIN QUESTION\nname: q2\npoints: 2"),
    ("markdown", "Write `triple(x)`."),
    ("raw", "# BEGIN SOLUTION"),
    ("code", "def triple(x):\n    # BEGIN SOLUTION\n    return 3 * x\n    # END SOLUTION"),
    ("raw", "# END SOLUTION"),
    ("raw", "# BEGIN TESTS"),
    ("code", "def test_three(triple):\n    assert triple(1) == 3\n\ntest_three(triple)"),
    ("raw", "# END TESTS"),
    ("raw", "# END QUESTION"),
]


def _write_tiny_master(root, body="return x + x"):
    folder = root / "09_tiny"
    folder.mkdir(parents=True)
    cells = []
    for kind, src in TINY_MASTER:
        cells.append(getattr(nbformat.v4, f"new_{kind}_cell")(src.replace("return x + x", body)))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(folder / "09_tiny.ipynb"))
    return folder / "09_tiny.ipynb"


def test_check_reports_a_wrong_solution(tmp_path):
    master = _write_tiny_master(tmp_path / "masters", body="return 2 * x + 1")
    result = A.check_assignment(A.build_assignment(master, tmp_path / "dist"), engine="inprocess")
    assert not result.ok
    assert result.problems[0] == "09_tiny q1: the solution gets 0/1 (AssertionError: )"
    assert "09_tiny: the partial submission gets 0/3, not a partial grade" in result.problems


def test_check_reports_a_test_that_unanswered_code_passes(tmp_path):
    """A hidden test that does not look at the answer gives points for nothing: caught by the
    unfilled student version and by the partial submission (q1 answered, q2 should be 0)."""
    master = _write_tiny_master(tmp_path / "masters")
    nb = nbformat.read(str(master), as_version=4)
    (cell,) = [c for c in nb.cells if c.source.startswith("def test_three")]
    cell.source = "def test_three(triple):\n    assert True\n\ntest_three(triple)"
    nbformat.write(nb, str(master))
    result = A.check_assignment(A.build_assignment(master, tmp_path / "dist"), engine="inprocess")
    assert "09_tiny q2: the unfilled student version earns 2/2" in result.problems
    assert ("09_tiny q2: a submission answering only ['q1'] gets 2/2 here (expected 0)" in result.problems)


def test_autograder_zip_carries_its_environment(tmp_path):
    """What `otter grade` and Gradescope install: otter, pinned torch, our wheel, a setup check."""
    wheel = tmp_path / "gaitgs_lib-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    env = AutograderEnvironment(package=str(wheel), torch="2.13.0", python_version="3.11")
    b = A.build_assignment(_write_tiny_master(tmp_path / "masters"), tmp_path / "dist", env)
    with zipfile.ZipFile(b.autograder_zip) as z:
        spec = yaml.safe_load(z.read("environment.yml"))
        requirements = z.read("requirements.txt").decode().splitlines()
        assert z.read("requirements.d/gaitgs_lib-0.1.0-py3-none-any.whl") == b"not really a wheel"
        setup = z.read("setup.sh").decode()
    assert requirements[:5] == ["--extra-index-url https://download.pytorch.org/whl/cpu", "torch==2.13.0",
                                "--find-links .", "--find-links requirements.d", "gaitgs-lib==0.1.0"]
    assert "python=3.11" in spec["dependencies"]
    (pip,) = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict)]
    assert pip[0].startswith("otter-grader[grading,plugins]==") and pip[1:] == requirements
    assert setup.rstrip().endswith('gaitgs_lib.__version__)"') and "mamba run -n otter-env python -c" in setup
    named = AutograderEnvironment(package="gaitgs-lib @ git+https://example.org/gaitgs@v1", torch="2.13.0",
                                  torch_index=None)
    assert named.requirements()[:2] == ["torch==2.13.0", "gaitgs-lib @ git+https://example.org/gaitgs@v1"]


def test_cli_build_then_check_and_rebuild_replaces(tmp_path, capsys, monkeypatch):
    """The command works from any folder that holds `assignments/` (not only a source checkout)."""
    monkeypatch.chdir(tmp_path)
    _write_tiny_master(tmp_path / "assignments")
    args = ["--package", "gaitgs-lib==0.1.0", "--torch-index", "none"]  # a requirement: no wheel to build
    assert main(["build", *args]) == 0
    dist = tmp_path / "assignments" / "dist"
    first = A.BuiltAssignment.from_folder(tmp_path / "assignments/09_tiny/09_tiny.ipynb", dist / "09_tiny")
    assert main(["check", *args, "--engine", "inprocess"]) == 0
    out = capsys.readouterr().out
    assert "09_tiny        q1              1/1       1/1       0/1" in out
    assert "09_tiny        q2              2/2       0/2       0/2" in out
    assert out.rstrip().endswith("unfilled questions zero")
    assert sorted(p.name for p in dist.iterdir()) == ["09_tiny"], "no temporary folders left"
    assert len(list(first.autograder_zip.parent.glob("*.zip"))) == 1, "a rebuild replaces the old output"


@pytest.mark.slow
def test_grading_with_otter_run_in_a_kernel(tmp_path):
    """The engine instructors use: `otter run` in a fresh kernel (slow, so one tiny submission)."""
    b = A.build_assignment(_write_tiny_master(tmp_path / "masters"), tmp_path / "dist")
    nb = nbformat.read(str(b.student), as_version=4)
    (answer,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("def double")]
    answer.source = answer.source.replace("...", "return 2 * x")  # a student who answered q1 only
    submission = tmp_path / "submission.ipynb"
    nbformat.write(nb, str(submission))
    graded = A.grade(submission, b.autograder_zip, engine="otter")
    assert graded.questions["q1"].full_marks and graded.questions["q1"].possible == 1
    assert graded.questions["q2"].score == 0 and graded.questions["q2"].possible == 2
    assert graded.score == 1 and graded.possible == 3 and not graded.cell_errors


def test_errors_name_what_was_expected(tmp_path):
    (tmp_path / "01_empty").mkdir()
    with pytest.raises(ValueError, match="01_empty: expected exactly one master notebook"):
        A.find_masters(tmp_path)
    with pytest.raises(ValueError, match=r"unknown assignment\(s\) \['99_nope'\]"):
        A.find_masters(REPO / "assignments", only=["99_nope"])
    assert main(["build", "--root", str(tmp_path / "missing")]) == 2
    assert main(["build", "--root", str(REPO / "assignments"), "--package", "missing.whl"]) == 2
    with pytest.raises(ValueError, match="unknown engine"):
        A.grade("x.ipynb", "x.zip", engine="docker")


_Q4_WITHOUT_DIAGONAL = """
def active_triplets(embeddings, labels, margin):
    x = embeddings.permute(2, 0, 1)
    d = part_distances(x, x)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    valid = (same & ~torch.eye(len(labels), dtype=torch.bool)).unsqueeze(2) & ~same.unsqueeze(1)
    return ((d.unsqueeze(3) - d.unsqueeze(2) + margin > 0) & valid).sum(dim=(1, 2, 3))
"""

# Answers that break an assignment's rule or its definition: each must lose points on that
# question, so the hidden tests check behaviour and rules, not only shapes.
WRONG_ANSWERS = {
    "04_stem q1 calls the library's fold_strips": ("04_stem", "q1", """
from gaitgs_lib.modeling import stem as _library

def fold_strips(x, k):
    return _library.fold_strips(x, k)

def unfold_strips(y, k):
    return _library.unfold_strips(y, k)
"""),
    "04_stem q2 calls the library's STEM": ("04_stem", "q2", """
def stem_forward(x, global_branch, local_branch, strips=8):
    from gaitgs_lib.modeling.stem import STEM
    block = STEM(1, 1)
    block.global_b3d, block.local_b3d = global_branch, local_branch
    return block(x)
"""),
    "05_triplet q1 calls torch.cdist": ("05_triplet", "q1", """
def part_distances(x, y):
    return torch.cdist(x, y)
"""),
    "05_triplet q1 clamps (NaN gradient at distance 0)": ("05_triplet", "q1", """
def part_distances(x, y):
    sq_x, sq_y = (x * x).sum(-1), (y * y).sum(-1)
    return (sq_x.unsqueeze(2) + sq_y.unsqueeze(1) - 2 * x @ y.transpose(1, 2)).clamp(min=0).sqrt()
"""),
    "05_triplet q2 leaves out anchor = positive": ("05_triplet", "q2", """
def triplet_loss_loop(embeddings, labels, margin):
    x = embeddings.permute(2, 0, 1)
    d = part_distances(x, x)
    n, parts = len(labels), []
    for k in range(x.shape[0]):
        terms = [torch.relu(d[k, a, p] - d[k, a, q] + margin) for a in range(n) for p in range(n)
                 for q in range(n) if p != a and labels[p] == labels[a] and labels[q] != labels[a]]
        active = sum(int(t > 0) for t in terms)
        parts.append(sum(terms) / active if active else embeddings.new_zeros(()))
    return torch.stack(parts).mean()
"""),
    "05_triplet q4 leaves out anchor = positive": ("05_triplet", "q4", _Q4_WITHOUT_DIAGONAL),
    "05_triplet q3 calls the loop": ("05_triplet", "q3", """
def triplet_loss(embeddings, labels, margin):
    return triplet_loss_loop(embeddings, labels, margin)
"""),
    "06_pieg q1 calls the library's GeM": ("06_pieg", "q1", """
def gem(x, p, eps=1e-6):
    from gaitgs_lib.modeling.pieg import GeM
    return GeM(float(torch.as_tensor(p).detach()), eps)(x)
"""),
    "06_pieg q2 calls the library's PIEG": ("06_pieg", "q2", """
def view_logits(s_f, s_c, weight, p):
    from gaitgs_lib.modeling.pieg import PIEG
    block = PIEG(s_f.shape[1], weight.shape[0], branches=1 if s_c is None else 2)
    with torch.no_grad():
        block.view_cls.weight.copy_(weight)
        block.gem.p.fill_(float(p))
    return block(s_f, s_c)[0]
"""),
}


@pytest.mark.parametrize("case", sorted(WRONG_ANSWERS))
def test_hidden_tests_catch_a_wrong_answer(built, case, tmp_path):
    from gaitgs_lib.course.check import answer_cells

    name, question, source = WRONG_ANSWERS[case]
    b = built[name]
    nb = nbformat.read(str(b.solution), as_version=4)
    (cell, *_) = answer_cells(nb)[question]
    nb.cells[cell].source = source.strip()
    notebook = tmp_path / b.solution.name
    nbformat.write(nb, str(notebook))
    graded = A.grade(notebook, b.autograder_zip, engine="inprocess").questions[question]
    assert graded.score < graded.possible, f"{case}: still full marks ({graded.score}/{graded.possible})"


def test_a_failing_test_says_what_the_answer_returned(built, tmp_path):
    """A student whose answer is wrong reads what it returned and what was expected, not a bare
    AssertionError (05_triplet q4 without the anchor as its own positive counts 2 triplets, not 4)."""
    from gaitgs_lib.course.check import answer_cells

    b = built["05_triplet"]
    nb = nbformat.read(str(b.solution), as_version=4)
    (cell, *_) = answer_cells(nb)["q4"]
    nb.cells[cell].source = _Q4_WITHOUT_DIAGONAL.strip()
    notebook = tmp_path / b.solution.name
    nbformat.write(nb, str(notebook))
    graded = A.grade(notebook, b.autograder_zip, engine="inprocess").questions["q4"]
    assert graded.score == 0
    text = "\n".join(graded.failures)
    assert "expected [4]" in text and "got [2]" in text, text


def test_otter_noise_is_dropped_from_stderr_and_the_rest_kept(capfd):
    """Jupyter's TCP warning and otter's "No log found" line, written by kernels to file
    descriptor 2, do not reach the user of `assignments check`; any other line does."""
    import os

    from gaitgs_lib.course.grading import _without_otter_noise

    with _without_otter_noise():
        os.write(2, b"[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All ...\n")
        os.write(2, b"No log found with which to verify student scores.\n")
        os.write(2, b"a real problem\n")
    err = capfd.readouterr().err
    assert err == "a real problem\n", err
