"""Crash safety and concurrency: processes killed mid-write, readers and writers side by side.

Each crash test runs the registry in a subprocess that SIGKILLs itself at a chosen
step, then reopens the registry in this process and checks it.
"""

import signal
import time

import pytest

from tests.registry.conftest import assert_consistent, run_script, start_script
from vertical_tune.errors import RegistryError
from vertical_tune.registry import Registry

# argv: registry, operation (register RUN | promote VERSION | rollback), argument, crash point.
# Crash points: `none`, `after:MODULE.FUNCTION` (kill right after that function returns),
# `before_sql:PREFIX` (kill before a statement starting with PREFIX) and `before_commit`.
CRASH_SCRIPT = r"""
import contextlib, os, signal, sys
from vertical_tune.registry import Registry, aliases, artefacts, queries, store

registry_path, operation, argument, point = sys.argv[1:5]


def kill():
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after(function):
    def wrapper(*args, **kwargs):
        function(*args, **kwargs)
        kill()
    return wrapper


class KillingConnection:
    def __init__(self, connection, prefix):
        self._connection, self._prefix = connection, prefix

    def execute(self, sql, *args):
        if sql.startswith(self._prefix):
            kill()
        return self._connection.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._connection, name)


modules = {"aliases": aliases, "artefacts": artefacts, "queries": queries}
if point.startswith("after:"):
    module, name = point[len("after:"):].split(".")
    setattr(modules[module], name, kill_after(getattr(modules[module], name)))
elif point.startswith("before_sql:"):
    prefix, original_opened = point[len("before_sql:"):], store.opened

    @contextlib.contextmanager
    def opened(*args, **kwargs):
        with original_opened(*args, **kwargs) as connection:
            yield KillingConnection(connection, prefix)

    store.opened = opened
elif point == "before_commit":
    original_transaction = store.write_transaction

    @contextlib.contextmanager
    def write_transaction(connection):
        with original_transaction(connection):
            yield connection
            kill()

    store.write_transaction = write_transaction

registry = Registry(registry_path)
if operation == "register":
    registry.register(argument)
elif operation == "promote":
    registry.promote(int(argument))
elif operation == "rollback":
    registry.rollback()
"""

REGISTER_CRASH_POINTS = [
    "after:artefacts.copy_to_staging",
    "after:artefacts.publish",
    "before_sql:INSERT INTO versions",
    "after:queries.insert_version",
    "before_commit",
]
ALIAS_CRASH_POINTS = [
    "before_sql:INSERT INTO alias_history",
    "after:aliases.move_alias",
    "before_commit",
]


def crash(registry, operation, argument, point):
    result = run_script(CRASH_SCRIPT, registry.path, operation, argument, point)
    assert result.returncode == -signal.SIGKILL, result.stderr


@pytest.mark.parametrize("point", REGISTER_CRASH_POINTS)
def test_register_crash_keeps_champion(registry, run_factory, point):
    registry.register(run_factory())
    registry.promote(1)

    crash(registry, "register", run_factory(), point)

    reopened = Registry.open(registry.path)
    assert [info.version for info in reopened.versions()] == [1]
    assert reopened.get("champion").version == 1
    assert_consistent(reopened)
    leftovers = [entry.name for entry in reopened.models_dir.iterdir() if entry.name != "v1"]
    assert len(leftovers) == 1, leftovers
    assert [path.name for path in reopened.gc()] == leftovers
    assert [entry.name for entry in reopened.models_dir.iterdir()] == ["v1"]


@pytest.mark.parametrize("point", REGISTER_CRASH_POINTS[1:])
def test_register_after_crash_replaces_orphan(registry, run_factory, point):
    registry.register(run_factory())
    crash(registry, "register", run_factory(), point)
    run = run_factory()

    info = registry.register(run)

    assert info.version == 2
    assert (info.path / "model.keras").read_bytes() == (run / "model.keras").read_bytes()
    assert_consistent(registry)


@pytest.mark.parametrize("point", ALIAS_CRASH_POINTS)
def test_promote_crash_keeps_champion(registry, run_factory, point):
    registry.register(run_factory())
    registry.register(run_factory())
    registry.promote(1)

    crash(registry, "promote", 2, point)

    reopened = Registry.open(registry.path)
    assert reopened.aliases() == {"champion": 1}
    assert [change.version for change in reopened.alias_history("champion")] == [1]
    assert_consistent(reopened)
    assert reopened.promote(2).previous == 1


@pytest.mark.parametrize("point", ALIAS_CRASH_POINTS)
def test_rollback_crash_keeps_champion(registry, run_factory, point):
    registry.register(run_factory())
    registry.register(run_factory())
    registry.promote(1)
    registry.promote(2)

    crash(registry, "rollback", "-", point)

    reopened = Registry.open(registry.path)
    assert reopened.aliases() == {"champion": 2}
    assert len(reopened.alias_history("champion")) == 2
    assert reopened.rollback().version == 1


LOOP_SCRIPT = r"""
import sys
from vertical_tune.registry import Registry

registry = Registry(sys.argv[1])
print("ready", flush=True)
while True:
    info = registry.register(sys.argv[2])
    registry.promote(info.version)
"""


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.1, 0.25])
def test_kill_at_random_moment(registry, run_factory, delay):
    registry.register(run_factory())
    registry.promote(1)
    process = start_script(LOOP_SCRIPT, registry.path, run_factory())
    assert process.stdout.readline().strip() == "ready"
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()

    reopened = Registry.open(registry.path)
    assert_consistent(reopened)
    champion = reopened.get("champion")
    assert champion.version >= 1
    assert champion.version >= len(reopened.versions()) - 1
    reopened.gc()
    referenced = {info.path.name for info in reopened.versions()}
    assert {entry.name for entry in reopened.models_dir.iterdir()} == referenced


HOLD_LOCK_SCRIPT = r"""
import pathlib, sys, time
from vertical_tune.registry import Registry, queries

registry_path, run_dir, marker = sys.argv[1:4]
original = queries.insert_version


def insert_and_wait(*args, **kwargs):
    original(*args, **kwargs)
    pathlib.Path(marker).touch()
    time.sleep(3)


queries.insert_version = insert_and_wait
Registry(registry_path).register(run_dir)
"""


def test_reader_during_write(registry, run_factory, tmp_path):
    registry.register(run_factory())
    registry.promote(1)
    marker = tmp_path / "writer-holds-lock"
    writer = start_script(HOLD_LOCK_SCRIPT, registry.path, run_factory(), marker)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert writer.poll() is None, writer.stderr.read()
            assert time.monotonic() < deadline, "writer never reached its transaction"
            time.sleep(0.02)

        started = time.monotonic()
        versions = registry.versions()
        elapsed = time.monotonic() - started
        assert [info.version for info in versions] == [1]
        assert elapsed < 1.0
        assert registry.get("champion").version == 1
        assert (registry.models_dir / "v2").is_dir(), "the folder is renamed before the commit"
        with pytest.raises(RegistryError, match="locked by another process"):
            Registry(registry.path, timeout=0.1).promote(1)
    finally:
        assert writer.wait(timeout=30) == 0, writer.stderr.read()
        writer.stdout.close()
        writer.stderr.close()

    assert [info.version for info in registry.versions()] == [1, 2]
    assert_consistent(registry)


REGISTER_MANY_SCRIPT = r"""
import sys
from vertical_tune.registry import Registry

registry = Registry(sys.argv[1])
for _ in range(4):
    registry.register(sys.argv[2], note=sys.argv[3])
"""


def test_concurrent_writers_get_distinct_versions(run_factory, tmp_path):
    path = tmp_path / "created-by-both"
    writers = [start_script(REGISTER_MANY_SCRIPT, path, run_factory(), name) for name in ("a", "b")]
    for writer in writers:
        assert writer.wait(timeout=60) == 0, writer.stderr.read()
        writer.stdout.close()
        writer.stderr.close()

    registry = Registry.open(path)
    versions = registry.versions()
    assert [info.version for info in versions] == list(range(1, 9))
    assert sorted(info.note for info in versions) == ["a"] * 4 + ["b"] * 4
    assert_consistent(registry)
    assert registry.gc() == []


def test_threads_share_one_registry(registry, run_factory):
    from concurrent.futures import ThreadPoolExecutor

    runs = [run_factory() for _ in range(6)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        numbers = list(pool.map(lambda run: registry.register(run).version, runs))

    assert sorted(numbers) == list(range(1, 7))
    assert_consistent(registry)
