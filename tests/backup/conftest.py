"""pytest configuration of the backup → wipe → restore proof.

Run through scripts/test-backup.sh, which starts the servers, prepares the
database and passes its environment (see backup_helpers.py); the scenario
itself is tests/backup/test_backup_restore.py.
"""

import functools

import pytest

from backup_helpers import FINGERPRINTS, UPLOADED_FILES, Settings, StepFailed, list_tables

# Lines printed at the end of the run (what was backed up), filled by the steps.
SUMMARY = []

# Steps (module-scoped fixtures) that failed, already reported as an error.
_FAILED_STEPS = []


@functools.lru_cache(maxsize=None)
def _settings():
    return Settings.from_environment()


@functools.lru_cache(maxsize=None)
def _catalog_tables():
    # Listed from the catalog of the migrated, seeded database, at collection
    # time, so that every per-table check is named after its table.
    tables = list_tables(_settings())
    if not tables:
        raise RuntimeError("the database has no table: did `nexus-api migrate` run?")
    return tables


def pytest_generate_tests(metafunc):
    if "table" in metafunc.fixturenames:
        metafunc.parametrize("table", _catalog_tables())
    if "fingerprint" in metafunc.fixturenames:
        metafunc.parametrize("fingerprint", list(FINGERPRINTS))
    if "uploaded" in metafunc.fixturenames:
        metafunc.parametrize("uploaded", list(UPLOADED_FILES))


@pytest.fixture(scope="session")
def settings():
    return _settings()


@pytest.fixture(scope="session")
def summary():
    return SUMMARY


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("scripts/test-backup.sh")
        for line in SUMMARY:
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A step that cannot be carried out is reported once, as an ERROR with its
    traceback, at the first test that needs it. pytest re-raises the same
    exception for every later test that needs the step: those are reported as
    skipped, naming the step's failure, instead of repeating the traceback.
    (They never pass, and the run fails because of the first error.)"""
    outcome = yield
    report = outcome.get_result()
    if call.when != "setup" or call.excinfo is None or not call.excinfo.errisinstance(StepFailed):
        return
    failure = call.excinfo.value
    for seen, (path, lineno, first) in _FAILED_STEPS:
        if failure is seen:
            report.outcome = "skipped"
            reason = str(failure).splitlines()[0]
            report.longrepr = (path, lineno, f"Skipped: needs a step that failed at {first}: {reason}")
            return
    path, lineno, name = item.location
    _FAILED_STEPS.append((failure, (path, (lineno or 0) + 1, name)))
