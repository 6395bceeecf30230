"""Call scripts: one YAML file per campaign, a graph of steps the agent clicks through.

Theory of operation. A script is a small directed graph. Each step has a *kind* that says what part of
the conversation it is (the page colours and groups them by kind):

    opening ─► offer ─┬─► objection (the customer's words as the title, our retention answer as text)
                      ├─► agreement (collects what the order needs: address, a time)
                      └─► refusal   (the reason is recorded, from the step's list)  ─► closing

`next` lists the steps offered after this one; the path the agent walks is sent back with the
disposition (`Disposition.script_path`) and checked here as a walk along those edges, so a report can
trust it. Texts are Jinja2 templates rendered with the lead's fields when the call is handed over.

Templates run in Jinja2's `ImmutableSandboxedEnvironment`: a script cannot reach Python internals,
call methods that mutate, or loop forever over a huge range. `lead`, `agent`, `campaign` and `call` are
field namespaces: `lead.items` is the lead's field `items` (as `lead['items']`), a missing one is
undefined, never a method of the dict (Jinja looks attributes up before items; `|default`, `|dictsort`,
`in` and `|length` do what the methods would). Everything that can be checked before a
shift starts is checked at load, with the file, the step and the fix in the message: unknown kinds,
dangling `next`, unreachable steps, dead ends, template syntax, and every `lead.<field>` a template
reads against the script's declared `fields` (each with a sample value, rendered once under
`StrictUndefined`). At call time rendering is lenient (a missing field renders empty) and never
raises, because it runs inside the engine's hand-off.

Templates are compiled once at load; a screen-pop only renders them (tens of microseconds per step).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.commands import Disposition
from agents.dispositions import (
    Choice,
    DispositionKind,
    DispositionRejected,
    DispositionSet,
    parse_disposition_set,
)
from dialer.errors import ConfigError

__all__ = [
    "CONTEXT_NAMES",
    "CallScript",
    "Collect",
    "ScriptError",
    "Step",
    "StepKind",
    "load_script",
    "load_scripts",
    "parse_script",
]

log = logging.getLogger(__name__)

CONTEXT_NAMES = frozenset({"lead", "agent", "campaign", "call"})
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RS, _US = "\x1e", "\x1f"  # separate steps, and a step's condition from its text, in the one-pass render
MAX_TEXT = 10_000


class ScriptError(ConfigError):
    """A call script file is invalid; the message names the file, the step and the fix."""


class StepKind(StrEnum):
    OPENING = "opening"
    OFFER = "offer"
    OBJECTION = "objection"
    AGREEMENT = "agreement"
    REFUSAL = "refusal"
    CLOSING = "closing"
    INFO = "info"


_Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Choice(_Base):
    code: _Id
    label: Annotated[str, Field(min_length=1, max_length=120)]


class _Collect(_Base):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label: Annotated[str, Field(min_length=1, max_length=120)]
    type: Literal["text", "date", "time", "datetime", "phone"] = "text"
    required: bool = True


class _Step(_Base):
    kind: StepKind
    title: Annotated[str, Field(min_length=1, max_length=120)]
    text: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    next: list[_Id] = []
    when: str | None = None
    reasons: list[_Choice] = []
    collect: list[_Collect] = []
    disposition: _Id | None = None


class _Doc(_Base):
    campaign: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,24}$")]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    start: _Id | None = None
    fields: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")], str] = {}
    steps: dict[_Id, _Step]
    dispositions: Any = None


@dataclass(frozen=True, slots=True)
class Collect:
    name: str
    label: str
    type: str
    required: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "type": self.type, "required": self.required}


@dataclass(frozen=True, slots=True)
class Step:
    """One validated step; `text` and `when` are Jinja2 template sources (compiled by `CallScript`)."""

    step_id: str
    kind: StepKind
    title: str
    next: tuple[str, ...]
    text: str
    when: str | None
    reasons: tuple[Choice, ...]
    collect: tuple[Collect, ...]
    disposition: str | None


class CallScript:
    """A validated, compiled script of one campaign, with the campaign's dispositions."""

    def __init__(self, *, campaign_id: str, title: str, start: str, steps: Mapping[str, Step],
                 dispositions: DispositionSet, sample: Mapping[str, str], source: str) -> None:
        self.campaign_id = campaign_id
        self.title = title
        self.start = start
        self.steps = dict(steps)
        self.dispositions = dispositions
        self.sample = dict(sample)
        self.source = source
        reasons: dict[str, Choice] = {}
        for s in self.steps.values():
            for c in s.reasons:
                reasons.setdefault(c.code, c)
        self.refusal_reasons: tuple[Choice, ...] = tuple(reasons.values())
        self.collect_fields = frozenset(c.name for s in self.steps.values() for c in s.collect)
        self._whole = _RUNTIME.from_string(_whole_source(self.steps.values()))
        self._each: dict[str, tuple[Template, Template | None]] | None = None

    # ------------------------------------------------------------------ rendering (hot path)
    def render(self, lead: Mapping[str, str], *, agent: Mapping[str, str] | None = None,
               call: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The script as the page shows it, rendered for this lead. Never raises: a step that fails to
        render shows an empty text and says why in `error`."""
        ctx = {"lead": _Fields("lead", lead), "agent": _Fields("agent", agent or {}),
               "campaign": _Fields("campaign", {"id": self.campaign_id, "title": self.title}),
               "call": _Fields("call", call or {})}
        rendered = self._render_whole(ctx)
        if rendered is None:
            rendered = self._render_each(ctx)
        steps: dict[str, dict[str, Any]] = {}
        visible = {sid: shown for sid, (shown, _t, _e) in rendered.items()}
        for sid, step in self.steps.items():
            shown, text, error = rendered[sid]
            if not shown:
                continue
            out: dict[str, Any] = {"kind": step.kind.value, "title": step.title,
                                   "next": [n for n in step.next if visible[n]], "text": text[:MAX_TEXT]}
            if error:
                out["error"] = error
            if step.reasons:
                out["reasons"] = [c.to_json() for c in step.reasons]
            if step.collect:
                out["collect"] = [c.to_json() for c in step.collect]
            if step.disposition:
                out["disposition"] = step.disposition
            steps[sid] = out
        return {"campaign_id": self.campaign_id, "title": self.title, "start": self.start, "steps": steps}

    def _render_whole(self, ctx: Mapping[str, Any]) -> dict[str, tuple[bool, str, str | None]] | None:
        """All steps in one template run (one Jinja context instead of one per step: 5-10x cheaper).
        None when anything is off, and the caller renders step by step to isolate the failure."""
        try:
            parts = self._whole.render(ctx).split(_RS)
        except Exception:
            return None
        if len(parts) != len(self.steps) + 1:
            return None
        out: dict[str, tuple[bool, str, str | None]] = {}
        for sid, part in zip(self.steps, parts[1:], strict=True):
            flag, sep, text = part.partition(_US)
            if not sep or _US in text:
                return None
            out[sid] = (sid == self.start or flag == "1", text, None)
        return out

    def _render_each(self, ctx: Mapping[str, Any]) -> dict[str, tuple[bool, str, str | None]]:
        if self._each is None:  # compiled on first need: the one-pass render almost always suffices
            self._each = {sid: (_RUNTIME.from_string(st.text), _RUNTIME.from_string(_when_source(st.when))
                                if st.when else None) for sid, st in self.steps.items()}
        out: dict[str, tuple[bool, str, str | None]] = {}
        for sid, (text, when) in self._each.items():
            shown = sid == self.start or when is None or _truthy(when, ctx, self.campaign_id, sid)
            try:
                out[sid] = (shown, text.render(ctx), None)
            except Exception as exc:  # a screen-pop must go out even when one step cannot render
                log.warning("script step failed to render", extra={"campaign_id": self.campaign_id,
                                                                    "action": sid, "error": repr(exc)})
                out[sid] = (shown, "", f"this step could not be rendered ({type(exc).__name__})")
        return out

    # ------------------------------------------------------------------ checking what comes back
    def check_path(self, path: Sequence[str]) -> None:
        """A script path must be a walk from the start along `next`. Raises DispositionRejected."""
        if not path:
            return
        if path[0] != self.start:
            raise DispositionRejected("script_path", f"must begin at {self.start!r}, not {path[0]!r}")
        for i, (a, b) in enumerate(itertools.pairwise(path), start=1):
            step = self.steps.get(b)
            if step is None:
                raise DispositionRejected(f"script_path[{i}]", f"{b!r} is not a step of this script")
            if b not in self.steps[a].next:
                raise DispositionRejected(f"script_path[{i}]", f"{b!r} does not follow {a!r} in the script")

    def validate_disposition(self, cmd: Disposition, now: float) -> Disposition:
        """Check a `Disposition` command's path and fields for this campaign; return it normalised."""
        self.check_path(cmd.script_path)
        walked = [self.steps[s] for s in cmd.script_path]
        refusal_reasons = [c for s in walked for c in s.reasons] or list(self.refusal_reasons) or None
        spec = self.dispositions.get(cmd.code)
        if spec is not None and spec.kind in (DispositionKind.AGREED, DispositionKind.SALE):
            for s in walked:
                for c in s.collect:
                    if c.required and not cmd.fields.get(c.name, "").strip():
                        raise DispositionRejected(f"fields.{c.name}", f"{c.label!r} is required by step {s.step_id!r}")
        return self.dispositions.validate(cmd, now, reasons=refusal_reasons, extra_fields=self.collect_fields)


def _truthy(tpl: Template, ctx: Mapping[str, Any], campaign_id: str, sid: str) -> bool:
    try:
        return tpl.render(ctx).strip().lower() not in ("", "false", "0", "none")
    except Exception as exc:  # a broken condition hides the step rather than the whole pop
        log.warning("script condition failed", extra={"campaign_id": campaign_id, "action": sid, "error": repr(exc)})
        return False


# ---------------------------------------------------------------------- loading and validation
class _Lenient(ChainableUndefined):
    """At call time a missing lead field reads as empty, and as 0 for `|int` / `|float` and comparisons,
    so one blank column in a list cannot blank the agent's script."""

    __slots__ = ()

    def __int__(self) -> int:  # type: ignore[override]
        return 0

    def __float__(self) -> float:  # type: ignore[override]
        return 0.0

    def _cmp(self, other: object) -> bool:
        return False

    __lt__ = __le__ = __gt__ = __ge__ = _cmp  # type: ignore[assignment]


class _Fields(dict[str, Any]):
    """The fields of one of the template names (`lead`, `agent`, `campaign`, `call`) as templates see them:
    every attribute is a field (`_ScriptEnvironment`)."""

    __slots__ = ("name",)

    def __init__(self, name: str, fields: Mapping[str, Any]) -> None:
        super().__init__(fields)
        self.name = name


class _ScriptEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with `_Fields` read as field namespaces: `lead.items`, `lead.get` and `lead['items']` are
    the lead's fields of those names, undefined when it has none. Jinja's own lookup tries the attribute
    first, so a field named like a dict method (items, values, keys, get, copy...) rendered the bound
    method, with a server address, instead of the customer's data; and a missing field fell back to it."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, _Fields):
            return self._field(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, _Fields) and isinstance(argument, str):
            return self._field(obj, argument)
        return super().getitem(obj, argument)

    def _field(self, fields: _Fields, name: str) -> Any:
        try:
            return fields[name]
        except KeyError:
            return self.undefined(obj=fields, name=name, hint=f"{fields.name} has no field {name!r}")


_RUNTIME = _ScriptEnvironment(undefined=_Lenient, autoescape=False, keep_trailing_newline=False)
_STRICT = _ScriptEnvironment(undefined=StrictUndefined, autoescape=False)


def load_scripts(directory: Path) -> dict[str, CallScript]:
    """Every `*.yaml` / `*.yml` script under `directory`, by campaign id. Raises ScriptError."""
    out: dict[str, CallScript] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        script = load_script(path)
        if script.campaign_id in out:
            raise ScriptError(f"{path}: campaign {script.campaign_id!r} already has a script "
                              f"({out[script.campaign_id].source}); keep one file per campaign")
        out[script.campaign_id] = script
    return out


def load_script(path: Path) -> CallScript:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"{path}: cannot read the script: {exc.strerror}") from None
    return parse_script(text, str(path))


def parse_script(text: str, source: str = "<script>") -> CallScript:
    """Parse and validate one script file's text. Raises ScriptError naming `source` and the step."""
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)  # a SafeLoader: libyaml's when installed
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ScriptError(f"{source}:{where}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ScriptError(f"{source}: a script is a mapping with campaign, title, fields and steps")
    try:
        doc = _Doc.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ScriptError(f"{source}: {loc}: {first['msg']}") from None
    if not doc.steps:
        raise ScriptError(f"{source}: steps is empty; a script needs at least an opening and a closing")
    dispositions = parse_disposition_set(doc.dispositions, source)
    start = doc.start or next(iter(doc.steps))
    _check_graph(doc, start, source)
    steps = {sid: _compile(sid, s, doc, source) for sid, s in doc.steps.items()}
    for sid, s in doc.steps.items():
        if s.disposition is not None and dispositions.get(s.disposition) is None:
            raise ScriptError(f"{source}: step {sid!r}: disposition {s.disposition!r} is not in this campaign's "
                              f"dispositions ({', '.join(dispositions.codes())})")
    script = CallScript(campaign_id=doc.campaign, title=doc.title, start=start, steps=steps,
                        dispositions=dispositions, sample=doc.fields, source=source)
    _try_sample(doc, script, source)
    return script


def _check_graph(doc: _Doc, start: str, source: str) -> None:
    steps = doc.steps
    if start not in steps:
        raise ScriptError(f"{source}: start {start!r} is not a step; steps are {', '.join(steps)}")
    if steps[start].kind is not StepKind.OPENING:
        raise ScriptError(f"{source}: the start step {start!r} must be kind opening, not {steps[start].kind.value}")
    if steps[start].when is not None:
        raise ScriptError(f"{source}: the start step {start!r} cannot have a when: condition")
    for sid, s in steps.items():
        for n in s.next:
            if n not in steps:
                raise ScriptError(f"{source}: step {sid!r}: next {n!r} is not a step; steps are {', '.join(steps)}")
        if any(ch in (s.text + (s.when or "")) for ch in (_RS, _US)):
            raise ScriptError(f"{source}: step {sid!r} contains a control character (\\x1e or \\x1f); remove it")
        if s.kind is StepKind.CLOSING and s.next:
            raise ScriptError(f"{source}: step {sid!r} is a closing; it cannot have next steps")
        if s.kind is not StepKind.CLOSING and not s.next:
            raise ScriptError(f"{source}: step {sid!r} is a dead end: give it next steps or make it kind closing")
        if s.kind is StepKind.OBJECTION and not s.text.strip():
            raise ScriptError(f"{source}: objection {sid!r} needs its retention answer in text")
        if s.kind is StepKind.REFUSAL and not s.reasons:
            raise ScriptError(f"{source}: refusal {sid!r} needs reasons (the codes the agent records)")
        if s.reasons and s.kind is not StepKind.REFUSAL:
            raise ScriptError(f"{source}: step {sid!r}: reasons only belong on refusal steps")
        if s.collect and s.kind is not StepKind.AGREEMENT:
            raise ScriptError(f"{source}: step {sid!r}: collect only belongs on agreement steps")
        codes = [c.code for c in s.reasons]
        if len(set(codes)) != len(codes):
            raise ScriptError(f"{source}: refusal {sid!r} lists a reason twice")
    seen, todo = {start}, [start]
    while todo:
        for n in steps[todo.pop()].next:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    lost = [sid for sid in steps if sid not in seen]
    if lost:
        raise ScriptError(f"{source}: step {lost[0]!r} cannot be reached from {start!r}; link it or remove it")
    ends = {sid for sid, s in steps.items() if s.kind is StepKind.CLOSING}
    if not ends:
        raise ScriptError(f"{source}: no closing step; every call must be able to end politely")
    closable, changed = set(ends), True
    while changed:
        changed = False
        for sid, s in steps.items():
            if sid not in closable and any(n in closable for n in s.next):
                closable.add(sid)
                changed = True
    stuck = [sid for sid in steps if sid not in closable]
    if stuck:
        raise ScriptError(f"{source}: from step {stuck[0]!r} no closing can be reached (a loop with no way out)")


def _when_source(when: str) -> str:
    return "{{ (" + when + ") and 1 or '' }}"


def _whole_source(steps: Iterable[Step]) -> str:
    """Every step in one template: per step, a separator, its condition's flag, a separator, its text.
    `{% with %}` keeps a `{% set %}` in one step from leaking into the next."""
    return "".join(_RS + "{% with %}" + (_when_source(st.when) if st.when else "1") + _US + st.text + "{% endwith %}"
                   for st in steps)


def _compile(sid: str, s: _Step, doc: _Doc, source: str) -> Step:
    where = f"{source}: step {sid!r}"
    _check_template(s.text, f"{where} text", doc)
    if s.when:
        _check_template(_when_source(s.when), f"{where} when", doc)
    return Step(
        step_id=sid,
        kind=s.kind,
        title=s.title,
        next=tuple(s.next),
        text=s.text,
        when=s.when,
        reasons=tuple(Choice(c.code, c.label) for c in s.reasons),
        collect=tuple(Collect(c.name, c.label, c.type, c.required) for c in s.collect),
        disposition=s.disposition,
    )


def _check_template(source_text: str, where: str, doc: _Doc) -> None:
    try:
        ast = _STRICT.parse(source_text)
    except TemplateSyntaxError as exc:
        raise ScriptError(f"{where}, line {exc.lineno}: {exc.message}") from None
    unknown = sorted(meta.find_undeclared_variables(ast) - CONTEXT_NAMES)
    if unknown:
        raise ScriptError(f"{where}: {unknown[0]!r} is not defined; templates see {', '.join(sorted(CONTEXT_NAMES))}")
    for name in _lead_fields(ast):
        if name not in doc.fields:
            declared = ", ".join(sorted(doc.fields)) or "none"
            raise ScriptError(f"{where}: reads lead.{name}, which is not declared under fields: "
                              f"(declared: {declared}); declare it with a sample value or fix the name")


def _lead_fields(ast: nodes.Template) -> set[str]:
    out: set[str] = set()
    for node in ast.find_all(nodes.Getattr):
        assert isinstance(node, nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == "lead":
            out.add(node.attr)
    for item in ast.find_all(nodes.Getitem):
        assert isinstance(item, nodes.Getitem)
        if isinstance(item.node, nodes.Name) and item.node.name == "lead" and isinstance(item.arg, nodes.Const):
            out.add(str(item.arg.value))
    return out


def _try_sample(doc: _Doc, script: CallScript, source: str) -> None:
    """Render the script once with the declared sample values, strictly, to catch what parsing cannot:
    sandbox violations, filters on the wrong type, undefined attributes of agent/campaign/call. All steps
    in one pass; only when that fails, step by step to name the culprit."""
    ctx = {"lead": _Fields("lead", doc.fields), "agent": _Fields("agent", {"id": "a1", "name": "Agent"}),
           "campaign": _Fields("campaign", {"id": doc.campaign, "title": doc.title}),
           "call": _Fields("call", {"attempt": 1, "number": "+15550100"})}
    try:
        _STRICT.from_string(_whole_source(script.steps.values())).render(ctx)
        return
    except Exception:  # found below, step by step
        pass
    for sid, st in script.steps.items():
        for label, src in (("text", st.text), ("when", _when_source(st.when) if st.when else None)):
            if src is None:
                continue
            try:
                _STRICT.from_string(src).render(ctx)
            except SecurityError as exc:
                raise ScriptError(f"{source}: step {sid!r} {label}: not allowed in a script: {exc}") from None
            except TemplateError as exc:
                raise ScriptError(f"{source}: step {sid!r} {label}: fails with the sample fields: {exc}") from None
            except Exception as exc:
                raise ScriptError(f"{source}: step {sid!r} {label}: fails with the sample fields: "
                                  f"{type(exc).__name__}: {exc}") from None
    raise ScriptError(f"{source}: the script fails with the sample fields, though each step renders alone")
