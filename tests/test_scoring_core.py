"""The scoring core (judging/scoring) stays pure: the standard library and its own modules only.

Two checks, each shown to fail on a module that breaks the rule:

- Reading: every module's imports, parsed with `ast`, name only the standard library or
  judging.scoring; anything else (flask, flask_*, sqlalchemy, werkzeug, judging.models,
  judging.services, judging.extensions, any other judging module) is reported with its module
  and line.
- Running: a fresh interpreter imports the package and every module in it, and neither flask
  nor sqlalchemy may be loaded afterwards. `import judging.scoring` would first run
  judging/__init__.py, which imports Flask to build the app, and prove nothing; so the fresh
  interpreter registers a bare `judging` package (no code, its __path__ the real directory)
  before importing judging.scoring and its modules the ordinary way. Anything they import,
  judging.models included, is then really imported, and shows up in sys.modules.
"""

import ast
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import judging

PACKAGE = Path(judging.__file__).parent
CORE = PACKAGE / "scoring"


def _imported(tree: ast.Module, module: str) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import in `module` (a package's own module is
    named "<package>.__init__", so that its relative imports resolve like any other's)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's own package
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "judging" or not node.module:  # `from judging import models`: a module
                names += [(f"{name}.{alias.name}", node.lineno) for alias in node.names]
            else:
                names.append((name, node.lineno))
    return names


def impure_imports(source: str, module: str) -> list[str]:
    """What in `source` (the module `module` of judging.scoring) imports beyond the standard
    library and judging.scoring, as "module:line imports name"."""
    problems = []
    for name, line in _imported(ast.parse(source), module):
        top = name.split(".")[0]
        inside = name == "judging.scoring" or name.startswith("judging.scoring.")
        if inside or (top in sys.stdlib_module_names and top != "judging"):
            continue
        problems.append(f"{module}:{line} imports {name}")
    return problems


def _modules(root: Path) -> dict[str, Path]:
    """judging.scoring's module names -> files, under `root` (a copy of judging/ or the real)."""
    found = {}
    for path in sorted((root / "scoring").rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts)] = path
    return found


def test_the_core_imports_only_the_standard_library_and_itself():
    modules = _modules(PACKAGE)
    assert "judging.scoring.ranking" in modules and "judging.scoring.assignment" in modules
    problems = [p for name, path in modules.items() for p in impure_imports(path.read_text(), name)]
    assert problems == []


def test_the_reading_check_names_each_forbidden_import_and_its_line():
    source = textwrap.dedent(
        """\
        import math
        import flask
        from flask_login import current_user
        from sqlalchemy import select
        import werkzeug.utils
        from judging.models import Award
        from judging.services import results
        from judging.extensions import db
        from judging import config
        from .. import lookups
        from . import ties
        from .ties import same
        from judging.scoring import ranking
        """
    )
    assert impure_imports(source, "judging.scoring.bad") == [
        "judging.scoring.bad:2 imports flask",
        "judging.scoring.bad:3 imports flask_login",
        "judging.scoring.bad:4 imports sqlalchemy",
        "judging.scoring.bad:5 imports werkzeug.utils",
        "judging.scoring.bad:6 imports judging.models",
        "judging.scoring.bad:7 imports judging.services",
        "judging.scoring.bad:8 imports judging.extensions",
        "judging.scoring.bad:9 imports judging.config",
        "judging.scoring.bad:10 imports judging.lookups",
    ]


# Run in a fresh interpreter: the package directory (a judging/ holding scoring/) is argv[1].
LOADER = """
import importlib, json, sys, types
from pathlib import Path

package = Path(sys.argv[1])
bare = types.ModuleType("judging")  # judging/__init__.py not run: it imports Flask for the app
bare.__path__ = [str(package)]
sys.modules["judging"] = bare
names = ["judging.scoring"] + [
    "judging.scoring." + p.stem for p in sorted((package / "scoring").glob("*.py"))
    if p.stem != "__init__"
]
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "imported": names,
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "sqlalchemy")),
}))
"""


def _load_in_fresh_interpreter(package: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(package)],
        capture_output=True,
        text=True,
        check=True,
        cwd=package.parent.parent,  # not the project: nothing found by accident on sys.path[0]
    )
    return json.loads(done.stdout)


def test_importing_the_core_loads_neither_flask_nor_sqlalchemy():
    outcome = _load_in_fresh_interpreter(PACKAGE)
    assert "judging.scoring.ranking" in outcome["imported"]
    assert outcome["loaded"] == []


def test_the_running_check_sees_a_module_that_imports_flask(tmp_path):
    copy = tmp_path / "judging"
    shutil.copytree(CORE, copy / "scoring")
    (copy / "scoring" / "zz_web.py").write_text("import flask\n")
    outcome = _load_in_fresh_interpreter(copy)
    assert "judging.scoring.zz_web" in outcome["imported"]
    assert "flask" in outcome["loaded"]
