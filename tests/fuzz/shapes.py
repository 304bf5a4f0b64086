"""Hypothesis strategies for what people (and attackers) type at the bot, in the shapes Slack sends.

Slack rewrites text before an app sees it: links become `<http://x|label>`, mentions `<@U…|name>`,
channels `<#C…|name>`, `@here` becomes `<!here>`, and &, <, > arrive as entities. The strategies mix
those with command words, options and values close to valid, hostile regexes, and long padding, so
that most texts reach ops instead of stopping at the parser.
"""

from __future__ import annotations

from hypothesis import strategies as st

from gateway.commands.table import SPECS

MAX_TEXT = 4000
HOSTILE_REGEX = "(.*.*.*.*.*)*!"

_HEX = "0123456789abcdef"
_PHRASES = [s.phrase for s in SPECS]
_OPTION_KEYS = [
    "operation",
    "start",
    "end",
    "since",
    "limit",
    "tags",
    "service",
    "min",
    "max",
    "job",
    "labels",
    "state",
    "user",
    "command",
    "for",
    "bogus",
    "LIMIT",
]

slack_markup = st.one_of(
    st.sampled_from(
        [
            "<http://example.com|example>",
            "<https://example.com/a?b=c&amp;d=e>",
            "<mailto:alice@example.com|alice@example.com>",
            "<@U024BE7LH>",
            "<@U024BE7LH|alice>",
            "<@W0ABCDEF12>",
            "<#C024BE7LR|general>",
            "<#C024BE7LR>",
            "<!here>",
            "<!channel>",
            "<!everyone>",
            "<!subteam^S012AB3CD|@oncall>",
            "<!date^1392734382^{date_short}|Feb 18, 2014>",
            ":fire:",
            ":+1::skin-tone-3:",
            "🔥",
            "👩‍💻",
            "```alerts state=firing```",
            "```\nlist traces\n```",
            "`deployed version`",
            "> quoted",
            "&lt;script&gt;",
            "&amp;&amp;",
            "*bold* _it_ ~gone~",
            "\u200b",
            "\u202eesrever",
            "e\u0301\u0301\u0301",
            "<",
            ">",
            "|",
            "<http://x|<@U1>>",
            "<<<>>>",
            "[",
            "]",
            '"',
            "'",
            "=",
            "==",
            "=~",
            "\t",
            "\n",
            "\x00",
        ]
    ),
    st.builds(
        lambda h: f"<https://traces.example.com/trace/{h}|open>",
        st.text(alphabet=_HEX, min_size=32, max_size=32),
    ),
)

values = st.one_of(
    slack_markup,
    st.text(max_size=30),
    st.text(alphabet=_HEX, min_size=16, max_size=32),
    st.sampled_from(
        [
            "15m",
            "1h30m",
            "0s",
            "99999999d",
            "-5m",
            "500ms",
            "1.5h",
            "now",
            "01/02/2026-15:04:05",
            "13/45/2026-99:99:99",
            "2026-01-02T15:04:05Z",
            "0",
            "1",
            "100",
            "101",
            "-1",
            "999999999999",
            "1e9",
            "NaN",
            "firing",
            "pending",
            "always",
            "never",
            "float 0.5",
            "sampling.set",
            "traces",
            "@alice",
            "slack:U024BE7LH",
            f"[alertname=~{HOSTILE_REGEX}]",
            f"alertname=~{HOSTILE_REGEX}",
            "[severity=critical,team]",
            "[a=~(a|aa)+$,b!~.*,c!=d]",
            r"[x=~(a)\1]",
            "[x=~(?=a)]",
            "[error,http.status_code=500]",
            "[unclosed",
            "closed]",
            '"two words"',
            '"unclosed',
            "[" + ",".join(f"k{i}=~.*" for i in range(60)) + "]",
        ]
    ),
)

option = st.builds(lambda k, v: f"{k}={v}", st.sampled_from(_OPTION_KEYS), values)
noise = st.one_of(option, values, st.sampled_from(_PHRASES))

# Free text where commands take any text: quoted option values and silence comments.
free_text = st.lists(st.one_of(slack_markup, st.text(min_size=1, max_size=12)), min_size=1, max_size=4).map(
    " ".join
)
quoted = free_text.map(lambda t: '"' + t.replace('"', "") + '"')
durations = st.sampled_from(["15m", "1h", "2h30m", "1d", "90s", "500ms", "7d"])
trace_ids = st.one_of(
    st.text(alphabet=_HEX, min_size=32, max_size=32),
    st.text(alphabet=_HEX, min_size=16, max_size=16),
    st.builds(
        lambda h: f"<https://traces.example.com/trace/{h}|open>",
        st.text(alphabet=_HEX, min_size=32, max_size=32),
    ),
)
label_filter = st.one_of(
    st.sampled_from(
        ["severity", "team", "alertname=GatewayTestAlwaysFiring", "severity!=info", "job=~pet.*"]
    ),
    st.builds(
        lambda k, v: f"{k}=~{v}",
        st.sampled_from(["alertname", "team"]),
        st.sampled_from(
            [HOSTILE_REGEX, "(a|aa)+$", ".*", "[", r"(a)\1", "(?=x)", "é+", "x{1001}", "a" * 600]
        ),
    ),
    st.builds(
        lambda k, v: f"{k}={v}",
        st.sampled_from(["alertname", "team", "x"]),
        st.text(alphabet="abcxyz_-.:", max_size=20),
    ),
)
matcher = st.one_of(
    st.sampled_from(
        ["alertname=GatewayTestAlwaysFiring", "team=chatops", "severity!=info", "alertname=~Gateway.*"]
    ),
    st.builds(lambda v: f"alertname=~{v}", st.sampled_from([HOSTILE_REGEX, "(", "(?<=a)b", "ok|fine"])),
)


def _options(*pairs: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(*pairs), max_size=len(pairs), unique_by=lambda o: o.split("=", 1)[0]).map(
        " ".join
    )


_GRAMMAR: dict[str, st.SearchStrategy[str]] = {
    "help": st.one_of(st.just(""), st.sampled_from(_PHRASES), free_text),
    "list traces": _options(
        st.builds(
            "operation={}".format, st.one_of(quoted, st.sampled_from(["/petstore.v1.PetStore/AddPets", "op"]))
        ),
        st.builds("since={}".format, durations),
        st.builds("limit={}".format, st.integers(1, 100)),
        st.builds(
            "tags=[{}]".format,
            st.sampled_from(["error", "error,http.status_code=500", "a=b", "rpc.method=x"]),
        ),
        st.builds("service={}".format, st.one_of(quoted, st.just("petstore"))),
        st.builds("min={}".format, durations),
    ),
    "show trace": trace_ids,
    "show logs": trace_ids,
    "show sampling": st.just(""),
    "change sampling": st.sampled_from(["never", "always", "float 0.5", "float 25%", "float 1"]),
    "deployed version": st.one_of(st.just(""), st.sampled_from(["job=petstore", "job=other", "job=a:b.c-d"])),
    "alerts": _options(
        st.builds(lambda fs: "labels=[" + ",".join(fs) + "]", st.lists(label_filter, min_size=1, max_size=4)),
        st.builds("state={}".format, st.sampled_from(["firing", "pending", "FIRING"])),
        st.builds("since={}".format, durations),
    ),
    "silence": st.builds(
        lambda ms, d, c: f"{' '.join(ms)} for={d} {c}",
        st.lists(matcher, min_size=1, max_size=3),
        st.sampled_from(["1m", "2h", "1d", "30d"]),
        free_text,
    ),
    # A ref or name no card has (404), a ref's start, text that is neither (400).
    "ack": st.one_of(st.sampled_from(["3fa2c1d0", "#3FA2C1", "PetstoreDown", "a b", ""]), free_text),
    "unack": st.one_of(st.sampled_from(["3fa2c1", "PetstoreDown"]), free_text),
    "timeline": _options(
        st.builds("since={}".format, durations),
        st.builds("alert={}".format, st.sampled_from(["PetstoreDown", "3fa2c1d0", "a|b"])),
        st.builds("limit={}".format, st.integers(0, 501)),
    ),
    "history": _options(
        st.builds("limit={}".format, st.integers(1, 100)),
        st.builds(
            "user={}".format,
            st.sampled_from(["<@U024BE7LH>", "<@U024BE7LH|alice>", "@U0NOBODY1", "console:x"]),
        ),
        st.builds("command={}".format, st.sampled_from(["sampling.set", "traces", "version.get", "audit"])),
        st.builds("since={}".format, durations),
    ),
    # Mostly queries Prometheus refuses or finds nothing for (drawing costs a worker process's time).
    "graph": st.builds(
        lambda q, opts: f"{q} {opts}".strip(),
        st.one_of(
            st.sampled_from(
                [
                    f'{{__name__=~"{HOSTILE_REGEX}"}}',
                    'no_such_metric{job=~"(a|aa)+$"}',
                    "rate(no_such_metric[5m])",
                    "sum(",
                    "up{",
                    "`no_such_metric`",
                    "```no_such_metric```",
                    '"quoted"',
                    "1 +",
                ]
            ),
            free_text,
        )
        | st.sampled_from(["up"] * 1 + ["no_such_metric"] * 19),
        _options(
            st.builds("for={}".format, st.sampled_from(["30m", "6h", "30d", "0s"])),
            st.builds("step={}".format, st.sampled_from(["30s", "1ms", "1d"])),
        ),
    ),
    # Never a release other than the one running: a fuzzed deploy must be refused (400), not rolled out.
    "deploy": st.one_of(
        st.builds(
            "{} {}".format,
            st.sampled_from(["petstore", "PETSTORE", "billing", "pet$tore", "<@U024BE7LH>"]),
            st.sampled_from(["0.1.0", "9.9.9", "0.1.0-rc1", "..", "0.1.0;rm"]),
        ),
        free_text,
    ),
    "rollback": st.one_of(st.sampled_from(["petstore", "billing", "", "petstore now"]), free_text),
    "deploys": _options(st.builds("limit={}".format, st.integers(0, 101))),
    "dead letters": _options(
        st.builds("limit={}".format, st.integers(0, 101)),
        st.builds("replayed={}".format, st.sampled_from(["yes", "no", "maybe", ""])),
    ),
    "replay dead letters": st.one_of(
        st.sampled_from(["all", "1", "#2", "1,2,3", "0", "-1", "all 1", "9" * 25, "<@U024BE7LH>"]), free_text
    ),
    "release status": st.one_of(
        st.sampled_from(
            ["85c5e41", "85C5", "0.2.0", "0.9.9", "0bad", "abc", "1ccaa2aeaa13c11405ce10152c166158af3bd3e6"]
        ),
        free_text,
    ),
}
assert set(_GRAMMAR) == set(_PHRASES), "every command has a grammar here"


def _long(text: str, size: int) -> str:
    """`text` repeated (space-separated) and cut to `size` characters."""
    return ((text + " ") * (size // (len(text) + 1) + 1))[:size].strip() or "a"


# Strategies are built once: a strategy made inside a composite is validated again on every draw.
_SIZES = st.sampled_from([1000, 3900, MAX_TEXT])
_LONG_SHAPES = st.sampled_from(["comment", "operation", "labels", "help"])
_ONE_OVER = st.sampled_from(["", "", "x"])
_MENTIONS = st.sampled_from(["", "<@U0EMUB0T1> ", "<@U0EMUB0T1|chatops> "])
_MODES = st.sampled_from(["command"] * 7 + ["mutated"] * 2 + ["noise", "long"])
_NOISES = st.lists(noise, max_size=6)
_PHRASE = st.sampled_from(_PHRASES)
_SPELLINGS = {p: st.sampled_from([p, p, p.upper(), p.title()]) for p in _PHRASES}
_NOISE_AT = st.integers(1, 2)


@st.composite
def long_command(draw: st.DrawFn) -> str:
    """A valid command of about 4,000 characters (sometimes one over): the long part is free text."""
    size = draw(_SIZES)
    filler = draw(free_text)
    shape = draw(_LONG_SHAPES)
    if shape == "comment":
        head = "silence alertname=GatewayTestAlwaysFiring for=1h "
    elif shape == "operation":
        head = 'list traces operation="'
        filler = filler.replace('"', "")
    elif shape == "labels":
        head, filler = "alerts labels=[", draw(label_filter).replace(",", "").replace("]", "") + ","
    else:
        head = "help "
    text = head + _long(filler, size - len(head))
    text = {"operation": text[: size - 1] + '"', "labels": text[: size - 1] + "]"}.get(shape, text)
    return text + draw(_ONE_OVER)  # sometimes one over the cap


@st.composite
def command_text(draw: st.DrawFn) -> str:
    """One message text, up to 4,000 characters (sometimes one more).

    Mostly a known command with options that are nearly right and free text in Slack's shapes, so
    that most messages reach ops; sometimes one token of noise added; sometimes noise alone.
    """
    mention = draw(_MENTIONS)
    mode = draw(_MODES)
    if mode == "long":
        return mention + draw(long_command())
    if mode == "noise":
        return mention + " ".join(draw(_NOISES))
    phrase = draw(_PHRASE)
    parts = [draw(_SPELLINGS[phrase]), draw(_GRAMMAR[phrase])]
    if mode == "mutated":
        parts.insert(draw(_NOISE_AT), draw(noise))
    return mention + " ".join(p for p in parts if p)
