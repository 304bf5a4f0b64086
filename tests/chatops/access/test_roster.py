"""`chatops roster`: the roster for an operator-managed NATS, from users' credentials files or JWTs."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatops.access.roster import Entry, EntryError, main
from chatops.cli import main as chatops_main
from chatops.identity import Member, Roster, resolve
from tools.harness.natsjwt import Operator, creds_text


@pytest.fixture(scope="module")
def operator() -> Operator:
    return Operator.new()


def test_a_creds_file_and_a_jwt_alone_give_the_keys_the_server_stamps(
    operator: Operator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = operator.write_creds(tmp_path / "gw.creds", "gateway")
    bot_user, bot_jwt = operator.user("deploybot")
    (tmp_path / "bot.jwt").write_text(bot_jwt + "\n")
    out = tmp_path / "identities.json"

    code = chatops_main(
        ["roster", str(out), f"gateway={tmp_path / 'gw.creds'}", f"deploybot={tmp_path / 'bot.jwt'}"]
    )

    assert code == 0
    account = operator.account.public
    assert Roster.load(out).members == (
        Member("gateway", account, gateway.public, "slack"),  # the access table's namespace for it
        Member("deploybot", account, bot_user.public, ""),
    )
    printed = capsys.readouterr().out
    assert gateway.seed not in printed + out.read_text()
    assert "CHATOPS_IDENTITIES" in printed and "deploybot    account" in printed


def test_speaks_for_is_given_or_taken_away_but_never_the_identities_own_namespace() -> None:
    assert Entry.parse("gateway=g.creds") == Entry("gateway", "slack", Path("g.creds"))
    assert Entry.parse("gateway:=g.creds").speaks_for == ""
    assert Entry.parse("pagerbot:pager=p.jwt") == Entry("pagerbot", "pager", Path("p.jwt"))
    # nats:… are the identities themselves: a sender speaking for them could claim to be any of them.
    for bad, said in (
        ("bot:nats=b.creds", "not a namespace it may speak for"),
        ("bot:Slack=b.creds", "not a namespace it may speak for"),
        ("bot.creds", "write NAME[:SPEAKS_FOR]=FILE"),
        ("bot=", "write NAME[:SPEAKS_FOR]=FILE"),
        ("Bot=b.creds", "a name is lower-case"),
    ):
        with pytest.raises(EntryError) as refused:
            Entry.parse(bad)
        assert str(refused.value).startswith(f"{bad!r}: ") and said in str(refused.value)
    # The roster's namespaces are what `resolve` lets a sender claim.
    member = Member("pagerbot", "A", "U", "pager")
    assert resolve("pager:ann", member).actor == "pager:ann"
    assert resolve("slack:U0ADMIN", member).actor == "nats:pagerbot"


def test_a_file_that_names_no_user_or_a_user_twice_writes_nothing(
    operator: Operator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user, token = operator.user("gateway")
    (tmp_path / "gw.creds").write_text(creds_text(token, user.seed))
    (tmp_path / "account.jwt").write_text(operator.server_config(4222, tmp_path).split("resolver_preload")[0])
    (tmp_path / "seed.nk").write_text(user.seed + "\n")
    out = tmp_path / "identities.json"
    cases = {
        "account.jwt": "is neither a NATS credentials file nor a user JWT",
        "seed.nk": "holds an nkey seed alone",
        "missing.creds": "cannot be read (No such file or directory)",
    }
    for name, said in cases.items():
        assert main([str(out), f"bot={tmp_path / name}"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"chatops roster: {tmp_path / name}: ") and said in err, err
        assert user.seed not in err

    assert main([str(out), f"gateway={tmp_path / 'gw.creds'}", f"console={tmp_path / 'gw.creds'}"]) == 2
    assert f"its user key {user.public} is listed twice" in capsys.readouterr().err
    assert not out.exists()
