"""README.md: the newcomer's order, the generated command reference, and every environment variable."""

from __future__ import annotations

import re

from tests.docs.settings_fields import ROOT, settings_classes
from tools.readme import END, START, MarkersMissing, reference, splice

README = (ROOT / "README.md").read_text()


def test_the_two_commands_come_first_then_the_architecture():
    demo, test = README.index("make demo"), README.index("make test")
    architecture = README.index("## Architecture")
    commands = README.index(START)
    assert demo < test < architecture < commands
    for section in (
        "## Environment variables",
        "## Real Slack",
        "## docker-compose",
        "## Using the bus from another language",
    ):
        assert commands < README.index(section), section


def test_the_command_reference_is_what_the_gateway_generates():
    assert splice(README, reference()) == README, "README.md is out of date: run `make readme`"


def test_splice_replaces_only_between_the_markers():
    text = f"intro\n{START}\nold\n{END}\noutro\n"
    assert splice(text, "new\n") == f"intro\n{START}\nnew\n{END}\noutro\n"
    try:
        splice("no markers", "x")
    except MarkersMissing as exc:
        assert START in str(exc)
    else:
        raise AssertionError("missing markers were accepted")


def test_every_setting_of_every_component_is_documented():
    classes = settings_classes()
    assert {
        "gateway.settings.GatewaySettings",
        "ops.settings.OpsSettings",
        "notifier.settings.NotifierSettings",
        "petstore.settings.PetstoreSettings",
        "chatops.launcher.settings.LauncherSettings",
    } <= set(classes)
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", README))
    missing = {
        f"{cls}.{field}"
        for cls, model in classes.items()
        for field in model.model_fields
        if field not in documented
    }
    assert not missing, f"README.md does not mention: {sorted(missing)}"


def test_the_console_reads_the_gateway_settings_the_readme_says_it_uses():
    from chatops.settings import BusSettings
    from gateway.settings import ConsoleSettings

    heading = re.search(r"\*\*gateway\*\* \(`chatops gateway`; (.*)\)\n", README)
    assert heading, "the gateway's settings table names what chatops ask / history use"
    said = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", heading.group(1)))
    own = set(ConsoleSettings.model_fields) - set(BusSettings.model_fields)
    assert own == said == {"CHATOPS_ADMINS", "CHATOPS_COMMAND_TIMEOUT"}


def test_every_linked_file_exists():
    for target in re.findall(r"\]\((?!https?://|#)([^)]+)\)", README):
        assert (ROOT / target).exists(), target
    for name in ("slack-app-manifest.yml", "asyncapi.yaml", "docker-compose.yml", "Dockerfile"):
        assert name in README and (ROOT / name).exists(), name


def test_every_bus_subject_is_in_the_readme():
    from chatops.contract import COMMANDS

    for cmd in COMMANDS:
        assert f"`{cmd.subject}`" in README, cmd.subject


def test_a_newcomer_learns_what_the_machine_needs_and_what_make_installs():
    two_commands = README[README.index("## Two commands") : README.index("## Architecture")]
    for needed in ("Python 3.11", "python3-venv", "Debian", "Ubuntu", "chromium", "constraints.txt"):
        assert needed in two_commands, needed
    makefile = (ROOT / "Makefile").read_text()
    assert "BROWSER_DEBS := chromium chromium-driver" in makefile  # what the README says `make test` adds


def test_troubleshooting_quotes_what_the_code_really_says():
    section = README[README.index("## Troubleshooting") :]
    section = " ".join(section[: section.index("\n## ")].split())
    files = [p for pkg in ("gateway", "notifier", "chatops") for p in sorted((ROOT / pkg).rglob("*.py"))]
    source = "\n".join(p.read_text() for p in files)
    # Log events, metric labels and messages the section tells people to look for.
    for said in (
        '"alerts.stalled"',
        "invite the bot to the channel",
        '"alerts.rejected"',
        '"unauthorized"',
        "configuration error: ",
        "SLACK_APP_TOKEN: set it for Socket Mode, or SLACK_SIGNING_SECRET for HTTP mode",
    ):
        assert said in source, said
        assert said.strip('"').strip() in section, said


def test_every_metric_the_components_export_and_the_rules_use_is_documented():
    import yaml

    defined = set()
    for path in [*ROOT.glob("*/metrics.py"), ROOT / "chatops" / "health.py"]:
        defined |= set(re.findall(r'"(chatops_[a-z_]+)"', path.read_text()))
    assert {"chatops_bus_connected", "chatops_gateway_slack_errors", "chatops_ops_trace_store_up"} <= defined
    watching = README[README.index("## Watching the watcher") :]
    # Counters are exported with _total; the README names them as Prometheus shows them.
    documented = {re.sub(r"_total$", "", m) for m in re.findall(r"`(chatops_[a-z_]+)", watching)}
    assert defined - {"chatops_test_switch"} <= documented, sorted(defined - documented)
    rules = yaml.safe_load((ROOT / "alertmanager" / "rules.yml").read_text())["groups"]
    used = {
        re.sub(r"_total$", "", m)
        for g in rules
        for r in g["rules"]
        for m in re.findall(r"chatops_[a-z_]+", r["expr"])
    }
    assert used <= documented, sorted(used - documented)
    [ours] = [g for g in rules if g["name"] == "chatops"]
    table = set(re.findall(r"`((?:Chatops[A-Za-z]+)|Watchdog)`", watching))
    assert {r["alert"] for r in ours["rules"]} == table
