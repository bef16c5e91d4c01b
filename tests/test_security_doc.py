"""docs/security.md names a test for each line of the threat model: each one must exist, so the
document cannot promise what no test checks any more."""

import ast
import re

from .fixtures.domain import ROOT

DOC = ROOT / "docs" / "security.md"


def _named_tests() -> list[tuple[str, str]]:
    """(file, test) for every `file.py::test` and every `::test` after it on the same line."""
    named = []
    for line in DOC.read_text().splitlines():
        current = None
        for file, test in re.findall(r"`(?:(test_\w+\.py))?::(test_\w+)`", line):
            current = file or current
            assert current, f"{test} is named without its file: {line}"
            named.append((current, test))
    return named


def _tests_in(file: str) -> set[str]:
    tree = ast.parse((ROOT / "tests" / file).read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_test_the_threat_model_names_exists():
    named = _named_tests()
    assert len(named) >= 40
    missing = [f"{file}::{test}" for file, test in named if test not in _tests_in(file)]
    assert missing == []
