"""Everything a bus with identities needs, in one folder: the nats-server config, a seed per identity,
the roster services read, and with TLS a local CA and certificates. Made once, kept across runs.

    <root>/nats.conf           the server's configuration (accounts, users, permissions)
    <root>/identities.json     the roster: each identity's public key (CHATOPS_IDENTITIES for ops)
    <root>/creds/<name>.nk     each identity's nkey seed, 0600 (NATS_NKEY_SEED_FILE)
    <root>/tls/ca.pem          with TLS: the CA (NATS_TLS_CA); server.pem and <name>.pem, each with a
                               0600 key beside it (NATS_TLS_CERT, NATS_TLS_KEY)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chatops.access import config, keys, tls
from chatops.access.table import IDENTITIES, SERVICE_JS_API, identity
from chatops.identity import Member, Roster

CONFIG = "nats.conf"
ROSTER = "identities.json"
CREDS = "creds"
TLS = "tls"


@dataclass(frozen=True)
class AccessFiles:
    """Where `write_access` put things, and the environment each identity connects with."""

    root: Path
    use_tls: bool

    @property
    def config(self) -> Path:
        return self.root / CONFIG

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
) -> AccessFiles:
    """Write (or refresh) the folder: seeds that exist are kept, so identities survive a restart."""
    files = AccessFiles(root, use_tls)
    public = {i.name: keys.ensure_seed(files.seed(i.name)) for i in IDENTITIES}
    (root / CREDS).chmod(0o700)
    roster = Roster(tuple(Member(i.name, i.account, public[i.name], i.speaks_for) for i in IDENTITIES))
    files.roster.write_text(roster.to_json())
    server_tls = None
    if use_tls:
        ca = tls.authority(tls.CertPair(files.ca, root / TLS / "ca-key.pem"))
        server = tls.issue(ca, files.cert("server"), "nats-server", server=True, hosts=tls_hosts)
        for entry in IDENTITIES:
            tls.issue(ca, files.cert(entry.name), entry.name, server=False)
        (root / TLS).chmod(0o700)
        server_tls = config.TlsFiles(ca=files.ca, cert=server.cert, key=server.key)
    options = config.ServerOptions(
        host=host,
        port=port,
        store_dir=store_dir or root / "jetstream",
        server_name=server_name,
        http_port=http_port,
        tls=server_tls,
    )
    files.config.write_text(config.render(options, public))
    return files
