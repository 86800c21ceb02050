"""Speed and realism measurements of gaitgs_lib (benchmarks/README.md has what they printed).

A package so that its scripts run as modules from the repository root, e.g.
`python -m benchmarks.bench_model --preset tiny`, and share `benchmarks.common` without
editing the import path. The library never imports it (tests/test_imports.py).
"""
