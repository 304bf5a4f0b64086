"""`chatops petstore` client commands and demo, run as processes against a running petstore."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from petstore.demo import DemoConfig, bundled_names, run_demo
from petstore.model import PetKind, SearchFilter
from tests.petstore.conftest import Live
from tools.harness.petstore import Petstore
from tools.harness.ports import free_port
from tools.harness.servers import env_with

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def cli(addr: str, *args: str, module: str = "petstore", **env: str) -> subprocess.CompletedProcess[str]:
    prefix = [sys.executable, "-m", module] + (["petstore"] if module == "chatops" else [])
    return subprocess.run(
        [*prefix, *args],
        env=env_with(PETSTORE_ADDR=addr, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_add_search_update_delete_print_tables(petstore: Petstore) -> None:
    added = cli(petstore.addr, "add", "Rex", "dog", "2019-04-01", module="chatops")
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[0].split() == ["id", "name", "type", "birthday"]
    (rex_id,) = UUID.findall(added.stdout)
    assert "Rex" in added.stdout and "canine" in added.stdout and "2019-04-01" in added.stdout

    assert cli(petstore.addr, "add", "--trace", "Tom", "feline", "2020-06-15").returncode == 0
    found = cli(petstore.addr, "search", "--type", "dog", "--type", "cat")
    assert found.returncode == 0, found.stderr
    assert [line.split()[1] for line in found.stdout.splitlines()[2:]] == ["Rex", "Tom"]

    updated = cli(petstore.addr, "update", rex_id, "Rex", "dog", "2019-05-01")
    assert updated.returncode == 0, updated.stderr
    by_date = cli(petstore.addr, "search", "--born-from", "2019-05-01", "--born-to", "2019-05-01")
    assert rex_id in by_date.stdout

    assert cli(petstore.addr, "delete", rex_id).returncode == 0
    assert "no pets match" in cli(petstore.addr, "search", "--name", "Rex").stdout


def test_errors_are_one_clear_line_and_a_failing_exit(petstore: Petstore) -> None:
    no_filter = cli(petstore.addr, "search")
    assert no_filter.returncode == 1
    assert "INVALID_ARGUMENT: filter:" in no_filter.stderr
    assert "Traceback" not in no_filter.stderr
    missing = cli(petstore.addr, "delete", "00000000-0000-4000-8000-000000000000")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr
    bad_type = cli(petstore.addr, "add", "Rex", "hamster", "2019-01-01")
    assert bad_type.returncode == 2 and "unknown pet type 'hamster'" in bad_type.stderr
    bad_date = cli(petstore.addr, "add", "Rex", "dog", "2019-02-30")
    assert bad_date.returncode == 2 and "is not a date" in bad_date.stderr


def test_sampler_show_and_switch(petstore: Petstore) -> None:
    shown = cli(petstore.addr, "sampler")
    assert shown.returncode == 0 and "float:0.1" in shown.stdout
    switched = cli(petstore.addr, "sampler", "always")
    assert switched.returncode == 0, switched.stderr
    assert switched.stdout.splitlines()[2].split() == ["float:0.1", "always"]
    refused = cli(petstore.addr, "sampler", "float:1.5")
    assert refused.returncode == 2 and "(0, 1]" in refused.stderr
    assert "always" in cli(petstore.addr, "sampler").stdout


def test_unreachable_petstore_says_so(tmp_path: Path) -> None:
    result = cli(f"127.0.0.1:{free_port()}", "search", "--name", "x", "--timeout", "5")
    assert result.returncode == 1
    assert "cannot reach the petstore" in result.stderr


def test_bad_settings_name_the_variable() -> None:
    result = cli("127.0.0.1:6742", "serve", module="chatops", PETSTORE_SAMPLER="sometimes")
    assert result.returncode == 2
    assert "PETSTORE_SAMPLER" in result.stderr and "Traceback" not in result.stderr
    result = cli("nowhere", "search", "--name", "x", module="chatops")
    assert result.returncode == 2 and "PETSTORE_ADDR" in result.stderr


def test_demo_command_runs_for_its_duration_and_reports(petstore: Petstore) -> None:
    result = cli(petstore.addr, "demo", "--rate", "10", "--duration", "2", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "add OK" in result.stdout and "search OK" in result.stdout


async def test_demo_load_makes_adds_searches_and_errors(live: Live) -> None:
    outcomes = await run_demo(live.client, DemoConfig(rate=200, duration=1.0, seed=7), asyncio.Event())
    assert outcomes["add OK"] >= 8
    assert outcomes["search OK"] >= 8
    assert outcomes["malformed INVALID_ARGUMENT"] + outcomes["malformed NOT_FOUND"] >= 2
    errored = [s for s in live.rpc_spans() if s.status.status_code.name == "ERROR"]
    assert errored, "the demo should leave traces with errors"
    names = set(bundled_names())
    assert len(names) >= 50
    assert {p.name for p in live.server.store.search(SearchFilter(kinds=frozenset(PetKind)))} <= names
