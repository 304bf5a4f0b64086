"""Copy the committed Prometheus/Alertmanager configs into the data dir with this stack's ports and paths."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

# Fast enough that the demo's error-ratio alert fires within a couple of minutes of `chatops up`.
LOCAL_SCRAPE_INTERVAL = "5s"
# Prometheus' --rules.alert.resend-delay, the same in `chatops up`, docker-compose and the docs: how
# often a still-firing alert is sent again (default 1m), so an Alertmanager that restarted or missed
# a send knows every firing alert again within seconds.
RESEND_DELAY = "5s"


class ConfigError(Exception):
    """A committed config that cannot be read or does not have the expected shape."""


@dataclass(frozen=True)
class ConfigFiles:
    """Where the rewritten configs were written."""

    prometheus: Path
    alertmanager: Path
    rules: tuple[Path, ...]
    notifier_token: Path


def move_address(address: str, moved: Mapping[int, int]) -> str:
    """`127.0.0.1:9101` -> `127.0.0.1:<this stack's petstore metrics port>`; other ports are kept."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return address
    return f"{host}:{moved.get(int(port), int(port))}"


def move_url(url: str, moved: Mapping[int, int]) -> str:
    """Rewrite the port of an http URL the same way as `move_address`."""
    parts = urlsplit(url)
    if not parts.port:
        return url
    return urlunsplit(parts._replace(netloc=move_address(parts.netloc, moved)))


def _static_configs(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = section.get("static_configs") or []
    if not isinstance(found, list):
        raise ConfigError("static_configs must be a list")
    return found


def _move_targets(section: dict[str, Any], moved: Mapping[int, int]) -> None:
    for static in _static_configs(section):
        static["targets"] = [move_address(str(t), moved) for t in static.get("targets") or []]


def prometheus_config(doc: Mapping[str, Any], moved: Mapping[int, int], rules: list[Path]) -> dict[str, Any]:
    """The committed prometheus.yml with targets moved, rule files made absolute, short intervals."""
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(doc)))  # a deep copy that stays plain YAML
    glob = out.setdefault("global", {}) or {}
    glob["scrape_interval"] = LOCAL_SCRAPE_INTERVAL
    glob["evaluation_interval"] = LOCAL_SCRAPE_INTERVAL
    out["global"] = glob
    for job in out.get("scrape_configs") or []:
        _move_targets(job, moved)
    for am in (out.get("alerting") or {}).get("alertmanagers") or []:
        _move_targets(am, moved)
    if rules:
        out["rule_files"] = [str(p) for p in rules]
    return out


def alertmanager_config(doc: Mapping[str, Any], moved: Mapping[int, int], token_file: Path) -> dict[str, Any]:
    """The committed alertmanager.yml with webhook URLs moved and the bearer token read from a file."""
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(doc)))
    for receiver in out.get("receivers") or []:
        for hook in receiver.get("webhook_configs") or []:
            if "url" in hook:
                hook["url"] = move_url(str(hook["url"]), moved)
            http = hook.setdefault("http_config", {}) or {}
            # The token is generated per stack and only ever lives in a 0600 file, never in a config.
            http["authorization"] = {"type": "Bearer", "credentials_file": str(token_file)}
            hook["http_config"] = http
    return out


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path} must be a YAML mapping")
    return doc


def rule_files(prometheus_doc: Mapping[str, Any], source_dir: Path) -> list[Path]:
    """The rule files prometheus.yml names, resolved against its folder."""
    found = []
    for name in prometheus_doc.get("rule_files") or []:
        path = Path(str(name))
        found.append(path if path.is_absolute() else source_dir / path)
    return found


def write_configs(source_dir: Path, target_dir: Path, moved: Mapping[int, int], token: str) -> ConfigFiles:
    """Read `alertmanager/`'s configs, rewrite them for this stack, and write them under `target_dir`."""
    prom_doc = _load(source_dir / "prometheus.yml")
    am_doc = _load(source_dir / "alertmanager.yml")
    target_dir.mkdir(parents=True, exist_ok=True)

    token_file = target_dir / "notifier.token"
    token_file.touch(mode=0o600)
    token_file.chmod(0o600)
    token_file.write_text(token)

    copied = []
    for src in rule_files(prom_doc, source_dir):
        dst = target_dir / src.name
        dst.write_text(yaml.safe_dump(_load(src), sort_keys=False))
        copied.append(dst)

    prom = target_dir / "prometheus.yml"
    prom.write_text(yaml.safe_dump(prometheus_config(prom_doc, moved, copied), sort_keys=False))
    am = target_dir / "alertmanager.yml"
    am.write_text(yaml.safe_dump(alertmanager_config(am_doc, moved, token_file), sort_keys=False))
    return ConfigFiles(prometheus=prom, alertmanager=am, rules=tuple(copied), notifier_token=token_file)
