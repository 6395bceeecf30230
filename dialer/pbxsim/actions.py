"""The AMI actions a dialer uses, answered as Asterisk 22's `main/manager.c` and `features.c` answer them.

Each handler takes the PBX, the session to answer and the action block, writes the response (and any
list events) to the session, and drives the PBX. Error texts are Asterisk's own (`No such channel`,
`Channel does not exist: X`, `Invalid channel`, `Extension does not exist.`...), because a client's
error handling is only as good as the errors it was tested against. Login, Logoff, Challenge and
Events belong to the session (`session.py`); an action nobody handles gets Asterisk's
`Invalid/unknown command: <name>. Use Action: ListCommands to show available commands.`
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dialer.ami.wire import Block

from . import agentdial, dialing, dialplan
from .model import Channel, OriginateRequest, Responder
from .pbx import Pbx
from .render import list_complete, response

__all__ = ["HANDLERS", "parse_originate", "unknown_action"]

Handler = Callable[[Pbx, Responder, Block], None]

MAX_UNIQUEID = 149  # AST_MAX_PUBLIC_UNIQUEID
_TRUE = {"yes", "true", "y", "t", "1", "on"}
_AGENTLESS_CONTEXTS = {"dialer-connect": ("s",), "dialer-abandon": ("s",),
                       dialplan.AGENTLESS: ("s", "machine")}  # contexts whose extensions are not agent phones
_CORE_SETTINGS = (
    ("AMIversion", "11.0.0"),
    ("AsteriskVersion", "22.10.1"),
    ("SystemName", ""),
    ("CoreMaxCalls", 0),
    ("CoreMaxLoadAvg", "0.000000"),
    ("CoreRunUser", ""),
    ("CoreRunGroup", ""),
    ("CoreMaxFilehandles", 0),
    ("CoreRealTimeEnabled", "No"),
    ("CoreCDRenabled", "No"),
    ("CoreHTTPenabled", "No"),
    ("SoundsSearchCustomDir", "No"),
)


def _aid(block: Block) -> str | None:
    return block.get("ActionID") or None


def _h(block: Block, key: str) -> str:
    return (block.get(key) or "").strip()


def unknown_action(action: str, action_id: str | None) -> bytes:
    return response(
        "Error",
        action_id,
        f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.",
    )


def _parse_callerid(raw: str) -> tuple[str, str]:
    """`ast_callerid_parse` then `ast_shrink_phone_number`: (number, name), either may be ''."""
    raw = raw.strip()
    m = re.fullmatch(r'\s*"?([^"<]*?)"?\s*<([^>]*)>\s*', raw)
    if m:
        name, num = m.group(1).strip(), m.group(2).strip()
    elif re.fullmatch(r"[0-9+*#()\-. ]+", raw):
        name, num = "", raw
    else:
        name, num = raw.strip('"'), ""
    num = re.sub(r"[()\-. ]", "", num)
    return num, name


def _parse_variables(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for header in values:
        for item in header.split(","):
            name, sep, value = item.partition("=")
            if sep and name.strip():
                out[name.strip()] = value.strip()
    return out


def _extension_exists(pbx: Pbx, context: str, exten: str) -> bool:
    if context in _AGENTLESS_CONTEXTS:
        return exten in _AGENTLESS_CONTEXTS[context]
    return context in ("dialer-to-agent", dialplan.TRANSFER, pbx.cfg.agent_context, agentdial.CONTEXT) \
        and exten.isdigit()


def parse_originate(pbx: Pbx, session: Responder, block: Block) -> OriginateRequest | str:
    """The Originate action's checks, in Asterisk's order; an error message, or the request."""
    channel_id, other_id = _h(block, "ChannelId"), _h(block, "OtherChannelId")
    if len(channel_id) > MAX_UNIQUEID or len(other_id) > MAX_UNIQUEID:
        return f"Uniqueid length exceeds maximum of {MAX_UNIQUEID}"
    name = _h(block, "Channel")
    if not name:
        return "Channel not specified"
    context, exten, app = _h(block, "Context"), _h(block, "Exten"), _h(block, "Application")
    raw_priority, raw_timeout = _h(block, "Priority"), _h(block, "Timeout")
    priority = 1
    if raw_priority:
        if not raw_priority.lstrip("-").isdigit() or int(raw_priority) < 1:
            return "Invalid priority"
        priority = int(raw_priority)
    timeout_ms = 30000
    if raw_timeout:
        if not raw_timeout.lstrip("-").isdigit():
            return "Invalid timeout"
        timeout_ms = int(raw_timeout)
    tech, sep, data = name.partition("/")
    if not sep:
        return "Invalid channel"
    if not app:
        if not (context and exten):
            return "Originate with 'Exten' requires 'Context' and 'Priority'"
        if not _extension_exists(pbx, context, exten):
            return "Extension does not exist."
    num, cid_name = _parse_callerid(block.get("CallerID") or "")
    return OriginateRequest(
        action_id=_aid(block),
        channel=name,
        tech=tech,
        data=data,
        context=context,
        exten=exten,
        priority=priority,
        app=app,
        appdata=block.get("Data") or "",
        timeout_s=max(0, timeout_ms) / 1000.0,
        cid_num=num,
        cid_name=cid_name,
        is_async=(block.get("Async") or "").strip().lower() in _TRUE,
        channel_id=channel_id,
        other_channel_id=other_id,
        variables=_parse_variables(block.get_all("Variable")),
        account=_h(block, "Account"),
        session=session,
    )


def _originate(pbx: Pbx, session: Responder, block: Block) -> None:
    req = parse_originate(pbx, session, block)
    if isinstance(req, str):
        pbx.stats.originates_refused += 1
        session.send(response("Error", _aid(block), req))
        return
    if req.is_async:
        session.send(response("Success", req.action_id, "Originate successfully queued"))
    dialing.originate(pbx, req)


def _ping(pbx: Pbx, session: Responder, block: Block) -> None:
    stamp = f"{pbx.clock.now():.6f}"
    session.send(response("Success", _aid(block), None, extra=(("Ping", "Pong"), ("Timestamp", stamp))))


def _core_settings(pbx: Pbx, session: Responder, block: Block) -> None:
    session.send(response("Success", _aid(block), None, extra=_CORE_SETTINGS))


def _redirect(pbx: Pbx, session: Responder, block: Block) -> None:
    aid = _aid(block)
    name, context, exten, priority = (_h(block, k) for k in ("Channel", "Context", "Exten", "Priority"))
    error = None
    if not name:
        error = "Channel not specified"
    elif not context:
        error = "Context not specified"
    elif not exten:
        error = "Exten not specified"
    elif not priority:
        error = "Priority not specified"
    elif not priority.isdigit() or int(priority) < 1:
        error = "Priority is invalid"
    ch = pbx.find(name) if error is None else None
    if error is None and ch is None:
        error = f"Channel does not exist: {name}"
    if error is None and ch is not None:
        error = dialplan.redirect_error(ch)
        if error is None:
            # The response goes out before the events of the new context, as in the transcript.
            session.send(response("Success", aid, "Redirect successful"))
            dialplan.redirect(pbx, ch, context, exten)
            return
    session.send(response("Error", aid, error))


def _getvar(pbx: Pbx, session: Responder, block: Block) -> None:
    """`action_getvar`: the channel's variable (the Originate's, which its Local pair shares here), empty when
    not set; errors as Asterisk words them. The daemon reads a crashed process's calls' campaign and lead so."""
    aid, name, variable = _aid(block), _h(block, "Channel"), _h(block, "Variable")
    if not variable:
        session.send(response("Error", aid, "No variable specified"))
        return
    ch = pbx.find(name) if name else None
    if name and ch is None:
        session.send(response("Error", aid, "No such channel"))
        return
    value = ch.call.vars.get(variable, "") if ch is not None and ch.call is not None else ""
    session.send(response("Success", aid, None, extra=(("Variable", variable), ("Value", value))))


def _db_get(pbx: Pbx, session: Responder, block: Block) -> None:
    """main/db.c `manager_dbget`: the list ack, one `DBGetResponse` (written by astman_append: no Privilege,
    no Timestamp, the ActionID last) and `DBGetComplete`; "Database entry not found" when the key is not
    there. The daemon reads the dialplan's answer marks so after an AMI outage."""
    aid, family, key = _aid(block), _h(block, "Family"), _h(block, "Key")
    if not family:
        session.send(response("Error", aid, "No family specified."))
        return
    if not key:
        session.send(response("Error", aid, "No key specified."))
        return
    value = pbx.astdb.get(f"/{family}/{key}")
    if value is None:
        session.send(response("Error", aid, "Database entry not found"))
        return
    id_line = f"ActionID: {aid}\r\n" if aid else ""
    session.send(response("Success", aid, "Result will follow", listflag="start"))
    session.send(f"Event: DBGetResponse\r\nFamily: {family}\r\nKey: {key}\r\nVal: {value}\r\n{id_line}\r\n".encode())
    session.send(list_complete("DBGetComplete", aid, 1))


def _db_get_tree(pbx: Pbx, session: Responder, block: Block) -> None:
    """main/db.c `manager_db_tree_get`: every entry at or under `/<family>[/<key>]` (all without a family),
    one `DBGetTreeResponse` each (`Key` in full, `Val`), then `DBGetTreeComplete`; an empty tree is an
    empty list, not an error."""
    aid, family, key = _aid(block), _h(block, "Family"), _h(block, "Key")
    prefix = f"/{family}/{key}" if family and key else f"/{family}" if family else ""
    rows = sorted((k, v) for k, v in pbx.astdb.items() if not prefix or k == prefix or k.startswith(prefix + "/"))
    id_line = f"ActionID: {aid}\r\n" if aid else ""
    session.send(response("Success", aid, "Result will follow", listflag="start"))
    for k, v in rows:
        session.send(f"Event: DBGetTreeResponse\r\nKey: {k}\r\nVal: {v}\r\n{id_line}\r\n".encode())
    session.send(list_complete("DBGetTreeComplete", aid, len(rows)))


def _bridge(pbx: Pbx, session: Responder, block: Block) -> None:
    aid = _aid(block)
    name1, name2 = _h(block, "Channel1"), _h(block, "Channel2")
    if not name1 or not name2:
        session.send(response("Error", aid, "Missing channel parameter in request"))
        return
    ch1, ch2 = pbx.find_prefix(name1), pbx.find_prefix(name2)
    if ch1 is None:
        session.send(response("Error", aid, f"Channel1 does not exist: {name1}"))
        return
    if ch2 is None:
        session.send(response("Error", aid, f"Channel2 does not exist: {name2}"))
        return
    error = dialplan.bridge_error(ch1, ch2)
    if error:
        session.send(response("Error", aid, error))
        return
    session.send(response("Success", aid, "Channels have been bridged"))
    dialplan.bridge(pbx, ch1, ch2)


def _hangup_channel(pbx: Pbx, ch: Channel, cause: int) -> None:
    dialplan.hangup_action(pbx, ch, cause or 16)


def _hangup(pbx: Pbx, session: Responder, block: Block) -> None:
    aid = _aid(block)
    name, raw_cause = _h(block, "Channel"), _h(block, "Cause")
    if not name:
        session.send(response("Error", aid, "No channel specified"))
        return
    cause = int(raw_cause) if raw_cause.isdigit() and int(raw_cause) <= 127 else 0
    if not (name.startswith("/") and name.endswith("/") and len(name) > 1):
        ch = pbx.find(name)
        if ch is None:
            session.send(response("Error", aid, "No such channel"))
            return
        session.send(response("Success", aid, "Channel Hungup"))
        _hangup_channel(pbx, ch, cause)
        return
    try:
        pattern = re.compile(name[1:-1])
    except re.error:
        session.send(response("Error", aid, f"Regex compile failed on: {name}"))
        return
    session.send(response("Success", aid, "Channels hung up will follow", listflag="start"))
    matched = [ch for ch_name, ch in pbx.channels.items() if pattern.search(ch_name)]
    for ch in matched:
        id_line = f"ActionID: {aid}\r\n" if aid else ""
        session.send(f"Event: ChannelHungup\r\nChannel: {ch.name}\r\n{id_line}\r\n".encode())
        if ch.name in pbx.channels:
            _hangup_channel(pbx, ch, cause)
    session.send(list_complete("ChannelsHungupListComplete", aid, len(matched)))


def _duration(pbx: Pbx, ch: Channel) -> tuple[int, str]:
    secs = max(0, int(pbx.clock.now() - ch.created))
    return secs, f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def _bridge_id(ch: Channel) -> str:
    call = ch.call
    if call is not None and call.bridge is not None and ch in call.bridge.members:
        return call.bridge.uniqueid
    return ""


def _core_show_channels(pbx: Pbx, session: Responder, block: Block) -> None:
    aid = _aid(block)
    id_line = f"ActionID: {aid}\r\n".encode() if aid else b""
    session.send(response("Success", aid, "Channels will follow", listflag="start"))
    channels = list(pbx.channels.values())
    for ch in channels:
        _, dur = _duration(pbx, ch)
        tail = (
            f"Application: {ch.app}\r\nApplicationData: {ch.appdata}\r\n"
            f"Duration: {dur}\r\nBridgeId: {_bridge_id(ch)}\r\n\r\n"
        )
        session.send(b"Event: CoreShowChannel\r\n" + id_line + ch.block() + tail.encode())
    session.send(list_complete("CoreShowChannelsComplete", aid, len(channels)))


def _status(pbx: Pbx, session: Responder, block: Block) -> None:
    aid = _aid(block)
    name = _h(block, "Channel")
    if name:
        one = pbx.find(name)
        if one is None:
            session.send(response("Error", aid, "No such channel"))
            return
        channels = [one]
    else:
        channels = list(pbx.channels.values())
    session.send(response("Success", aid, "Channel status will follow", listflag="start"))
    id_line = f"ActionID: {aid}\r\n" if aid else ""
    for ch in channels:
        secs, _ = _duration(pbx, ch)
        tail = (
            f"Type: Local\r\nDNID: \r\nEffectiveConnectedLineNum: {ch.conn_num}\r\n"
            f"EffectiveConnectedLineName: {ch.conn_name}\r\nTimeToHangup: 0\r\nBridgeID: {_bridge_id(ch)}\r\n"
            f"Application: {ch.app}\r\nData: {ch.appdata}\r\nNativeformats: (slin)\r\nReadformat: slin\r\n"
            f"Readtrans: \r\nWriteformat: slin\r\nWritetrans: \r\nCallgroup: 0\r\nPickupgroup: 0\r\n"
            f"Seconds: {secs}\r\n{id_line}\r\n"
        )
        session.send(b"Event: Status\r\nPrivilege: Call\r\n" + ch.block() + tail.encode())
    session.send(list_complete("StatusComplete", aid, len(channels), ("Items", len(channels))))


HANDLERS: dict[str, Handler] = {
    "originate": _originate,
    "ping": _ping,
    "coresettings": _core_settings,
    "redirect": _redirect,
    "getvar": _getvar,
    "dbget": _db_get,
    "dbgettree": _db_get_tree,
    "bridge": _bridge,
    "hangup": _hangup,
    "coreshowchannels": _core_show_channels,
    "status": _status,
}
