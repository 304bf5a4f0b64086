"""`chatops ask` and `chatops history`: the same grammar and renderer over a real bus and real ops."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatops.access.files import LOCAL_ROOT, AccessFiles
from chatops.stackstate import StackBus, state_path
from gateway.console import beside_stack, unreachable
from gateway.settings import ConsoleSettings
from ops.app import running
from petstore.client import PetstoreClient
from petstore.v1 import petstore_pb2 as pb
from tests.ops.conftest import ops_settings
from tools.harness.ports import free_port
from tools.harness.servers import NatsServer
from tools.harness.servers import running as server_running

ROOT = Path(__file__).resolve().parents[2]
# A line chatops.logs writes: time, level, component, logger, event.
LOG_LINE = re.compile(r"^\S+ \S+ ((?:DEBUG|INFO|WARNING|ERROR) console .*)$", re.MULTILINE)


async def chatops(
    nats: NatsServer | None,
    *args: str,
    admins: str = "",
    identity: bool = True,
    cwd: Path | None = None,
    gone: bool = False,
    **given: str,
) -> tuple[int, str, str]:
    """Run `python -m chatops …` without blocking the loop that serves ops: on `nats` as the console
    identity (only its URL without `identity`); with no `nats`, no NATS_* variable is set at all.
    LOG_LEVEL only when `given`, with any other variable. `gone`: `cwd` is removed as it starts."""
    bus = {} if nats is None else nats.env("console") if identity else {"NATS_URL": nats.url}
    outside = {k: v for k, v in os.environ.items() if not k.startswith("NATS_") and k != "LOG_LEVEL"}
    env = {**outside, **bus, "CHATOPS_ADMINS": admins, "CHATOPS_COMMAND_TIMEOUT": "20", **given}
    env["PYTHONPATH"] = str(ROOT)
    argv = (sys.executable, "-m", "chatops", *args)
    if gone:
        argv = ("sh", "-c", 'rmdir "$PWD" && exec "$@"', "sh", *argv)
    proc = await asyncio.create_subprocess_exec(
        *argv,
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


async def test_with_ops_stopped_the_console_says_ops_is_not_answering(tmp_path, nats_server):
    code, out, err = await chatops(nats_server, "ask", "deployed", "version", cwd=tmp_path)
    assert code == 1
    # Only the reply, at a terminal: no log line saying it again before it.
    assert err.startswith("`deployed version` failed: the Ops service is not answering."), err
    assert not LOG_LINE.search(out + err), err
    assert "Traceback" not in err
    # Logs go where LOG_LEVEL asks: at WARNING the failed command is a log line, then the reply.
    code, _, err = await chatops(nats_server, "ask", "deployed", "version", cwd=tmp_path, LOG_LEVEL="warning")
    assert code == 1
    [line] = LOG_LINE.findall(err)
    assert line.startswith("WARNING console gateway.flow command.failed command=version.get"), err
    assert "the Ops service is not answering" in err.split("\n", 1)[1]


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


@pytest.fixture
def tls_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server as `chatops up --tls` runs it: identities, TLS, a client certificate each."""
    with server_running(NatsServer(tmp_path / "tls-nats", identities=True, tls=True)) as server:
        yield server


def stack_beside(checkout: Path, server: NatsServer, url: str | None = None) -> Path:
    """A checkout as `chatops up` leaves it: its identities (and certificates) in .chatops, and the
    record of where its bus is (`url`, the server's unless given)."""
    assert server.files is not None
    root = checkout / LOCAL_ROOT
    shutil.copytree(server.files.root, root)
    bus = StackBus(url or server.url, tls=server.tls)
    state_path(root).write_text(json.dumps({"launcher_pid": 0, "healthy": True, **bus.to_state()}))
    return checkout


async def test_beside_a_tls_stack_on_its_own_port_the_console_needs_no_settings(tmp_path, tls_nats):
    checkout = stack_beside(tmp_path / "checkout", tls_nats)
    code, _, err = await chatops(None, "ask", "deployed", "version", cwd=checkout)
    assert code == 1
    assert "the Ops service is not answering" in err, err  # connected over TLS: only ops is missing


async def test_settings_given_win_over_the_stack_recorded_here(tmp_path, nats_server, tls_nats):
    # The checkout's record names the TLS bus; NATS_URL and the seed given name the plain one.
    checkout = stack_beside(tmp_path / "checkout", tls_nats)
    code, _, err = await chatops(nats_server, "ask", "deployed", "version", cwd=checkout)
    assert code == 1
    assert "the Ops service is not answering" in err, err  # no TLS files were forced on the plain bus


async def test_a_stack_recorded_here_that_stopped_is_named_in_the_error(tmp_path, nats_server):
    gone = f"nats://127.0.0.1:{free_port()}"
    checkout = stack_beside(tmp_path / "checkout", nats_server, url=gone)
    code, _, err = await chatops(None, "ask", "deployed", "version", cwd=checkout)
    assert code == 1
    assert f"cannot reach the bus at {gone} as .chatops/creds/console.nk" in err
    assert "recorded in .chatops/state.json; if that stack has stopped, start it again" in err
    assert "Traceback" not in err


async def test_run_from_a_folder_inside_the_checkout_the_console_finds_the_stack_above(tmp_path, nats_server):
    # A record from before `tls` and `admins` were recorded: a plain bus, no admins.
    checkout = stack_beside(tmp_path / "checkout", nats_server)
    state_path(checkout / LOCAL_ROOT).write_text(json.dumps({"healthy": True, "nats_url": nats_server.url}))
    deep = checkout / "gateway" / "slack"
    deep.mkdir(parents=True)
    code, _, err = await chatops(None, "ask", "deployed", "version", cwd=deep)
    assert code == 1
    assert "the Ops service is not answering" in err, err  # found the bus and the seed two folders up
    code, _, err = await chatops(None, "ask", "--as", "mallory", "change sampling always", cwd=deep)
    assert code == 3 and "Admins: nobody" in err, err  # no admins recorded: none


async def test_a_folder_with_no_stack_here_or_above_gets_the_message_saying_where_to_run_it(
    tmp_path, nats_server
):
    # A stack above the home does not count: the search stops at the home's parent.
    stack_beside(tmp_path, nats_server)
    home = tmp_path / "home" / "me"
    elsewhere = home / "notes"
    elsewhere.mkdir(parents=True)
    code, _, err = await chatops(
        nats_server, "ask", "deployed", "version", identity=False, cwd=elsewhere, HOME=str(home)
    )
    assert code == 1
    assert "cannot reach the bus" in err and "Authorization Violation" in err  # not the seed above
    assert (
        "run it in the checkout or a folder in it: it reads where the bus is from .chatops/state.json" in err
    )
    assert "Traceback" not in err


async def test_a_record_that_makes_no_sense_is_said_and_not_used(tmp_path, nats_server):
    checkout = stack_beside(tmp_path / "checkout", nats_server)
    record = {"nats_url": f"nats://127.0.0.1:{free_port()}", "tls": "yes"}
    state_path(checkout / LOCAL_ROOT).write_text(json.dumps(record))
    code, _, err = await chatops(nats_server, "ask", "deployed", "version", cwd=checkout)
    assert code == 1
    said = "chatops: .chatops/state.json has tls as a string, not true or false, so it is not used"
    assert err.startswith(said + "; `chatops up` writes it anew when it starts\n"), err
    assert "the Ops service is not answering" in err  # on the bus given, as if there were no record
    assert "Traceback" not in err


async def test_run_in_a_folder_that_is_gone_the_console_still_asks(tmp_path, nats_server):
    gone = tmp_path / "gone"
    gone.mkdir()
    code, _, err = await chatops(nats_server, "ask", "deployed", "version", cwd=gone, gone=True)
    assert not gone.exists()
    assert code == 1 and "the Ops service is not answering" in err, err  # no stack to find: asked
    assert "Traceback" not in err


def console_settings(**given: str) -> ConsoleSettings:
    return ConsoleSettings(**given)  # type: ignore[arg-type]


def test_what_is_not_set_comes_from_the_tls_stack_and_what_is_set_wins(tmp_path):
    files = AccessFiles(tmp_path, use_tls=True)
    files.seed("console").parent.mkdir()
    files.seed("console").write_text("SU…")
    stack = StackBus("tls://127.0.0.1:24222", tls=True)

    found = beside_stack(console_settings(), stack, tmp_path)
    assert stack.nats_url == found.NATS_URL
    assert files.seed("console") == found.NATS_NKEY_SEED_FILE
    assert files.ca == found.NATS_TLS_CA
    pair = files.cert("console")
    assert (pair.cert, pair.key) == (found.NATS_TLS_CERT, found.NATS_TLS_KEY)

    elsewhere = beside_stack(console_settings(NATS_URL="tls://bus.example:4222"), stack, tmp_path)
    assert elsewhere.NATS_URL == "tls://bus.example:4222"
    assert elsewhere.NATS_TLS_CA is None and elsewhere.NATS_TLS_CERT is None  # not the stack's bus

    given = beside_stack(
        console_settings(NATS_TLS_CA="/etc/ca.pem", NATS_CREDS="/etc/me.creds"), stack, tmp_path
    )
    assert stack.nats_url == given.NATS_URL
    assert Path("/etc/ca.pem") == given.NATS_TLS_CA and given.NATS_TLS_CERT is None
    assert Path("/etc/me.creds") == given.NATS_CREDS and given.NATS_NKEY_SEED_FILE is None


def test_with_no_admins_set_the_console_knows_the_stacks_and_set_ones_win(tmp_path):
    stack = StackBus("nats://127.0.0.1:4222", admins=("slack:U0ADMIN", "console:alice"))
    assert stack.admins == beside_stack(console_settings(), stack, tmp_path).CHATOPS_ADMINS
    given = beside_stack(console_settings(CHATOPS_ADMINS="console:bob"), stack, tmp_path)
    assert given.CHATOPS_ADMINS == ("console:bob",)


def test_with_no_stack_recorded_the_settings_are_as_given(tmp_path):
    assert beside_stack(console_settings(), None, tmp_path) == console_settings()


def test_the_error_says_what_to_set_for_a_tls_bus():
    settings = console_settings(NATS_URL="tls://bus.example:4222")
    said = unreachable(settings, "SSLError: certificate required")
    assert "cannot reach the bus at tls://bus.example:4222 with no identity" in said
    assert "NATS_TLS_CA, NATS_TLS_CERT and NATS_TLS_KEY" in said and "--tls" in said


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

        # The words of chat work too, and the grammar's own usage answers a wrong one.
        code, chat_out, err = await chatops(nats_server, "history", "limit=10", "command=sampling")
        assert code == 0, err
        assert chat_out.count("sampling.set") == out.count("sampling.set")
        code, _, err = await chatops(nats_server, "history", "limt=10")
        assert code == 2 and "limt" in err and "history [limit=N]" in err
