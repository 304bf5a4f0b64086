"""Every chat command shown to people parses with the gateway's own grammar.

Commands appear in the Markdown docs (`@chatops …`, `chatops ask "…"`), in the alert rules'
annotations (every `backticked` span there is a command for chat) and in the help examples.
"""

from __future__ import annotations

import re

import pytest
import yaml

from gateway.commands.parser import HelpRequest, Request, parse
from gateway.commands.table import SPECS
from tests.docs.settings_fields import ROOT

_MENTION = re.compile(r"@chatops ([^`\n]+)")
_ASK = re.compile(r'chatops ask "([^"\n]+)"')
_BACKTICKED = re.compile(r"`([^`]+)`")
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}")


def markdown_files() -> list[str]:
    skip = {".venv", "node_modules", ".git", ".lock-venv"}
    return sorted(
        str(p.relative_to(ROOT)) for p in ROOT.rglob("*.md") if not skip & set(p.relative_to(ROOT).parts)
    )


def from_markdown() -> list[tuple[str, str]]:
    found = []
    for name in markdown_files():
        text = (ROOT / name).read_text()
        found += [(name, m.strip()) for m in _MENTION.findall(text)]
        found += [(name, m.strip()) for m in _ASK.findall(text) if m.strip() != "…"]  # "…": a placeholder
    return found


def from_rules() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "alertmanager").glob("*rules*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                for text in (rule.get("annotations") or {}).values():
                    for span in _BACKTICKED.findall(str(text)):
                        # A label in a command is filled in when the alert fires; any value will do here.
                        command = _TEMPLATE.sub("petstore", span).removeprefix("@chatops ").strip()
                        found.append((f"{path.name} {rule['alert']}", command))
    return found


def alert_names() -> set[str]:
    return {
        rule["alert"]
        for path in sorted((ROOT / "alertmanager").glob("*rules*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def from_help() -> list[tuple[str, str]]:
    return [(f"help {spec.phrase}", example) for spec in SPECS for example in spec.examples]


EXAMPLES = from_markdown() + from_rules() + from_help()


def test_the_examples_come_from_every_source():
    sources = {where.split()[0] for where, _ in EXAMPLES}
    assert {"README.md", "rules.yml", "help"} <= sources, sources
    assert len(from_markdown()) >= 20 and len(from_rules()) >= 1


@pytest.mark.parametrize(("where", "command"), EXAMPLES, ids=[f"{w}: {c}" for w, c in EXAMPLES])
def test_every_command_shown_to_people_parses(where: str, command: str) -> None:
    parsed = parse(command)
    assert isinstance(parsed, Request | HelpRequest), f"{where} shows `{command}`: {parsed.text}"


def test_every_silence_shown_to_people_names_a_real_alert():
    names = alert_names()
    silences = [(w, parse(c)) for w, c in EXAMPLES if c.split()[0] == "silence"]
    assert silences
    for where, parsed in silences:
        assert isinstance(parsed, Request)
        matchers = parsed.message.matchers  # type: ignore[attr-defined]
        named = [m.value for m in matchers if m.name == "alertname" and m.is_equal]
        assert named, f"{where}: a silence example should say which alert it silences"
        for value in named:
            assert any(re.fullmatch(value, n) for n in names), f"{where}: no alert rule is called {value}"
