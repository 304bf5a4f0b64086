"""The nats-server configuration for the access table: accounts, nkey users, permissions, exports, imports;
and, for a node of a cluster, its routes. Every node of a cluster gets the same accounts from here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chatops.access.table import (
    IDENTITIES,
    OWN_JS_API,
    READONLY_ACCOUNT,
    SERVICE_JS_API,
    STREAMS_ACCOUNT,
    Identity,
    commands_of,
    discovery_subjects,
    grants,
    refusal_subjects,
    refused_subject,
    service_subjects,
    services,
    stream_subjects,
)
from chatops.subjects import covers


@dataclass(frozen=True)
class TlsFiles:
    """The server's certificate and key, and the CA that signs every client certificate."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class ClusterOptions:
    """A node's routes: where it listens for the other nodes, where they listen, and the route login.

    Every node lists every node's route address, its own included (nats-server ignores a route to
    itself), so the nodes' configs differ only in what is theirs. `tls`: routes are TLS too, each
    node showing a certificate the CA signed for both ends of a connection.
    """

    name: str
    port: int
    routes: tuple[str, ...]  # host:port of every node's route listener
    user: str
    password: str
    tls: TlsFiles | None = None

    def __post_init__(self) -> None:
        if len(self.routes) < 2:
            raise ValueError("a cluster has at least two nodes")


@dataclass(frozen=True)
class ServerOptions:
    """Where and how one nats-server runs; the accounts come from the table."""

    host: str
    port: int
    store_dir: Path
    server_name: str
    http_port: int = 0  # the monitoring endpoint (/healthz), off when 0
    tls: TlsFiles | None = None
    cluster: ClusterOptions | None = None


def _permissions(identity: Identity) -> dict[str, Any]:
    g = grants(identity)
    perms: dict[str, Any] = {
        "publish": {"allow": list(g.publish), "deny": list(g.deny_publish)},
        "subscribe": {"allow": list(g.subscribe)},
    }
    if g.deny_subscribe:
        perms["subscribe"]["deny"] = list(g.deny_subscribe)
    if g.responds:
        perms["allow_responses"] = True
    return perms


def _user(identity: Identity, keys: Mapping[str, str]) -> dict[str, Any]:
    return {"nkey": keys[identity.name], "permissions": _permissions(identity)}


def _service_account(identity: Identity, keys: Mapping[str, str]) -> dict[str, Any]:
    """A service's own account: it exports its commands, refusals and discovery; imports its streams."""
    assert identity.service is not None
    g = grants(identity)
    both = [STREAMS_ACCOUNT, READONLY_ACCOUNT]
    exports: list[dict[str, Any]] = [
        {"service": s, "accounts": both} for s in service_subjects(identity.service)
    ]
    exports += [{"service": s, "accounts": [READONLY_ACCOUNT]} for s in refusal_subjects(identity.service)]
    exports += [
        {"service": s, "accounts": both, "response_type": "stream"}
        for s in discovery_subjects(identity.service)
    ]
    exports += _follow_exports(identity.account)
    imports: list[dict[str, Any]] = [
        {
            "service": {"account": STREAMS_ACCOUNT, "subject": f"{OWN_JS_API}.{api}"},
            "to": f"{SERVICE_JS_API}.{api}",
        }
        for api in g.api
    ]
    imports += [{"service": {"account": STREAMS_ACCOUNT, "subject": s}} for s in g.stream_subjects]
    return {"users": [_user(identity, keys)], "exports": exports, "imports": imports}


def _service_imports(readonly: bool) -> list[dict[str, Any]]:
    """Every service's commands (with the sender's identity shared) and discovery, as one account sees
    them; a read-only account gets a changing command delivered to the service's refusal subject."""
    imports: list[dict[str, Any]] = []
    for identity in services():
        assert identity.service is not None
        service, account = identity.service, identity.account
        if not readonly:
            imports += [
                {"service": {"account": account, "subject": s}, "share": True}
                for s in service_subjects(service)
            ]
        else:
            for command in commands_of(service):
                if command.changes:
                    remote = {"account": account, "subject": refused_subject(command.subject)}
                    imports.append({"service": remote, "to": command.subject, "share": True})
                else:
                    imports.append(
                        {"service": {"account": account, "subject": command.subject}, "share": True}
                    )
        imports += [{"service": {"account": account, "subject": s}} for s in discovery_subjects(service)]
    return imports


def _streams_account(keys: Mapping[str, str]) -> dict[str, Any]:
    """CHATOPS: JetStream and the identities that use it; it exports to each service what that
    service's entry grants, and to READONLY the subjects read-only identities follow."""
    users = [_user(i, keys) for i in IDENTITIES if i.account == STREAMS_ACCOUNT]
    exports: list[dict[str, Any]] = []
    for identity in services():
        g = grants(identity)
        to = [identity.account]
        for api in g.api:
            export: dict[str, Any] = {"service": f"{OWN_JS_API}.{api}", "accounts": to}
            if api.startswith("CONSUMER.MSG.NEXT."):
                export["response_type"] = "stream"  # a fetch answers with many messages
            exports.append(export)
        exports += [{"service": s, "accounts": to} for s in g.stream_subjects]
    exports += _follow_exports(STREAMS_ACCOUNT)
    return {"jetstream": "enabled", "users": users, "exports": exports, "imports": _service_imports(False)}


def _followed() -> dict[str, list[tuple[str, str]]]:
    """Each subject read-only identities follow -> where it is published, as (account, subject): the
    accounts of those who append to its stream, the whole subject, and of those who append on single
    subjects of it, those subjects only (a message that crossed a service import is not passed on
    again, so each is followed where it is first published)."""
    stores = stream_subjects()
    found: dict[str, list[tuple[str, str]]] = {}
    for subject in dict.fromkeys(s for i in IDENTITIES if i.account == READONLY_ACCOUNT for s in i.follows):
        sources = [(i.account, subject) for i in IDENTITIES for st in i.appends if subject in stores[st]]
        sources += [(i.account, s) for i in IDENTITIES for s in i.appends_on if covers(subject, s)]
        found[subject] = list(dict.fromkeys(sources)) or [(STREAMS_ACCOUNT, subject)]
    return found


def _follow_exports(account: str) -> list[dict[str, Any]]:
    subjects = (s for sources in _followed().values() for source, s in sources if source == account)
    return [{"stream": s, "accounts": [READONLY_ACCOUNT]} for s in dict.fromkeys(subjects)]


def _readonly_account(keys: Mapping[str, str]) -> dict[str, Any]:
    """READONLY: tools that may change nothing; they follow the streams' subjects as they happen."""
    users = [_user(i, keys) for i in IDENTITIES if i.account == READONLY_ACCOUNT]
    imports = _service_imports(True)
    imports += [
        {"stream": {"account": source, "subject": subject}}
        for sources in _followed().values()
        for source, subject in sources
    ]
    return {"users": users, "imports": imports}


def document(options: ServerOptions, keys: Mapping[str, str]) -> dict[str, Any]:
    """The whole configuration as data; `keys` maps each identity's name to its public nkey."""
    missing = [i.name for i in IDENTITIES if i.name not in keys]
    if missing:
        raise ValueError(f"no public key for {', '.join(missing)}")
    accounts = {STREAMS_ACCOUNT: _streams_account(keys), READONLY_ACCOUNT: _readonly_account(keys)}
    for identity in services():
        accounts[identity.account] = _service_account(identity, keys)
    doc: dict[str, Any] = {
        "server_name": options.server_name,
        "host": options.host,
        "port": options.port,
        "jetstream": {"store_dir": str(options.store_dir)},
        "accounts": accounts,
    }
    if options.http_port:
        doc["http"] = f"{options.host}:{options.http_port}"
    if options.tls is not None:
        doc["tls"] = _tls(options.tls)  # every client shows a certificate signed by the CA
    if options.cluster is not None:
        doc["cluster"] = _cluster(options.host, options.cluster)
    return doc


def _tls(files: TlsFiles) -> dict[str, Any]:
    return {
        "cert_file": str(files.cert),
        "key_file": str(files.key),
        "ca_file": str(files.ca),
        "verify": True,
        "timeout": 5,
    }


def _cluster(host: str, cluster: ClusterOptions) -> dict[str, Any]:
    """The `cluster` block: JetStream replicates over these routes, so every node needs every other."""
    scheme = "nats-route"
    login = f"{quote(cluster.user, safe='')}:{quote(cluster.password, safe='')}"
    block: dict[str, Any] = {
        "name": cluster.name,
        "host": host,
        "port": cluster.port,
        # Only a node that knows the route login joins: the accounts travel over these connections.
        "authorization": {"user": cluster.user, "password": cluster.password, "timeout": 2},
        "routes": [f"{scheme}://{login}@{route}" for route in cluster.routes],
    }
    if cluster.tls is not None:
        block["tls"] = _tls(cluster.tls)
    return block


def render(options: ServerOptions, keys: Mapping[str, str]) -> str:
    """The configuration file's text (nats-server reads JSON; quoted strings keep `$JS…` literal)."""
    header = "# Generated by `chatops access` from chatops/access/table.py; do not edit.\n"
    return header + json.dumps(document(options, keys), indent=2) + "\n"
