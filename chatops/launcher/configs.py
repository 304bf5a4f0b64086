"""Copy the committed Prometheus/Alertmanager configs into the data dir with this stack's ports and paths;
for a cluster, with every replicated component's second replica added (`with_replicas`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from chatops.yamlfile import read_yaml

# Fast enough that the demo's error-ratio alert fires within a couple of minutes of `chatops up`.
LOCAL_SCRAPE_INTERVAL = "5s"
# Prometheus' --rules.alert.resend-delay, the same in `chatops up`, docker-compose and the docs: how
# often a still-firing alert is sent again (default 1m), so an Alertmanager that restarted or missed
# a send knows every firing alert again within seconds.
RESEND_DELAY = "5s"


@dataclass(frozen=True)
class Tuning:
    """How fast the local stack notices things; tests pass shorter times so alerts fire in seconds."""

    scrape_interval: str = LOCAL_SCRAPE_INTERVAL
    rule_for: str | None = None  # every alert rule's `for:` becomes this (None: as committed)
    group_wait: str | None = None  # Alertmanager's waits on every route (None: as committed)
    group_interval: str | None = None


class ConfigError(Exception):
    """A committed config that cannot be read or does not have the expected shape."""


@dataclass(frozen=True)
class ConfigFiles:
    """Where the rewritten configs were written."""

    prometheus: Path
    alertmanager: Path
    rules: tuple[Path, ...]
    notifier_token: Path
    # The incoming webhook URL Alertmanager posts alerts about chatops to; None: that path is off.
    slack_webhook: Path | None = None


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


def prometheus_config(
    doc: Mapping[str, Any], moved: Mapping[int, int], rules: list[Path], tuning: Tuning = Tuning()
) -> dict[str, Any]:
    """The committed prometheus.yml with targets moved, rule files made absolute, short intervals."""
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(doc)))  # a deep copy that stays plain YAML
    glob = out.setdefault("global", {}) or {}
    glob["scrape_interval"] = tuning.scrape_interval
    glob["evaluation_interval"] = tuning.scrape_interval
    out["global"] = glob
    for job in out.get("scrape_configs") or []:
        _move_targets(job, moved)
    for am in (out.get("alerting") or {}).get("alertmanagers") or []:
        _move_targets(am, moved)
    if rules:
        out["rule_files"] = [str(p) for p in rules]
    return out


def rules_config(doc: Mapping[str, Any], tuning: Tuning = Tuning()) -> dict[str, Any]:
    """A rules file, with every alert rule's `for:` replaced when `tuning` says so."""
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(doc)))
    if tuning.rule_for is not None:
        for group in out.get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    rule["for"] = tuning.rule_for
    return out


def _routes(route: dict[str, Any]) -> list[dict[str, Any]]:
    found = [route]
    for child in route.get("routes") or []:
        found += _routes(child)
    return found


def alertmanager_config(
    doc: Mapping[str, Any],
    moved: Mapping[int, int],
    token_file: Path,
    webhook_file: Path | None = None,
    tuning: Tuning = Tuning(),
) -> dict[str, Any]:
    """The committed alertmanager.yml with webhook URLs moved and every secret read from a file.

    Slack integrations post to the incoming webhook whose URL is in `webhook_file`; without one they
    are removed (their receivers then send nothing) rather than left pointing at a missing file.
    """
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(doc)))
    for receiver in out.get("receivers") or []:
        for hook in receiver.get("webhook_configs") or []:
            if "url" in hook:
                hook["url"] = move_url(str(hook["url"]), moved)
            http = hook.setdefault("http_config", {}) or {}
            # The token is generated per stack and only ever lives in a 0600 file, never in a config.
            http["authorization"] = {"type": "Bearer", "credentials_file": str(token_file)}
            hook["http_config"] = http
        if webhook_file is None:
            receiver.pop("slack_configs", None)
        for slack in receiver.get("slack_configs") or []:
            slack.pop("api_url", None)
            slack["api_url_file"] = str(webhook_file)
    for route in _routes(out.get("route") or {}):
        for key in ("group_wait", "group_interval"):
            value = getattr(tuning, key)
            if value is not None and (key in route or route is out.get("route")):
                route[key] = value
    return out


def _twin_address(address: str, twins: Mapping[int, int]) -> str | None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) not in twins:
        return None
    return f"{host}:{twins[int(port)]}"


def _with_twins(targets: list[Any], twins: Mapping[int, int]) -> list[str]:
    out: list[str] = []
    for target in targets:
        out.append(str(target))
        twin = _twin_address(str(target), twins)
        if twin is not None and twin not in targets:
            out.append(twin)
    return out


def prometheus_with_replicas(doc: Mapping[str, Any], twins: Mapping[int, int]) -> dict[str, Any]:
    """prometheus.yml scraping each replica and alerting each Alertmanager: a target on a port of
    `twins` gets its twin beside it (`twins`: a first replica's port -> the second's)."""
    out: dict[str, Any] = copy.deepcopy(dict(doc))
    sections = list(out.get("scrape_configs") or []) + list(
        (out.get("alerting") or {}).get("alertmanagers") or []
    )
    for section in sections:
        for static in _static_configs(section):
            static["targets"] = _with_twins(list(static.get("targets") or []), twins)
    return out


def alertmanager_with_replicas(doc: Mapping[str, Any], twins: Mapping[int, int]) -> dict[str, Any]:
    """alertmanager.yml sending each notification to both notifiers: a webhook to a port of `twins`
    gets a second one, the same but for the port. Each is its own integration in Alertmanager, retried
    on its own, so a notifier that is down delays nothing the other takes; the notifiers' content
    hash stores the two copies once."""
    out: dict[str, Any] = copy.deepcopy(dict(doc))
    for receiver in out.get("receivers") or []:
        hooks: list[dict[str, Any]] = []
        for hook in receiver.get("webhook_configs") or []:
            hooks.append(hook)
            url = urlsplit(str(hook.get("url", "")))
            twin = _twin_address(url.netloc, twins) if url.port else None
            if twin is not None:
                second: dict[str, Any] = copy.deepcopy(hook)
                second["url"] = urlunsplit(url._replace(netloc=twin))
                hooks.append(second)
        if hooks:
            receiver["webhook_configs"] = hooks
    return out


def load(path: Path) -> dict[str, Any]:
    doc = read_yaml(path, ConfigError)
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


def _secret_file(path: Path, value: str) -> Path:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(value)
    return path


def write_configs(
    source_dir: Path,
    target_dir: Path,
    moved: Mapping[int, int],
    token: str,
    *,
    webhook_url: str = "",
    tuning: Tuning = Tuning(),
    twins: Mapping[int, int] | None = None,
) -> ConfigFiles:
    """Read `alertmanager/`'s configs, rewrite them for this stack, and write them under `target_dir`.

    `webhook_url` is the Slack incoming webhook for alerts about chatops itself (empty: none).
    `twins` (the committed configs' ports of first replicas -> their second's): a cluster's shape.
    """
    prom_doc = prometheus_with_replicas(load(source_dir / "prometheus.yml"), twins or {})
    am_doc = alertmanager_with_replicas(load(source_dir / "alertmanager.yml"), twins or {})
    target_dir.mkdir(parents=True, exist_ok=True)

    token_file = _secret_file(target_dir / "notifier.token", token)
    webhook_file = _secret_file(target_dir / "slack-webhook.url", webhook_url) if webhook_url else None

    copied = []
    for src in rule_files(prom_doc, source_dir):
        dst = target_dir / src.name
        dst.write_text(yaml.safe_dump(rules_config(load(src), tuning), sort_keys=False))
        copied.append(dst)

    prom = target_dir / "prometheus.yml"
    prom.write_text(yaml.safe_dump(prometheus_config(prom_doc, moved, copied, tuning), sort_keys=False))
    am = target_dir / "alertmanager.yml"
    am_out = alertmanager_config(am_doc, moved, token_file, webhook_file, tuning)
    am.write_text(yaml.safe_dump(am_out, sort_keys=False))
    return ConfigFiles(
        prometheus=prom,
        alertmanager=am,
        rules=tuple(copied),
        notifier_token=token_file,
        slack_webhook=webhook_file,
    )
