"""Checking a NATS credentials file: each way it can be wrong gets one sentence, never the seed."""

from __future__ import annotations

import time
from pathlib import Path

import nkeys
import pytest

from chatops.natscreds import CredsError, check, parse, seed_public_key
from tools.harness.natsjwt import Key, Operator, account_jwt, creds_text, sign

NOW = time.time()
OPERATOR = Operator.new()
USER, TOKEN = OPERATOR.user("alice")
GOOD = creds_text(TOKEN, USER.seed)


def refusal(text: str, now: float = NOW) -> str:
    with pytest.raises(CredsError) as info:
        parse(text, now=now)
    said = str(info.value)
    assert USER.seed not in said and USER.seed[:20] not in said
    return said


def test_a_file_in_the_layout_nsc_writes_names_its_user_and_account() -> None:
    creds = parse(GOOD, now=NOW)
    assert creds.user == USER.public
    assert creds.account == OPERATOR.account.public
    assert creds.name == "alice"
    assert creds.expires is None


def test_an_nkey_seed_file_given_as_creds_is_pointed_at_the_right_variable() -> None:
    assert "use NATS_NKEY_SEED_FILE for it" in refusal(USER.seed + "\n")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no -----BEGIN NATS USER JWT----- block"),
        ("hello\n", "no -----BEGIN NATS USER JWT----- block"),
        (GOOD.split("\n\n", 1)[1], "no -----BEGIN NATS USER JWT----- block"),  # nats-py looped forever
        (GOOD.split("\n\n")[0] + "\n", "no -----BEGIN USER NKEY SEED----- block"),
        (GOOD.replace("------END NATS USER JWT------\n", ""), "broken NATS USER JWT block"),
        (GOOD.replace("\n", "\r\n"), "Windows line endings (CRLF)"),
        (GOOD.replace(TOKEN, "not-a-jwt"), "not a JWT"),
        (GOOD.replace(TOKEN, "a.!!!.c"), "claims cannot be read"),
        (GOOD.replace(USER.seed, "SUNOTASEED"), "holds no valid nkey seed"),
    ],
)
def test_a_file_nats_py_would_misread_is_refused_with_what_is_wrong(text: str, reason: str) -> None:
    assert reason in refusal(text)


def test_a_seed_of_another_user_is_refused_naming_both_public_keys() -> None:
    other = Key.new(nkeys.PREFIX_BYTE_USER)
    said = refusal(creds_text(TOKEN, other.seed))
    assert f"holds the seed of {other.public}, but its JWT is for user {USER.public}" in said
    assert other.seed not in said


def test_an_account_seed_or_an_account_jwt_is_not_a_users() -> None:
    assert "not a user's" in refusal(creds_text(TOKEN, OPERATOR.account.seed))
    jwt = account_jwt(OPERATOR.operator, OPERATOR.account, "CHATOPS")
    assert "JWT of type 'account', not a user's" in refusal(creds_text(jwt, USER.seed))


def test_an_expired_user_jwt_says_when_it_expired() -> None:
    user, token = OPERATOR.user("late", expires=1_700_000_000)
    with pytest.raises(CredsError, match="expired at 2023-11-14 22:13:20Z: ask for new credentials"):
        parse(creds_text(token, user.seed), now=NOW)
    user, token = OPERATOR.user("soon", expires=int(NOW) + 3600)
    assert parse(creds_text(token, user.seed), now=NOW).expires == int(NOW) + 3600


def test_a_jwt_of_no_nats_kind_is_refused() -> None:
    jwt = sign(OPERATOR.account, USER.public, "x", {"type": "user"}).split(".")
    plain = ".".join([jwt[0], "eyJzdWIiOiJ4In0", jwt[2]])  # {"sub":"x"}: no nats claims
    assert "without NATS claims" in refusal(creds_text(plain, USER.seed))


def test_a_missing_or_binary_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(CredsError, match=r"cannot be read \(No such file or directory\)"):
        check(tmp_path / "nope.creds", now=NOW)
    binary = tmp_path / "binary.creds"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CredsError, match=r"not a NATS credentials file \(not text\)"):
        check(binary, now=NOW)


def test_a_seed_file_holds_one_user_seed_and_nothing_else() -> None:
    assert seed_public_key(f"{USER.seed}\n") == USER.public
    with pytest.raises(CredsError, match="not a user's"):
        seed_public_key(OPERATOR.account.seed)
    with pytest.raises(CredsError, match="use NATS_CREDS for it"):
        seed_public_key(GOOD)
