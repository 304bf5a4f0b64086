"""Instances as processes: started in a slot, found again by a deployer that lost track, stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from deployer.instances import ProcessRunner, Slot, StartFailed, build_info_version, instance_env
from deployer.manifest import load_manifest
from tools.harness.components import RELEASES
from tools.harness.deploys import Slots
from tools.harness.servers import env_with

MANIFEST = load_manifest(RELEASES)


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[tuple[ProcessRunner, Slot]]:
    slots = Slots.free(1)
    slot = Slot.parse("petstore", 0, slots.setting)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        env = env_with(OTEL_TRACES_EXPORTER="none", PETSTORE_SAMPLER="never")
        run = ProcessRunner(tmp_path / "state", http=http, start_timeout=30, env=env)
        try:
            yield run, slot
        finally:
            await run.stop(slot)


async def test_an_instance_left_without_its_record_is_found_and_stopped(
    runner: tuple[ProcessRunner, Slot],
) -> None:
    run, slot = runner
    release = MANIFEST.release("petstore", "0.2.0")
    assert release is not None
    await run.start(slot, release)
    started = await run.probe(slot)
    assert (started.version, started.healthy) == ("0.2.0", True) and started.pid and started.since_ns
    # A deployer killed between starting a process and writing its record: only the process is left.
    (run.state_dir / f"{slot.name}.json").unlink()
    found = await run.probe(slot)
    assert found.pid == started.pid and found.version == "0.2.0" and found.since_ns == 0
    await run.stop(slot)
    gone = await run.probe(slot)
    assert (gone.version, gone.pid) == ("", 0)


async def test_a_release_that_cannot_start_says_why(runner: tuple[ProcessRunner, Slot]) -> None:
    run, slot = runner
    release = MANIFEST.release("petstore", "0.1.0")
    assert release is not None
    run.env = {**run.env, "PETSTORE_SAMPLER": "sometimes"}  # the petstore refuses this setting
    with pytest.raises(StartFailed, match=r"petstore-1 exited with code 2 at 0\.1\.0: .*PETSTORE_SAMPLER"):
        await run.start(slot, release)


def test_an_instance_does_not_inherit_the_deployers_identity_or_settings() -> None:
    env = instance_env(
        {
            "PATH": "/usr/bin",
            "PETSTORE_SAMPLER": "never",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
            "NATS_CREDS": "/d/creds/deployer.creds",
            "NATS_NKEY_SEED_FILE": "/d/creds/deployer.nk",
            "CHATOPS_ADMINS": "U1",
            "DEPLOY_INSTANCES": "a/b",
            "SLACK_BOT_TOKEN": "xoxb-1",
        }
    )
    assert env == {
        "PATH": "/usr/bin",
        "PETSTORE_SAMPLER": "never",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    }


def test_the_version_is_read_from_build_info() -> None:
    page = '# HELP x\npetstore_build_info{commit="abc",version="0.2.0"} 1.0\npetstore_pets 3.0\n'
    assert build_info_version(page) == "0.2.0"
    assert build_info_version("petstore_pets 3.0\n") == ""
