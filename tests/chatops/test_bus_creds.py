"""NATS_CREDS against a real nats-server in operator mode (decentralised JWT auth, as a company that
runs its own NATS has it): `connect` with a credentials file, refusals, and the console asking ops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import nkeys
import pytest
from nats.aio.msg import Msg

from chatops.bus import BusUnreachable, connect, jetstream, settle
from chatops.settings import BusSettings, SettingsError
from ops.app import running as ops_running
from ops.settings import OpsSettings
from tools.harness.components import ops_env
from tools.harness.natsjwt import Key, OperatorNats, creds_text, user_jwt
from tools.harness.procs import python_m
from tools.harness.servers import running
from tools.harness.wait import eventually


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorNats]:
    """One operator-mode server for the module: its account has JetStream, its streams are provisioned
    (by a user connecting with its own credentials file)."""
    with running(OperatorNats(tmp_path_factory.mktemp("operator"))) as server:
        yield server


def creds_settings(bus: OperatorNats, path: Path) -> BusSettings:
    return BusSettings(NATS_URL=bus.url, NATS_CREDS=path)


async def test_two_processes_with_creds_files_exchange_requests_messages_and_reach_jetstream(
    bus: OperatorNats,
) -> None:
    server = await connect(bus.settings("alice"), "alice")
    client = await connect(bus.settings("bob"), "bob", reconnect=False)
    try:

        async def echo(msg: Msg) -> None:
            await msg.respond(b"echo:" + msg.data)

        await server.subscribe("creds.echo", cb=echo)
        events = await client.subscribe("creds.events")
        await settle(server)
        await settle(client)
        assert (await client.request("creds.echo", b"ping", timeout=5)).data == b"echo:ping"
        await server.publish("creds.events", b"one")
        assert (await events.next_msg(timeout=5)).data == b"one"
        info = await jetstream(client, bus.settings("bob")).account_info()
        assert info.streams >= 1  # the ones the provisioner made, seen from another user of the account
    finally:
        await client.close()
        await server.close()


def unknown_account(bus: OperatorNats, user: Key) -> str:
    return user_jwt(Key.new(nkeys.PREFIX_BYTE_ACCOUNT), user, "stranger")


def forged_signature(bus: OperatorNats, user: Key) -> str:
    # Claims the server's account as its issuer, but is signed by some other key.
    impostor = Key(Key.new(nkeys.PREFIX_BYTE_ACCOUNT).seed, bus.operator.account.public)
    return user_jwt(impostor, user, "forger")


@pytest.mark.parametrize("make_jwt", [unknown_account, forged_signature])
async def test_creds_the_operator_did_not_sign_are_refused_and_the_error_holds_no_seed(
    bus: OperatorNats,
    tmp_path: Path,
    make_jwt: Callable[[OperatorNats, Key], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = Key.new(nkeys.PREFIX_BYTE_USER)
    path = tmp_path / "bad.creds"
    path.write_text(creds_text(make_jwt(bus, user), user.seed))

    # A one-shot command gives up with the server's reason.
    with pytest.raises(BusUnreachable) as refused:
        await connect(creds_settings(bus, path), "console", reconnect=False)
    assert "Authorization Violation" in str(refused.value)
    assert user.seed not in str(refused.value)

    # A component keeps trying, and says why in its log.
    with caplog.at_level(logging.WARNING, logger="chatops.bus"):
        trying = asyncio.ensure_future(connect(creds_settings(bus, path), "gateway"))
        try:
            await eventually(lambda: "Authorization Violation" in caplog.text, timeout=10, what="a warning")
        finally:
            trying.cancel()
            with pytest.raises(asyncio.CancelledError):
                await trying
    assert "nats.error client=gateway" in caplog.text
    assert user.seed not in caplog.text


async def test_without_credentials_the_operator_mode_bus_refuses(bus: OperatorNats) -> None:
    with pytest.raises(BusUnreachable, match="Authorization Violation"):
        await connect(BusSettings(NATS_URL=bus.url), "console", reconnect=False)


async def test_a_creds_file_nats_py_would_choke_on_stops_connect_with_one_line(
    bus: OperatorNats, tmp_path: Path
) -> None:
    # nats-py raised a TypeError from inside its connect for this one (no seed block).
    user, token = bus.operator.user("half")
    path = tmp_path / "half.creds"
    path.write_text(creds_text(token, user.seed).split("\n\n")[0] + "\n")
    with pytest.raises(SettingsError) as stopped:
        await connect(creds_settings(bus, path), "ops")
    said = str(stopped.value)
    assert said == (
        f"configuration error: NATS_CREDS: {path} has no -----BEGIN USER NKEY SEED----- block: "
        "a credentials file holds the JWT and the seed"
    )

    # And a user's seed file given as NATS_CREDS (nats-py failed the same way), seed not repeated.
    path.write_text(user.seed + "\n")
    with pytest.raises(SettingsError, match="use NATS_NKEY_SEED_FILE for it") as stopped:
        await connect(creds_settings(bus, path), "ops")
    assert user.seed not in str(stopped.value)


async def test_the_console_asks_real_ops_each_connected_with_its_own_creds_file(
    bus: OperatorNats, tmp_path: Path
) -> None:
    settings = OpsSettings(**ops_env(tmp_path / "ops", bus))  # type: ignore[arg-type]
    assert settings.NATS_CREDS is not None and settings.NATS_NKEY_SEED_FILE is None
    async with ops_running(settings):
        # In a thread: this loop serves ops while the console asks it.
        done = await asyncio.to_thread(
            python_m,
            "chatops",
            "ask",
            "list",
            "traces",
            cwd=tmp_path,
            CHATOPS_COMMAND_TIMEOUT="20",
            **bus.env("console"),
        )
    assert done.returncode == 0, done.stderr
    assert "No traces match." in done.stdout
