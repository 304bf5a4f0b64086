"""The contract in chatops/: the command table's completeness check, admin matching, error codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatops import errors
from chatops.admins import AdminEntryError, is_admin, normalise, normalise_all
from chatops.contract import COMMANDS, DEPLOYER, check_complete, served_by
from chatops.settings import SettingsError, load_settings
from deployer.settings import DeployerSettings
from gateway.settings import ConsoleSettings
from ops.settings import OpsSettings

NAMES = [c.name for c in COMMANDS]


def test_a_complete_table_passes_and_a_gap_or_stray_is_named() -> None:
    check_complete("handler", NAMES)
    with pytest.raises(ValueError, match=r"^no handler for sampling\.set$"):
        check_complete("handler", [n for n in NAMES if n != "sampling.set"])
    with pytest.raises(ValueError, match=r"renderer for unknown command weather\.get"):
        check_complete("renderer", [*NAMES, "weather.get"])
    with pytest.raises(ValueError, match=r"more than one renderer for audit\.list"):
        check_complete("renderer", [*NAMES, "audit.list"])


def test_every_table_keyed_by_command_is_complete_on_import() -> None:
    from deployer.handlers import HANDLERS as DEPLOYER_HANDLERS
    from gateway.commands.table import BY_COMMAND
    from ops.handlers import HANDLERS

    assert sorted([*HANDLERS, *DEPLOYER_HANDLERS]) == sorted(BY_COMMAND) == sorted(NAMES)
    assert set(DEPLOYER_HANDLERS) == {c.name for c in served_by(DEPLOYER)}
    assert all(spec.render is not None and spec.build is not None for spec in BY_COMMAND.values())


def test_a_bare_entry_is_a_slack_id_and_actors_match_in_full() -> None:
    assert normalise("U024BE7LH") == "slack:U024BE7LH"
    assert normalise(" slack:U1 ") == "slack:U1"
    assert normalise("console:alice") == "console:alice"
    assert is_admin("slack:U123", ("slack:U123",))
    assert is_admin("slack:U123", ("U123",))
    assert not is_admin("console:U123", ("U123",))  # a bare id is a Slack id, nothing else
    assert not is_admin("slack:U12", ("U123",)) and not is_admin("slack:U1234", ("slack:U123",))
    assert not is_admin("slack:U123", ())  # an empty list admits nobody
    assert not is_admin("anonymous", ("anonymous", "U1"))  # no namespace: never an admin
    assert not is_admin("slack:alice", ("alice",))  # not a Slack id: admits nobody
    assert normalise_all(["U1", "slack:U1", "console:bob", " "]) == ("slack:U1", "console:bob")
    for bad in ("alice", "slack:", "slack:U1 U2", "a:b:c"):
        with pytest.raises(AdminEntryError, match="neither an actor"):
            normalise(bad)


@pytest.mark.parametrize("settings", [OpsSettings, ConsoleSettings, DeployerSettings])
def test_chatops_admins_is_normalised_or_refused_naming_the_entry(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    settings: type[OpsSettings | ConsoleSettings | DeployerSettings],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHATOPS_ADMINS", "U0BOSS, slack:W0OTHER,console:root")
    assert load_settings(settings).CHATOPS_ADMINS == ("slack:U0BOSS", "slack:W0OTHER", "console:root")
    monkeypatch.setenv("CHATOPS_ADMINS", "U0BOSS,root")
    with pytest.raises(SettingsError, match=r"^configuration error: CHATOPS_ADMINS: 'root' is neither"):
        load_settings(settings)


def test_error_codes_have_one_meaning_each() -> None:
    assert sorted(errors.MEANINGS) == [400, 403, 404, 409, 500, 502, 503, 504]
    assert errors.meaning(errors.BACKEND_TIMEOUT) == "a backend timed out"
    assert errors.meaning(418) == "error 418"
