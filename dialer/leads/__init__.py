"""Leads: the model, phone normalisation, row parsing, file readers, import reports, demo generation.

Pure (no Redis): storage lives in `dialer.hopper.LeadStore`.
"""

from dialer.leads.model import Lead, LeadNumber, LeadSource, decode_lead, encode_lead, merge_leads
from dialer.leads.phone import normalize, parse_number, zones_for
from dialer.leads.report import BaseReport, DncReport, ImportReport
from dialer.leads.rows import RowIssue, RowParser

__all__ = [
    "BaseReport",
    "DncReport",
    "ImportReport",
    "Lead",
    "LeadNumber",
    "LeadSource",
    "RowIssue",
    "RowParser",
    "decode_lead",
    "encode_lead",
    "merge_leads",
    "normalize",
    "parse_number",
    "zones_for",
]
