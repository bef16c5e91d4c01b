"""The import directions docs/architecture.md promises, checked on the source.

Layers, from the bottom: the pure core (judging/scoring) ← models ← services ← blueprints and
the command line ← create_app. A module may import its own layer and the ones below it, never
one above. Each rule below names the modules it holds for and what they may not import; a
failure names the file, the line and the import, so the fix is obvious.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "judging"
BLUEPRINTS = ("judging.auth", "judging.jury", "judging.admin", "judging.public", "judging.api")
# The web layer's own helpers: a service that needs one is reading the request.
WEB_HELPERS = ("judging.outcome", "judging.forms", "judging.lookups", "judging.security")


def imports_of(source: str) -> list[tuple[int, str, str]]:
    """(line, module, name) for every import: `import a.b` gives ("a.b", ""), `from a import
    b` gives ("a", "b"). Relative imports are made absolute against nothing: the app uses
    none (ruff's ban-relative-imports keeps it so)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, node.module or "", alias.name) for alias in node.names]
    return found


def _within(module: str, name: str, packages: tuple[str, ...]) -> bool:
    full = f"{module}.{name}" if name else module
    return any(m == p or m.startswith(p + ".") for p in packages for m in (module, full))


def violations(source: str, forbidden: tuple[str, ...], names: tuple[str, ...] = ()) -> list:
    """The imports of `source` from a `forbidden` package, or of a forbidden `names` object
    (`from flask import request`)."""
    return [
        (line, module, name)
        for line, module, name in imports_of(source)
        if _within(module, name, forbidden) or (name and f"{module}.{name}" in names)
    ]


def modules(*relative: str) -> list[Path]:
    """The .py files of these parts of the package (a module or a package)."""
    files: list[Path] = []
    for part in relative:
        path = PACKAGE / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return [f for f in files if f.exists()]


def _report(files: list[Path], forbidden: tuple[str, ...], names: tuple[str, ...] = ()):
    return [
        f"{file.relative_to(PACKAGE.parent)}:{line}: imports {module}{'.' + name if name else ''}"
        for file in files
        for line, module, name in violations(file.read_text(), forbidden, names)
    ]


def test_models_import_no_services_and_no_blueprints():
    assert _report(modules("models"), ("judging.services", *BLUEPRINTS, *WEB_HELPERS)) == []


def test_services_import_no_blueprints_and_never_read_the_request():
    """Use cases take plain arguments and the acting user as a keyword: nothing of the web."""
    request_state = (
        "flask.request",
        "flask.session",
        "flask.g",
        "flask.flash",
        "flask_login.current_user",
    )
    assert _report(modules("services"), (*BLUEPRINTS, *WEB_HELPERS), request_state) == []


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_a_blueprint_imports_no_other_blueprint_but_the_shared_guards(blueprint):
    """auth/access.py holds the guards every blueprint shares; the admin's ceremony pages show
    the public results document (docs/architecture.md names both exceptions)."""
    allowed = {"judging.auth": (), "judging.admin": ("judging.public.views",)}
    others = tuple(b for b in BLUEPRINTS if b != blueprint)
    exceptions = ("judging.auth.access", *allowed.get(blueprint, ()))
    files = modules(blueprint.removeprefix("judging."))
    found = [
        line
        for line in _report(files, others)
        if not any(line.endswith(f"imports {e}") or f"imports {e}." in line for e in exceptions)
    ]
    assert found == []


def test_the_checker_finds_what_it_is_meant_to_find():
    """The rules above pass because nothing breaks them, not because the checker is blind."""
    source = (
        "import flask\n"
        "from flask import request\n"
        "from judging.admin.views import award\n"
        "from judging import services\n"
        "import judging.services.voting as voting\n"
    )
    assert [v[0] for v in violations(source, ("judging.admin",))] == [3]
    assert [v[0] for v in violations(source, ("judging.services",))] == [4, 5]
    assert [v[0] for v in violations(source, (), ("flask.request",))] == [2]
    assert violations("from judging.servicesx import y\n", ("judging.services",)) == []
