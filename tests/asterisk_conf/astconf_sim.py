"""A small interpreter of the applications this project's dialplan uses.

It runs extensions.conf the way Asterisk would for one call so the tests can assert on behaviour
(which UserEvents come out, with which headers, in which order; whether AMD ran; what was dialed
and with which timeout) rather than on text. What the outside world does is a `Scenario`: AMD's
verdict, what each Dial gets, whether a Wait() ends by timeout, hang-up or a Redirect, which
sound files exist. Channel variables follow Asterisk's rules: `Set(__X=)` is inherited by every
channel a Dial creates, `Set(_X=)` one level, plain ones not at all; the ;2 half of a Local
channel copies all variables of its ;1 half.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from astconf_dialplan import Dialplan, Step, Unsupported, split_args, substitute, truthy

FAILED_DIAL_CAUSE = {"BUSY": "17", "NOANSWER": "19", "CONGESTION": "34", "CHANUNAVAIL": "20", "CANCEL": "16"}


@dataclass
class Channel:
    name: str
    vars: dict[str, tuple[str, str]] = field(default_factory=dict)  # bare name -> (full name, value)
    context: str = ""
    exten: str = ""
    priority: int = 1
    hangupcause: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    up: bool = True
    local_half: bool = False  # the ;2 half of a Local channel another leg dialed

    def get(self, name: str) -> str | None:
        found = self.vars.get(name.lstrip("_"))
        return None if found is None else found[1]

    def set(self, full_name: str, value: str) -> None:
        self.vars[full_name.lstrip("_")] = (full_name, value)

    def inherit_to(self, child: Channel) -> None:
        for full, val in self.vars.values():
            if full.startswith("__"):
                child.set(full, val)
            elif full.startswith("_"):
                child.set(full[1:], val)


@dataclass
class Scenario:
    amd: tuple[str, str] | None = ("HUMAN", "HUMAN-800-800")  # None: hang-up during detection
    on_wait: str = "block"  # block (until redirect/hangup) | timeout | hangup
    dial: dict[str, str] = field(default_factory=dict)  # dial string prefix -> DIALSTATUS
    # dial string prefix -> the callee's hangup cause, which app_dial copies to the caller's HANGUPCAUSE
    # when the dial fails (default: FAILED_DIAL_CAUSE of the status)
    causes: dict[str, str] = field(default_factory=dict)
    bridge_ended_by: str = "callee"  # who hangs up an answered Dial: callee | caller
    sounds: set[str] = field(default_factory=set)
    digits: str = ""
    epoch: int = 1_795_000_000  # ${EPOCH} (2026-11-18 UTC)

    def dial_status(self, dest: str) -> str:
        for prefix, status in self.dial.items():
            if dest.startswith(prefix):
                return status
        return "ANSWER"

    def dial_cause(self, dest: str, status: str) -> str:
        for prefix, cause in self.causes.items():
            if dest.startswith(prefix):
                return cause
        return FAILED_DIAL_CAUSE.get(status, "16")


@dataclass(frozen=True)
class DialRecord:
    channel: str
    dest: str
    timeout: str
    options: dict[str, str]


class _HangupSignal(Exception):
    def __init__(self, cause: str) -> None:
        self.cause = cause


class _Jump(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


class _Return(Exception):
    pass


class _Blocked(Exception):
    pass


class Sim:
    def __init__(self, plan: Dialplan, scenario: Scenario | None = None) -> None:
        self.plan = plan
        self.scenario = scenario or Scenario()
        self.events: list[dict[str, str]] = []
        self.apps: list[tuple[str, str, str, str]] = []  # channel, context, application, data
        self.dials: list[DialRecord] = []
        self.played: list[str] = []
        self.callees: list[Channel] = []  # channels Dial created, with the headers set on them
        self.astdb: dict[str, str] = {}  # Asterisk's database: "/<family>/<key>" -> value, as astdb stores it
        # called before each dialplan step a channel runs: a test can run other channels there, as Asterisk's
        # channel threads interleave (a channel's step is atomic here; the test picks where others cut in)
        self.before_step: Callable[[Channel, str, Step], None] | None = None

    # --- what the daemon and the far end do --------------------------------------------------
    def originate(self, variables: dict[str, str], name: str = "Local/15551230@dialer-outbound-1;1") -> Channel:
        ch = Channel(name)
        for k, v in variables.items():
            ch.set(k, v)
        return ch

    def start(self, ch: Channel, context: str, exten: str) -> str:
        ch.context, ch.exten, ch.priority = context, exten, 1
        return self._drive(ch)

    def redirect(self, ch: Channel, context: str, exten: str) -> str:
        assert ch.up, f"{ch.name} is already hung up"
        return self.start(ch, context, exten)

    def hangup(self, ch: Channel, cause: str = "16") -> str:
        self._hung_up(ch, cause)
        return "hungup"

    def user_events(self, name: str | None = None) -> list[dict[str, str]]:
        return [e for e in self.events if name is None or e["UserEvent"] == name]

    def ran(self, app: str) -> list[tuple[str, str, str, str]]:
        return [a for a in self.apps if a[2].lower() == app.lower()]

    # --- the interpreter --------------------------------------------------------------------
    def _lookup(self, ch: Channel, args: dict[str, str]) -> Callable[[str], str]:
        def lookup(name: str) -> str:
            special = {"EXTEN": ch.exten, "CONTEXT": ch.context, "HANGUPCAUSE": ch.hangupcause,
                       "EPOCH": str(self.scenario.epoch)}
            if name in special:
                return special[name]
            if name in args:
                return args[name]
            value = ch.get(name)
            return value if value is not None else self.plan.globals.get(name, "")

        return lookup

    def _drive(self, ch: Channel) -> str:
        try:
            self._run(ch, {})
        except _Blocked:
            return "waiting"
        except _HangupSignal as h:
            self._hung_up(ch, h.cause)
            return "hungup"
        self._hung_up(ch, "16")  # autofallthrough
        return "hungup"

    def _hung_up(self, ch: Channel, cause: str) -> None:
        ch.up = False
        ch.hangupcause = cause or ch.hangupcause or "16"
        if self.plan.match(ch.context, "h") is None:
            return
        ch.exten, ch.priority = "h", 1
        try:
            self._run(ch, {})
        except _HangupSignal:
            pass
        except _Blocked as exc:
            raise Unsupported(f"{ch.context},h blocks after hang-up") from exc

    def _run(self, ch: Channel, args: dict[str, str]) -> None:
        while True:
            ext = self.plan.match(ch.context, ch.exten)
            steps = self.plan.contexts[ch.context][ext] if ext else []
            if ch.priority > len(steps):
                return
            step = steps[ch.priority - 1]
            if self.before_step is not None:
                self.before_step(ch, ch.context, step)
            functions = {"DB": self._db_read, "DB_KEYS": self._db_keys, "POP": lambda var: self._pop(ch, var)}
            data = substitute(step.data, self._lookup(ch, args), functions)
            self.apps.append((ch.name, ch.context, step.app, data))
            ch.priority += 1
            handler = getattr(self, f"_app_{step.app.lower()}", None)
            if handler is None:
                raise Unsupported(f"line {step.line}: application {step.app}")
            try:
                handler(ch, data)
            except _Jump as j:
                self._goto(ch, j.target)

    def _goto(self, ch: Channel, target: str) -> None:
        parts = [p.strip() for p in target.split(",")]
        context, exten = ch.context, ch.exten
        if len(parts) == 3:
            context, exten, prio = parts
        elif len(parts) == 2:
            exten, prio = parts
        else:
            prio = parts[0]
        ext = self.plan.match(context, exten)
        assert ext is not None, f"Goto target {context},{exten} does not exist"
        steps = self.plan.contexts[context][ext]
        if prio.isdigit():
            number = int(prio)
        else:
            labelled = [s.priority for s in steps if s.label == prio]
            assert labelled, f"Goto label {prio} missing in {context},{ext}"
            number = labelled[0]
        assert 1 <= number <= len(steps), f"Goto {target}: no such priority"
        ch.context, ch.exten, ch.priority = context, exten, number

    def gosub(self, ch: Channel, target: str, *argv: str) -> None:
        """Run `Gosub(target)` on `ch` as one of its dialplan steps would."""
        self._gosub(ch, target, list(argv))

    def _gosub(self, ch: Channel, target: str, argv: list[str]) -> None:
        saved = (ch.context, ch.exten, ch.priority)
        self._goto(ch, target)
        try:
            self._run(ch, {f"ARG{i}": a for i, a in enumerate(argv, start=1)})
            raise Unsupported(f"Gosub {target} ended without Return()")
        except _Return:
            pass
        ch.context, ch.exten, ch.priority = saved

    # --- applications -----------------------------------------------------------------------
    def _app_noop(self, ch: Channel, data: str) -> None:
        pass

    _app_log = _app_verbose = _app_answer = _app_waitforsilence = _app_noop

    def _app_mixmonitor(self, ch: Channel, data: str) -> None:
        # Only attaches a recorder to the channel (`ran("MixMonitor")` says where and with what); like
        # app_mixmonitor, it leaves the file's name in MIXMONITOR_FILENAME.
        ch.set("MIXMONITOR_FILENAME", data.partition(",")[0])

    @staticmethod
    def _db_path(arg: str, what: str) -> str:
        """func_db and app_db: the family is up to the first '/', the key (or key tree) is the rest."""
        family, sep, key = arg.partition("/")
        if not family or (what != "DBdeltree" and not key) or (what == "DBdeltree" and sep and not key):
            raise Unsupported(f"{what}({arg}): needs <family>/<key>")
        return f"/{family}/{key}" if key else f"/{family}"

    def _db_read(self, arg: str) -> str:
        """DB(<family>/<key>) read: the value, empty when there is none."""
        return self.astdb.get(self._db_path(arg, "DB"), "")

    def _db_keys(self, arg: str) -> str:
        """DB_KEYS(<prefix>): the names one level under it, comma-separated, in key order (func_db)."""
        if not arg.strip():
            raise Unsupported("DB_KEYS() of every family")
        prefix = self._db_path(arg.strip(), "DBdeltree") + "/"
        names = {k[len(prefix):].split("/")[0] for k in self.astdb if k.startswith(prefix)}
        return ",".join(sorted(names))

    @staticmethod
    def _pop(ch: Channel, arg: str) -> str:
        """POP(<var>): the last comma-separated item of the variable, which keeps the others (func_strings)."""
        name, _, delim = arg.partition(",")
        if delim:
            raise Unsupported(f"POP({arg}) (only the default delimiter)")
        full = ch.vars.get(name.lstrip("_"), (name, ""))[0]
        rest, _, last = (ch.get(name) or "").rpartition(",")
        ch.set(full, rest)
        return last

    def _app_dbdeltree(self, ch: Channel, data: str) -> None:
        """DBdeltree(<family>[/<keytree>]): every key under it (ast_db_deltree matches `<prefix>/%`)."""
        prefix = self._db_path(data.strip(), "DBdeltree") + "/"
        for key in [k for k in self.astdb if k.startswith(prefix)]:
            del self.astdb[key]

    def _app_set(self, ch: Channel, data: str) -> None:
        name, sep, val = data.partition("=")
        if not sep:
            raise Unsupported(f"Set({data})")
        m = re.fullmatch(r"PJSIP_HEADER\(add,([\w-]+)\)", name)
        db = re.fullmatch(r"DB\((.*)\)", name)
        if db:
            self.astdb[self._db_path(db.group(1), "DB")] = val
        elif m:
            ch.headers.append((m.group(1), val))
        elif "(" in name:
            raise Unsupported(f"Set of function {name}")
        else:
            ch.set(name, val)

    def _app_gotoif(self, ch: Channel, data: str) -> None:
        cond, _, branches = data.partition("?")
        yes, _, no = branches.partition(":")
        target = yes if truthy(cond) else no
        if target:
            raise _Jump(target)

    def _app_goto(self, ch: Channel, data: str) -> None:
        raise _Jump(data)

    def _app_gosub(self, ch: Channel, data: str) -> None:
        m = re.fullmatch(r"([^(]*?)(?:\((.*)\))?", data, re.S)
        assert m is not None
        self._gosub(ch, m.group(1), split_args(m.group(2)) if m.group(2) is not None else [])

    def _app_return(self, ch: Channel, data: str) -> None:
        raise _Return

    def _app_amd(self, ch: Channel, data: str) -> None:
        if self.scenario.amd is None:
            ch.set("AMDSTATUS", "HANGUP")
            ch.set("AMDCAUSE", "")
            raise _HangupSignal("16")
        ch.set("AMDSTATUS", self.scenario.amd[0])
        ch.set("AMDCAUSE", self.scenario.amd[1])

    def _app_userevent(self, ch: Channel, data: str) -> None:
        args = split_args(data)
        event = {"Event": "UserEvent", "UserEvent": args[0], "Channel": ch.name, "Context": ch.context}
        for arg in args[1:]:
            key, sep, val = arg.partition(":")  # like app_userevent: the key is not stripped
            if sep:
                event[key] = val.strip()
        self.events.append(event)

    def _app_wait(self, ch: Channel, data: str) -> None:
        if self.scenario.on_wait == "block":
            raise _Blocked
        if self.scenario.on_wait == "hangup":
            raise _HangupSignal("16")

    def _app_playback(self, ch: Channel, data: str) -> None:
        sound = split_args(data)[0]
        self.played.append(sound)
        ch.set("PLAYBACKSTATUS", "SUCCESS" if sound in self.scenario.sounds else "FAILED")

    def _app_read(self, ch: Channel, data: str) -> None:
        ch.set(split_args(data)[0], self.scenario.digits)

    def _app_busy(self, ch: Channel, data: str) -> None:
        raise _HangupSignal("17")

    def _app_congestion(self, ch: Channel, data: str) -> None:
        raise _HangupSignal("34")

    def _app_hangup(self, ch: Channel, data: str) -> None:
        raise _HangupSignal(data.strip() or "16")

    def _app_dial(self, ch: Channel, data: str) -> None:
        args = [*split_args(data), "", ""]
        dest, timeout = args[0], args[1]
        options = dict(re.findall(r"([A-Za-z])(?:\(([^)]*)\))?", args[2]))
        self.dials.append(DialRecord(ch.name, dest, timeout, options))
        callee = Channel(f"{dest}-callee")
        ch.inherit_to(callee)
        self.callees.append(callee)
        if "b" in options:
            self._gosub(callee, options["b"].replace("^", ","), [])
        cause = ""
        if dest.startswith("Local/"):
            exten, _, context = dest[len("Local/") :].partition("@")
            half2 = Channel(f"{dest};2", vars=dict(callee.vars), local_half=True)
            self.start(half2, context.split("/")[0], exten)
            status = half2.get("DIALSTATUS") or "CHANUNAVAIL"
            cause = half2.hangupcause  # the Local channel passes the ;2 half's cause to the ;1 half
        else:
            status = self.scenario.dial_status(dest)
            if status == "ANSWER" and "U" in options:
                sub, *sub_args = options["U"].split("^")
                self._gosub(callee, f"{sub},s,1", sub_args)
        ch.set("DIALSTATUS", status)
        if status != "ANSWER":
            ch.hangupcause = cause or self.scenario.dial_cause(dest, status)
        elif self.scenario.bridge_ended_by == "caller" and not ch.local_half:
            raise _HangupSignal("16")
