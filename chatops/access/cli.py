"""`chatops access DIR`: write the nats-server config, a seed per identity and the roster into DIR."""

from __future__ import annotations

import argparse
from pathlib import Path

from chatops.access.files import write_access
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
    if not 0 < args.port < 65536 or not 0 <= args.http_port < 65536:
        parser().error("ports are 1..65535")
    files = write_access(
        args.dir.resolve(),
        host=args.host,
        port=args.port,
        store_dir=args.store_dir,
        server_name=args.server_name,
        http_port=args.http_port,
        use_tls=args.tls,
        tls_hosts=tuple(args.tls_host) or DEFAULT_HOSTS,
    )
    print(f"wrote {files.config} (run: nats-server --config {files.config})")
    for identity in IDENTITIES:
        env = " ".join(f"{k}={v}" for k, v in files.env(identity.name).items())
        print(f"{identity.name:<12} {env}")
    return 0
