"""What moderators read for each kind of case, report outcome and alert decision: one table."""

from __future__ import annotations

from core.vocabulary import AlertStatus, CaseKind, ReportStatus

CASE_KIND_NAMES: dict[CaseKind, str] = {
    CaseKind.TAKEDOWN: "Takedown",
    CaseKind.FLAG: "Flagged match",
    CaseKind.NOT_A_MATCH: "Not a match",
    CaseKind.TIMEOUT: "Timeout",
    CaseKind.BAN: "Ban",
    CaseKind.REPORT_TAKEDOWN: "Report: taken down",
    CaseKind.REPORT_DISMISSED: "Report: dismissed",
    CaseKind.AUTO_HIDE: "Hidden after reports",
    CaseKind.TAKEDOWN_LIST: "Takedown list change",
    CaseKind.SETTINGS: "Settings change",
    CaseKind.RULES: "Rules change",
    CaseKind.UNREADABLE: "Removed: file not checkable",
    CaseKind.KICK: "Kick",
}
REPORT_OUTCOME_NAMES: dict[ReportStatus, str] = {
    ReportStatus.OPEN: "Open",
    ReportStatus.TAKEN_DOWN: "Taken down",
    ReportStatus.DISMISSED: "Dismissed",
    ReportStatus.ACTIONED: "Action taken",
}
ALERT_DECISION_NAMES: dict[AlertStatus, str] = {
    AlertStatus.OPEN: "Open",
    AlertStatus.NOT_A_MATCH: "Not a match",
    AlertStatus.TAKEN_DOWN: "Taken down",
}
