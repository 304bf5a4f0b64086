"""`chatops access DIR`: write the nats-server config, a seed per identity and the roster into DIR."""

from __future__ import annotations

import argparse
from pathlib import Path

from chatops.access.files import Node, write_access
from chatops.access.table import IDENTITIES
from chatops.access.tls import DEFAULT_HOSTS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chatops access",
        description="Write everything a bus with identities needs into DIR: nats.conf (accounts, one "
        "nkey user per identity, least privilege), creds/<identity>.nk (0600), identities.json (ops "
        "reads it: CHATOPS_IDENTITIES) and, with --tls, a local CA and certificates. Seeds and the CA "
        "that exist are kept. Paths in nats.conf are DIR's, so mount DIR at the same path where "
        "nats-server runs (docker-compose does).",
    )
    p.add_argument("dir", type=Path, help="the folder to write (made if missing)")
    p.add_argument("--host", default="127.0.0.1", help="where nats-server listens (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=4222, help="its client port (default: 4222)")
    p.add_argument("--http-port", type=int, default=0, help="its monitoring port, e.g. 8222 (default: off)")
    p.add_argument("--store-dir", type=Path, help="JetStream's store (default: DIR/jetstream)")
    p.add_argument("--server-name", default="chatops", help="the server's name (default: chatops)")
    p.add_argument(
        "--cluster",
        type=int,
        default=1,
        metavar="N",
        help="write N node configs (nats.conf, nats-2.conf, …) for a cluster on this host: node i "
        "listens on PORT+i-1 (and HTTP-PORT+i-1), routes on ROUTE-PORT+i-1, each its own STORE-DIR "
        "(one container each); the accounts are the same in every one (default: 1, no cluster)",
    )
    p.add_argument("--route-port", type=int, default=6222, help="node 1's route port (default: 6222)")
    p.add_argument(
        "--tls", action="store_true", help="make a local CA, a server and a client certificate each"
    )
    p.add_argument(
        "--tls-host",
        action="append",
        default=[],
        help="a name or address the server certificate is for (repeatable; default: "
        f"{', '.join(DEFAULT_HOSTS)})",
    )
    return p


def main(argv: list[str]) -> int:
    """Write the folder and say, per identity, what a process sets to connect as it."""
    args = parser().parse_args(argv)
    if args.cluster < 1 or args.cluster == 2:
        parser().error("--cluster is 1, or 3 or more nodes (JetStream goes on while a majority is up)")
    last = args.cluster - 1
    highest = [args.port + last, args.route_port + last] + ([args.http_port + last] if args.http_port else [])
    if args.port < 1 or args.route_port < 1 or args.http_port < 0 or max(highest) > 65535:
        parser().error("ports are 1..65535")
    store = args.store_dir or args.dir.resolve() / "jetstream"
    nodes = [
        Node(args.port + i, args.route_port + i, store, args.http_port + i if args.http_port else 0)
        for i in range(args.cluster if args.cluster > 1 else 0)
    ]
    files = write_access(
        args.dir.resolve(),
        host=args.host,
        port=args.port,
        store_dir=args.store_dir,
        server_name=args.server_name,
        http_port=args.http_port,
        use_tls=args.tls,
        tls_hosts=tuple(args.tls_host) or DEFAULT_HOSTS,
        cluster=nodes,
    )
    for number in range(1, files.nodes + 1):
        config = files.node_config(number)
        print(f"wrote {config} (run: nats-server --config {config})")
    for identity in IDENTITIES:
        env = " ".join(f"{k}={v}" for k, v in files.env(identity.name).items())
        print(f"{identity.name:<12} {env}")
    return 0
