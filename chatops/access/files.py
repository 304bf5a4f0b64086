"""Everything a bus with identities needs, in one folder: the nats-server config, a seed per identity,
the roster services read, and with TLS a local CA and certificates. Made once, kept across runs.

    <root>/nats.conf           the server's configuration (accounts, users, permissions); in a
                               cluster node 1's, and nats-2.conf, nats-3.conf, … the other nodes'
    <root>/creds/route.secret  in a cluster: the password nodes log in to each other's routes with
    <root>/identities.json     the roster: each identity's public key (CHATOPS_IDENTITIES for ops)
    <root>/creds/<name>.nk     each identity's nkey seed, 0600 (NATS_NKEY_SEED_FILE)
    <root>/tls/ca.pem          with TLS: the CA (NATS_TLS_CA); server.pem and <name>.pem, each with a
                               0600 key beside it (NATS_TLS_CERT, NATS_TLS_KEY)
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chatops.access import config, keys, tls
from chatops.access.table import IDENTITIES, SERVICE_JS_API, identity
from chatops.identity import Member, Roster

CONFIG = "nats.conf"
ROSTER = "identities.json"
CREDS = "creds"
# Where `chatops up` (so `make demo`) writes them, and its other state, unless --data-dir says otherwise.
LOCAL_ROOT = Path(".chatops")
TLS = "tls"
ROUTE_USER = "route"
CLUSTER_NAME = "chatops"


@dataclass(frozen=True)
class Node:
    """One nats-server of a cluster: its client port, its route port, its store, its monitoring port."""

    port: int
    route_port: int
    store_dir: Path
    http_port: int = 0  # off when 0


@dataclass(frozen=True)
class AccessFiles:
    """Where `write_access` put things, and the environment each identity connects with."""

    root: Path
    use_tls: bool
    nodes: int = 1

    @property
    def config(self) -> Path:
        """The server's configuration; in a cluster, node 1's."""
        return self.node_config(1)

    def node_config(self, number: int) -> Path:
        """Node `number`'s configuration (1-based): nats.conf, nats-2.conf, …"""
        if not 1 <= number <= self.nodes:
            raise ValueError(f"there is no node {number} of {self.nodes}")
        return self.root / (CONFIG if number == 1 else f"nats-{number}.conf")

    @property
    def route_secret(self) -> Path:
        return self.root / CREDS / "route.secret"

    @property
    def roster(self) -> Path:
        return self.root / ROSTER

    def seed(self, name: str) -> Path:
        return self.root / CREDS / f"{name}{keys.SEED_SUFFIX}"

    @property
    def ca(self) -> Path:
        return self.root / TLS / "ca.pem"

    def cert(self, name: str) -> tls.CertPair:
        return tls.CertPair(self.root / TLS / f"{name}.pem", self.root / TLS / f"{name}-key.pem")

    def env(self, name: str) -> dict[str, str]:
        """The settings that make a process connect as identity `name` (NATS_URL aside)."""
        entry = identity(name)
        env = {"NATS_NKEY_SEED_FILE": str(self.seed(name))}
        if self.use_tls:
            pair = self.cert(name)
            env |= {
                "NATS_TLS_CA": str(self.ca),
                "NATS_TLS_CERT": str(pair.cert),
                "NATS_TLS_KEY": str(pair.key),
            }
        if entry.service is not None:
            env |= {"NATS_JS_API_PREFIX": SERVICE_JS_API, "CHATOPS_IDENTITIES": str(self.roster)}
        return env


def write_access(
    root: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 4222,
    store_dir: Path | None = None,
    server_name: str = "chatops",
    http_port: int = 0,
    use_tls: bool = False,
    tls_hosts: Sequence[str] = tls.DEFAULT_HOSTS,
    cluster: Sequence[Node] = (),
) -> AccessFiles:
    """Write (or refresh) the folder: seeds that exist are kept, so identities survive a restart.

    With `cluster` (two nodes or more) it writes one configuration per node, each with the same
    accounts and routes to every node; `port`, `store_dir` and `http_port` are then the nodes' own.
    """
    if len(cluster) == 1:
        raise ValueError("a cluster has at least two nodes")
    files = AccessFiles(root, use_tls, max(1, len(cluster)))
    public = {i.name: keys.ensure_seed(files.seed(i.name)) for i in IDENTITIES}
    (root / CREDS).chmod(0o700)
    roster = Roster(tuple(Member(i.name, i.account, public[i.name], i.speaks_for) for i in IDENTITIES))
    files.roster.write_text(roster.to_json())
    server_tls = route_tls = None
    if use_tls:
        ca = tls.authority(tls.CertPair(files.ca, root / TLS / "ca-key.pem"))
        server = tls.issue(ca, files.cert("server"), "nats-server", server=True, hosts=tls_hosts)
        for entry in IDENTITIES:
            tls.issue(ca, files.cert(entry.name), entry.name, server=False)
        server_tls = config.TlsFiles(ca=files.ca, cert=server.cert, key=server.key)
        if cluster:
            # A route connection is a client of one node and a server of the other: both usages.
            pair = files.cert("route")
            route = tls.issue(ca, pair, "nats-route", server=True, client=True, hosts=tls_hosts)
            route_tls = config.TlsFiles(ca=files.ca, cert=route.cert, key=route.key)
        (root / TLS).chmod(0o700)
    if not cluster:
        options = config.ServerOptions(
            host=host,
            port=port,
            store_dir=store_dir or root / "jetstream",
            server_name=server_name,
            http_port=http_port,
            tls=server_tls,
        )
        keys.write_private(files.config, config.render(options, public).encode())
        return files
    password = _route_password(files.route_secret)
    routes = tuple(f"{host}:{node.route_port}" for node in cluster)
    for number, node in enumerate(cluster, start=1):
        options = config.ServerOptions(
            host=host,
            port=node.port,
            store_dir=node.store_dir,
            server_name=f"{server_name}-{number}",
            http_port=node.http_port,
            tls=server_tls,
            cluster=config.ClusterOptions(
                CLUSTER_NAME, node.route_port, routes, ROUTE_USER, password, tls=route_tls
            ),
        )
        # The route password is in it: only this user reads a node's configuration.
        keys.write_private(files.node_config(number), config.render(options, public).encode())
    return files


def _route_password(path: Path) -> str:
    """The cluster's route password, made once and kept (a node restarted later still gets in)."""
    if path.exists():
        path.chmod(0o600)
        return path.read_text().strip()
    password = secrets.token_urlsafe(24)
    keys.write_private(path, password.encode() + b"\n")
    return password
