"""The tests' fixtures, one module each for the database engines, the application, the domain's
rows, finished scoring and votes, real mail and the real browser: see tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.engines",
    "tests.fixtures.app",
    "tests.fixtures.domain",
    "tests.fixtures.results",
    "tests.fixtures.mail",
    "tests.fixtures.browser",
]
