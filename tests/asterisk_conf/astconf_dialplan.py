"""extensions.conf as data, and Asterisk's string rules the dialplan relies on.

`Dialplan.load` builds contexts -> extensions -> numbered steps from pyst2's items, resolving
`same =>`, `n` priorities and `n(label)` labels the way pbx_config does. `substitute` expands
`${VAR}`, `${FUNC(args)}` and `$[expression]` (innermost first, as pbx_substitute_variables
does), `split_args` splits application data as ast_app_separate_args does (commas outside
parentheses, brackets and quotes; quotes removed). Only what this project's dialplan uses is
implemented; anything else raises `Unsupported` so a test fails instead of guessing.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from asterisk.config import Config


class Unsupported(AssertionError):
    """The dialplan uses something this model does not implement: extend the model."""


@dataclass(frozen=True)
class Step:
    priority: int
    label: str | None
    app: str
    data: str
    line: int


@dataclass
class Dialplan:
    contexts: dict[str, dict[str, list[Step]]] = field(default_factory=dict)
    globals: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, cfg: Config) -> Dialplan:
        plan = cls()
        for cat in cfg.categories:
            if cat.name == "general":
                continue
            if cat.name == "globals":
                plan.globals.update({i.name: i.value.strip() for i in cat.items})
                continue
            exts = plan.contexts.setdefault(cat.name, {})
            current: str | None = None
            for item in cat.items:
                if item.name not in ("exten", "same"):
                    raise Unsupported(f"line {item.number}: `{item.name}` in [{cat.name}]")
                text = item.value.strip()
                if item.name == "exten":
                    current, text = text.split(",", 1)
                if current is None:
                    raise Unsupported(f"line {item.number}: `same` before any `exten`")
                prio_text, app_text = text.split(",", 1)
                steps = exts.setdefault(current, [])
                m = re.fullmatch(r"(\d+|n)(?:\(([\w-]+)\))?", prio_text.strip())
                if not m:
                    raise Unsupported(f"line {item.number}: priority {prio_text!r}")
                prio = len(steps) + 1 if m.group(1) == "n" else int(m.group(1))
                if prio != len(steps) + 1:
                    raise Unsupported(f"line {item.number}: priorities must run 1, 2, 3...")
                app_m = re.fullmatch(r"(\w+)\((.*)\)", app_text.strip(), re.S)
                if not app_m:
                    raise Unsupported(f"line {item.number}: application call {app_text!r}")
                steps.append(Step(prio, m.group(2), app_m.group(1), app_m.group(2), item.number))
        return plan

    def match(self, context: str, exten: str) -> str | None:
        """The extension of `context` that `exten` dials: an exact name first, then a pattern."""
        exts = self.contexts.get(context, {})
        if exten in exts:
            return exten
        for name in exts:
            if name.startswith("_") and pattern_matches(name, exten):
                return name
        return None

    def steps(self, context: str) -> list[Step]:
        return [s for exts in self.contexts.get(context, {}).values() for s in exts]


def pattern_matches(pattern: str, exten: str) -> bool:
    """Asterisk extension patterns: X Z N [set] . ! (leading underscore)."""
    rx = ""
    i, p = 0, pattern[1:]
    while i < len(p):
        c = p[i]
        if c == "X":
            rx += "[0-9]"
        elif c == "Z":
            rx += "[1-9]"
        elif c == "N":
            rx += "[2-9]"
        elif c == ".":
            rx += ".+"
        elif c == "!":
            rx += ".*"
        elif c == "[":
            end = p.index("]", i)
            rx += "[" + re.sub(r"([\\^\]])", r"\\\1", p[i + 1 : end]) + "]"
            i = end
        else:
            rx += re.escape(c)
        i += 1
    return re.fullmatch(rx, exten) is not None


def split_args(data: str, delim: str = ",") -> list[str]:
    args: list[str] = []
    cur: list[str] = []
    paren = bracket = 0
    quote = False
    i = 0
    while i < len(data):
        c = data[i]
        if c == "\\" and i + 1 < len(data):
            cur.append(data[i + 1])
            i += 2
            continue
        if c == '"':
            quote = not quote
        elif c == "(":
            paren += 1
            cur.append(c)
        elif c == ")":
            paren = max(0, paren - 1)
            cur.append(c)
        elif c == "[":
            bracket += 1
            cur.append(c)
        elif c == "]":
            bracket = max(0, bracket - 1)
            cur.append(c)
        elif c == delim and not (paren or bracket or quote):
            args.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    args.append("".join(cur))
    return args


def truthy(text: str) -> bool:
    """pbx_checkcondition: empty is false, an integer is its value, any other text is true."""
    text = text.strip()
    if not text:
        return False
    try:
        return int(text) != 0
    except ValueError:
        return True


def _closing(s: str, start: int, opening: str, closing: str) -> int:
    depth = 0
    for i in range(start, len(s)):
        if s[i] == opening:
            depth += 1
        elif s[i] == closing:
            depth -= 1
            if depth == 0:
                return i
    raise Unsupported(f"unbalanced {opening}{closing} in {s!r}")


def substitute(text: str, lookup: Callable[[str], str],
               functions: Mapping[str, Callable[[str], str]] | None = None) -> str:
    """`functions`: dialplan functions with state outside the channel (DB), by name, given their argument."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            end = _closing(text, i + 1, "{", "}")
            out.append(_expand(substitute(text[i + 2 : end], lookup, functions), lookup, functions or {}))
            i = end + 1
        elif text.startswith("$[", i):
            end = _closing(text, i + 1, "[", "]")
            out.append(evaluate(substitute(text[i + 2 : end], lookup, functions)))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expand(inner: str, lookup: Callable[[str], str], functions: Mapping[str, Callable[[str], str]]) -> str:
    m = re.fullmatch(r"([A-Z_]+)\((.*)\)", inner, re.S)
    if not m:
        if not re.fullmatch(r"[A-Za-z0-9_]+", inner):
            raise Unsupported(f"variable reference ${{{inner}}}")
        return lookup(inner)
    func, args = m.group(1), m.group(2)
    if func == "IF":
        cond, _, branches = args.partition("?")
        yes, _, no = branches.partition(":")
        return yes if truthy(cond) else no
    if func == "FILTER":
        allowed, _, value = args.partition(",")
        if not re.fullmatch(r".-.", allowed):
            raise Unsupported(f"FILTER with allowed characters {allowed!r} (only one range a-b)")
        return "".join(c for c in value if allowed[0] <= c <= allowed[2])
    if func == "URIDECODE":
        return urllib.parse.unquote(args)
    if func == "LEN":
        return str(len(args))
    if func == "STRFTIME":
        epoch, tz, fmt = [*split_args(args), "", ""][:3]
        if tz != "UTC" or not epoch.isdigit():
            raise Unsupported(f"STRFTIME({args}) (only <epoch>,UTC,<format>)")
        return time.strftime(fmt or "%c", time.gmtime(int(epoch)))
    if func in functions:
        return functions[func](args)
    raise Unsupported(f"dialplan function {func}()")


# + and - only as operators with a space after them (`-5` stays a number), as this dialplan writes them
_TOKEN = re.compile(r'\s*("[^"]*"|!=|<=|>=|[=<>&|()]|[+-](?=\s)|[^\s"=!<>&|()]+)')


def evaluate(expr: str) -> str:
    """$[...] after substitution: = != < > <= >= & | and parentheses over strings or integers; + - over
    integers."""
    tokens: list[str] = []
    pos = 0
    while expr[pos:].strip():
        m = _TOKEN.match(expr, pos)
        if not m:
            raise Unsupported(f"expression $[{expr}]")
        tokens.append(m.group(1))
        pos = m.end()
    if not tokens:
        raise Unsupported("empty expression $[]")
    pos = 0

    def atom() -> str:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            val = disjunction()
            pos += 1
            return val
        return tok

    def additive() -> str:
        # ast_expr2: + and - bind tighter than comparisons; only integer arithmetic is modelled
        nonlocal pos
        val = atom()
        while pos < len(tokens) and tokens[pos] in ("+", "-"):
            op = tokens[pos]
            pos += 1
            right = atom()
            if not (re.fullmatch(r"-?\d+", val) and re.fullmatch(r"-?\d+", right)):
                raise Unsupported(f"expression $[{expr}] (+ and - only over integers)")
            val = str(int(val) + int(right) if op == "+" else int(val) - int(right))
        return val

    def comparison() -> str:
        # ast_expr2: two unquoted numbers compare as numbers; anything else compares as text,
        # quotes included (so "01" = "1" is false).
        nonlocal pos
        left = additive()
        if pos < len(tokens) and tokens[pos] in ("=", "!=", "<", ">", "<=", ">="):
            op = tokens[pos]
            pos += 1
            right = additive()
            a: int | str = left
            b: int | str = right
            if re.fullmatch(r"-?\d+", left) and re.fullmatch(r"-?\d+", right):
                a, b = int(left), int(right)
            ops = {"=": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}  # type: ignore[operator]
            return "1" if ops[op] else "0"
        return left

    def conjunction() -> str:
        nonlocal pos
        val = comparison()
        while pos < len(tokens) and tokens[pos] == "&":
            pos += 1
            right = comparison()
            val = "1" if truthy(val) and truthy(right) else "0"
        return val

    def disjunction() -> str:
        nonlocal pos
        val = conjunction()
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            right = conjunction()
            val = "1" if truthy(val) or truthy(right) else "0"
        return val

    result = disjunction()
    if pos != len(tokens):
        raise Unsupported(f"expression $[{expr}]")
    return result[1:-1] if result.startswith('"') else result
