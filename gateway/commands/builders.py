"""Pure builders: the text after a command's words -> the chatops.v1 request for the bus."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from chatops import samplers
from chatops.v1 import (
    alerts_pb2,
    audit_pb2,
    cards_pb2,
    deadletters_pb2,
    deploys_pb2,
    graphs_pb2,
    sampling_pb2,
    traces_pb2,
    version_pb2,
)
from gateway.commands.lexer import LexError, Options, options, short, split_list
from gateway.commands.values import (
    ValueProblem,
    parse_actor,
    parse_duration,
    parse_int,
    parse_matcher,
    parse_rate,
    parse_time,
    parse_trace_id,
)

_BUS_COMMAND = re.compile(r"^[a-z_]+(?:\.[a-z_]+)?$")
# `for=` / `step=` at the end of `graph …`; PromQL never ends in a word like these.
_GRAPH_OPTION = re.compile(r"^(for|step)=(.*)$", re.IGNORECASE)
MAX_GRAPH_QUERY = 2000
_ALERT = re.compile(r"^(?:#?[0-9a-fA-F]{6,40}|[A-Za-z_:][A-Za-z0-9_:]{0,199})$")
_SERVICE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")
MIN_SILENCE = timedelta(minutes=1)
MAX_SILENCE = timedelta(days=30)


def _only(opts: Options, allowed: tuple[str, ...]) -> dict[str, str]:
    """The options as a dict; unknown, repeated or empty options are refused."""
    seen: dict[str, str] = {}
    for key, value in opts.pairs:
        if key not in allowed:
            known = ", ".join(f"`{a}=`" for a in allowed)
            raise ValueProblem(f"there is no option `{short(key)}=` here; the options are {known}")
        if key in seen:
            raise ValueProblem(f"`{key}=` is given twice")
        if not value:
            raise ValueProblem(f"`{key}=` needs a value")
        seen[key] = value
    return seen


def _no_args(rest: str, what: str) -> None:
    if rest.strip():
        raise ValueProblem(f"`{what}` takes nothing after it (got `{short(rest.strip())}`)")


def list_traces(rest: str, now: datetime) -> traces_pb2.ListTracesRequest:
    """list traces [operation=X] [start=…] [end=…|now] [since=15m] [limit=N] [tags=[a,b]] …"""
    allowed = ("operation", "start", "end", "since", "limit", "tags", "service", "min", "max")
    opts = _only(options(rest), allowed)
    req = traces_pb2.ListTracesRequest()
    if "operation" in opts:
        req.operation = opts["operation"]
    if "service" in opts:
        req.service = opts["service"]
    if "since" in opts and "start" in opts:
        raise ValueProblem("give `since=` or `start=`, not both")
    end = now
    if "end" in opts and opts["end"].lower() != "now":
        end = parse_time(opts["end"], "end")
        req.end.FromDatetime(end)
    if "start" in opts:
        start = parse_time(opts["start"], "start")
        if start >= end:
            raise ValueProblem("`start=` must be before `end=`")
        req.start.FromDatetime(start)
    if "since" in opts:
        since = parse_duration(opts["since"], "since")
        if since <= timedelta(0):
            raise ValueProblem("`since=` must be longer than 0s")
        req.start.FromDatetime(end - since)
    if "limit" in opts:
        req.limit = parse_int(opts["limit"], "limit", 1, 100)
    if "tags" in opts:
        tags = split_list(opts["tags"])
        if not tags:
            raise ValueProblem("`tags=` is empty; write it like tags=[error,http.status_code=500]")
        req.tags.extend(tags)
    for key, field in (("min", req.min_duration), ("max", req.max_duration)):
        if key in opts:
            field.FromTimedelta(parse_duration(opts[key], key))
    if "min" in opts and "max" in opts and req.min_duration.ToTimedelta() > req.max_duration.ToTimedelta():
        raise ValueProblem("`min=` is longer than `max=`")
    return req


def show_trace(rest: str, now: datetime) -> traces_pb2.ShowTraceRequest:
    """show trace <id>"""
    return traces_pb2.ShowTraceRequest(trace_id=_one_id(rest, "show trace"))


def show_logs(rest: str, now: datetime) -> traces_pb2.ShowLogsRequest:
    """show logs <id>"""
    return traces_pb2.ShowLogsRequest(trace_id=_one_id(rest, "show logs"))


def _one_id(rest: str, what: str) -> str:
    words = rest.split()
    if not words:
        raise ValueProblem(f"`{what}` needs a trace id")
    if len(words) > 1:
        raise ValueProblem(f"`{what}` takes one trace id, not {len(words)} words")
    return parse_trace_id(words[0])


def change_sampling(rest: str, now: datetime) -> sampling_pb2.SetSamplingRequest:
    """change sampling never|always|float <rate> (every kind of chatops.v1.SamplerType)"""
    words = rest.replace("=", " ").lower().split()
    choices = samplers.listed(samplers.forms(samplers.KINDS, " <rate>"))
    if not words:
        raise ValueProblem(f"say which sampler: {choices}")
    kind = words[0]
    if kind not in samplers.TYPE:
        raise ValueProblem(f"`{short(kind)}` is not a sampler; choose {choices}")
    if kind == samplers.RATED:
        if len(words) != 2:
            raise ValueProblem(f"`{kind}` needs one rate, e.g. `change sampling {kind} 0.25`")
        sampler = sampling_pb2.Sampler(type=samplers.TYPE[kind], rate=parse_rate(words[1]))
        return sampling_pb2.SetSamplingRequest(sampler=sampler)
    if len(words) > 1:
        raise ValueProblem(f"`{kind}` takes no rate")
    return sampling_pb2.SetSamplingRequest(sampler=sampling_pb2.Sampler(type=samplers.TYPE[kind]))


def show_sampling(rest: str, now: datetime) -> sampling_pb2.GetSamplingRequest:
    """show sampling"""
    _no_args(rest, "show sampling")
    return sampling_pb2.GetSamplingRequest()


def deployed_version(rest: str, now: datetime) -> version_pb2.GetVersionRequest:
    """deployed version [job=X]"""
    opts = _only(options(rest), ("job",))
    return version_pb2.GetVersionRequest(job=opts.get("job", ""))


def alerts(rest: str, now: datetime) -> alerts_pb2.ListAlertsRequest:
    """alerts [labels=[a=b,c]] [state=firing|pending] [since=1h]"""
    opts = _only(options(rest), ("labels", "state", "since"))
    req = alerts_pb2.ListAlertsRequest()
    if "labels" in opts:
        labels = split_list(opts["labels"])
        if not labels:
            raise ValueProblem("`labels=` is empty; write it like labels=[severity=critical,team]")
        req.labels.extend(labels)
    if "state" in opts:
        states = {"firing": alerts_pb2.ALERT_STATE_FIRING, "pending": alerts_pb2.ALERT_STATE_PENDING}
        state = opts["state"].lower()
        if state not in states:
            raise ValueProblem(f"`state={short(opts['state'])}` is not a state; use firing or pending")
        req.state = states[state]
    if "since" in opts:
        req.active_since.FromDatetime(now - parse_duration(opts["since"], "since"))
    return req


def silence(rest: str, now: datetime) -> alerts_pb2.CreateSilenceRequest:
    """silence <matchers> for=<duration> [comment…]"""
    words = rest.split()
    matchers: list[alerts_pb2.Matcher] = []
    duration: timedelta | None = None
    comment: list[str] = []
    for i, word in enumerate(words):
        if word.lower().startswith("for="):
            duration = parse_duration(word[4:], "for")
            comment = words[i + 1 :]
            break
        matchers.append(parse_matcher(word))
    if not matchers:
        raise ValueProblem("say which alerts to silence, e.g. `alertname=PetstoreErrorRatioHigh`")
    if duration is None:
        raise ValueProblem("say for how long, e.g. `for=2h`")
    if not MIN_SILENCE <= duration <= MAX_SILENCE:
        raise ValueProblem("a silence lasts from 1m to 30d")
    req = alerts_pb2.CreateSilenceRequest(matchers=matchers, comment=" ".join(comment))
    req.duration.FromTimedelta(duration)
    return req


def history(rest: str, now: datetime) -> audit_pb2.ListAuditRequest:
    """history [limit=N] [user=@someone] [command=…] [since=1d]"""
    opts = _only(options(rest), ("limit", "user", "command", "since"))
    req = audit_pb2.ListAuditRequest()
    if "limit" in opts:
        req.limit = parse_int(opts["limit"], "limit", 1, 100)
    if "user" in opts:
        req.actor = parse_actor(opts["user"])
    if "command" in opts:
        req.command = opts["command"].lower()
        if not _BUS_COMMAND.match(req.command):
            raise ValueProblem(
                f"`command={short(opts['command'])}` is not a bus command; use one like sampling.set, "
                "or a noun like sampling"
            )
    if "since" in opts:
        req.since.FromDatetime(now - parse_duration(opts["since"], "since"))
    return req


def graph(rest: str, now: datetime) -> graphs_pb2.RenderGraphRequest:
    """graph <PromQL> [for=1h] [step=…]: the options come last, everything before them is the query."""
    words = rest.split()
    opts: dict[str, str] = {}
    while words and (m := _GRAPH_OPTION.match(words[-1])):
        key, value = m.group(1).lower(), m.group(2)
        if key in opts:
            raise ValueProblem(f"`{key}=` is given twice")
        if not value:
            raise ValueProblem(f"`{key}=` needs a value, e.g. {key}={'6h' if key == 'for' else '30s'}")
        opts[key] = value
        words.pop()
    # A query pasted as `code` or ```code``` keeps its meaning without the backticks.
    query = " ".join(words).strip("`").strip()
    if not query:
        raise ValueProblem("say what to graph, e.g. `graph rate(petstore_requests_total[1m])`")
    if len(query) > MAX_GRAPH_QUERY:
        raise ValueProblem(f"that query is {len(query)} characters long; at most {MAX_GRAPH_QUERY}")
    req = graphs_pb2.RenderGraphRequest(query=query)
    for key, field in (("for", req.range), ("step", req.step)):
        if key in opts:
            span = parse_duration(opts[key], key)
            if span <= timedelta(0):
                raise ValueProblem(f"`{key}=` must be longer than 0s")
            field.FromTimedelta(span)
    return req


def _service(word: str) -> str:
    if not _SERVICE.match(word):
        raise ValueProblem(f"`{short(word)}` is not a service name (lower-case letters, digits and -)")
    return word


def deploy(rest: str, now: datetime) -> deploys_pb2.StartDeployRequest:
    """deploy <service> <version>"""
    words = rest.split()
    if len(words) != 2:
        raise ValueProblem("say which service and which version, e.g. `deploy petstore 0.2.0`")
    if not _VERSION.match(words[1]):
        raise ValueProblem(f"`{short(words[1])}` is not a version like 0.2.0")
    return deploys_pb2.StartDeployRequest(service=_service(words[0].lower()), version=words[1])


def rollback(rest: str, now: datetime) -> deploys_pb2.RollbackRequest:
    """rollback <service>"""
    words = rest.split()
    if len(words) != 1:
        raise ValueProblem("say which service to put back on its previous version, e.g. `rollback petstore`")
    return deploys_pb2.RollbackRequest(service=_service(words[0].lower()))


def deploys(rest: str, now: datetime) -> deploys_pb2.ListDeploysRequest:
    """deploys [limit=N]"""
    opts = _only(options(rest), ("limit",))
    req = deploys_pb2.ListDeploysRequest()
    if "limit" in opts:
        req.limit = parse_int(opts["limit"], "limit", 1, 100)
    return req


def release_status(rest: str, now: datetime) -> deploys_pb2.ReleaseStatusRequest:
    """release status <commit id or prefix | version>"""
    words = rest.split()
    if len(words) != 1:
        raise ValueProblem(
            "say one commit id (or its first digits) or one version, e.g. `release status 0.2.0`"
        )
    if not _VERSION.match(words[0]):
        raise ValueProblem(f"`{short(words[0])}` is neither a commit id nor a version")
    return deploys_pb2.ReleaseStatusRequest(ref=words[0])


__all__ = ["LexError", "ValueProblem"]


def dead_letters(rest: str, now: datetime) -> deadletters_pb2.ListDeadLettersRequest:
    """dead letters [limit=N] [replayed=yes]"""
    opts = _only(options(rest), ("limit", "replayed"))
    req = deadletters_pb2.ListDeadLettersRequest()
    if "limit" in opts:
        req.limit = parse_int(opts["limit"], "limit", 1, 100)
    if "replayed" in opts:
        answer = opts["replayed"].lower()
        if answer not in ("yes", "no"):
            raise ValueProblem(f"`replayed={short(opts['replayed'])}`: say yes or no")
        req.replayed = answer == "yes"
    return req


MAX_REPLAY_IDS = 100


def replay_dead_letters(rest: str, now: datetime) -> deadletters_pb2.ReplayDeadLettersRequest:
    """replay dead letters <id>… | all"""
    words = rest.replace(",", " ").split()
    if not words:
        raise ValueProblem("say which dead letters to send again: their ids (see `dead letters`), or `all`")
    if [w.lower() for w in words] == ["all"]:
        return deadletters_pb2.ReplayDeadLettersRequest(all=True)
    ids: list[int] = []
    for word in words:
        digits = word.lstrip("#")
        if not digits.isdigit() or int(digits) < 1 or len(digits) > 18:
            raise ValueProblem(
                f"`{short(word)}` is not a dead letter id: "
                "ids are the numbers `dead letters` shows, or say `all`"
            )
        ids.append(int(digits))
    if len(ids) > MAX_REPLAY_IDS:
        raise ValueProblem(f"at most {MAX_REPLAY_IDS} ids at once, or `all`")
    return deadletters_pb2.ReplayDeadLettersRequest(ids=ids)


def _alert(rest: str, what: str) -> cards_pb2.AckAlertRequest:
    words = rest.split()
    if len(words) != 1:
        raise ValueProblem(
            f"`{what}` takes one alert: the ref shown on its card (e.g. `{what} 3fa2c1d0`) or its name"
        )
    if not _ALERT.match(words[0]):
        raise ValueProblem(f"`{short(words[0])}` is neither a card's ref (hex digits) nor an alert name")
    return cards_pb2.AckAlertRequest(alert=words[0])


def ack(rest: str, now: datetime) -> cards_pb2.AckAlertRequest:
    """ack <alert>"""
    return _alert(rest, "ack")


def unack(rest: str, now: datetime) -> cards_pb2.AckAlertRequest:
    """unack <alert>"""
    return _alert(rest, "unack")


def timeline(rest: str, now: datetime) -> cards_pb2.TimelineRequest:
    """timeline [since=2h] [alert=…] [limit=N]"""
    opts = _only(options(rest), ("since", "alert", "limit"))
    req = cards_pb2.TimelineRequest()
    if "since" in opts:
        since = parse_duration(opts["since"], "since")
        if not timedelta(minutes=1) <= since <= timedelta(days=7):
            raise ValueProblem("`since=` must be from 1m to 7d")
        req.since.FromDatetime(now - since)
    if "alert" in opts:
        if not _ALERT.match(opts["alert"]):
            raise ValueProblem(f"`alert={short(opts['alert'])}` is neither a card's ref nor an alert name")
        req.alert = opts["alert"]
    if "limit" in opts:
        req.limit = parse_int(opts["limit"], "limit", 1, 500)
    return req
