"""`chatops ask` and `chatops history`: the same grammar and renderer over a real bus and real ops."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from ops.app import running
from petstore.client import PetstoreClient
from petstore.v1 import petstore_pb2 as pb
from tests.ops.conftest import ops_settings
from tools.harness.servers import NatsServer, env_with

ROOT = Path(__file__).resolve().parents[2]


async def chatops(
    nats: NatsServer, *args: str, admins: str = "", identity: bool = True, cwd: Path | None = None
) -> tuple[int, str, str]:
    """Run `python -m chatops …` without blocking the loop that serves ops (as the console identity)."""
    bus = nats.env("console") if identity else {"NATS_URL": nats.url}
    env = env_with(**bus, CHATOPS_ADMINS=admins, CHATOPS_COMMAND_TIMEOUT="20", PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def nats_server(secure_nats: NatsServer) -> NatsServer:
    """The console connects as its identity, which may speak for console: actors."""
    return secure_nats


async def test_with_ops_stopped_the_console_says_ops_is_not_answering(nats_server):
    code, _, err = await chatops(nats_server, "ask", "deployed", "version")
    assert code == 1
    assert "the Ops service is not answering" in err
    assert "Traceback" not in err


async def test_without_an_identity_the_console_says_what_to_set_instead_of_waiting(tmp_path, nats_server):
    code, _, err = await chatops(nats_server, "ask", "deployed", "version", identity=False, cwd=tmp_path)
    assert code == 1
    assert "cannot reach the bus" in err and "Authorization Violation" in err
    assert "NATS_NKEY_SEED_FILE" in err and ".chatops/creds/console.nk" in err
    assert "Traceback" not in err


async def test_run_from_the_local_stacks_checkout_the_console_finds_its_identity(tmp_path, nats_server):
    # `chatops up` writes the console's seed to .chatops/creds/; nothing else is set.
    creds = tmp_path / ".chatops" / "creds"
    creds.mkdir(parents=True)
    shutil.copy(nats_server.env("console")["NATS_NKEY_SEED_FILE"], creds / "console.nk")
    code, _, err = await chatops(nats_server, "ask", "deployed", "version", identity=False, cwd=tmp_path)
    assert code == 1
    assert "the Ops service is not answering" in err  # connected and asked: only ops is missing
    assert "nats.disconnected" not in err  # closing its own connection is not a warning


async def test_usage_errors_and_help_need_no_ops(nats_server):
    code, _, err = await chatops(nats_server, "ask", "lsit", "traces")
    assert code == 2 and "Did you mean `list traces`?" in err
    code, out, _ = await chatops(nats_server, "ask", "help")
    assert code == 0 and "*change sampling*: Switch the petstore" in out


async def test_console_reads_changes_and_refuses_through_real_ops(tmp_path, nats_server, petstore):
    # Ops checks the same list as the console: it refuses changes when its own list is empty.
    settings = ops_settings(
        tmp_path / "ops", nats_server, PETSTORE_ADDR=petstore.addr, CHATOPS_ADMINS=("console:root",)
    )
    async with running(settings):
        code, out, err = await chatops(nats_server, "ask", "show", "sampling")
        assert code == 0, err
        assert "float 0.1" in out

        code, _, err = await chatops(
            nats_server, "ask", "--as", "mallory", "change sampling always", admins="console:root"
        )
        assert code == 3
        assert "only admins may run it" in err and "console:root" in err

        code, _, err = await chatops(
            nats_server, "ask", "--as", "root", "change sampling always", admins="console:root"
        )
        assert code == 2 and "--yes" in err
        async with PetstoreClient(petstore.addr) as client:
            assert (await client.get_sampler()).type == pb.SAMPLER_TYPE_FLOAT

        code, out, err = await chatops(
            nats_server, "ask", "--as", "root", "--yes", "change sampling always", admins="console:root"
        )
        assert code == 0, err
        assert "Sampling changed from float 0.1 to always." in out
        async with PetstoreClient(petstore.addr) as client:
            assert (await client.get_sampler()).type == pb.SAMPLER_TYPE_ALWAYS

        code, out, err = await chatops(nats_server, "history", "--limit", "10", "--command", "sampling")
        assert code == 0, err
        assert "console:root" in out or "root" in out
        assert "error 403" in out  # mallory's refusal: the console said no, ops recorded it
        assert "sampling.set" in out
