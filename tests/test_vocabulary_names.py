"""Every case kind, report status and alert status has a name moderators can read."""

from __future__ import annotations

from core.vocabulary import AlertStatus, CaseKind, FlagStatus, FoundThrough, ReportStatus
from moderation.names import (
    ALERT_DECISION_NAMES,
    CASE_KIND_NAMES,
    FLAG_DECISION_NAMES,
    FOUND_THROUGH_NAMES,
    REPORT_OUTCOME_NAMES,
)


def test_every_value_of_every_vocabulary_has_a_display_name() -> None:
    assert set(CASE_KIND_NAMES) == set(CaseKind)
    assert set(REPORT_OUTCOME_NAMES) == set(ReportStatus)
    assert set(ALERT_DECISION_NAMES) == set(AlertStatus)
    assert set(FLAG_DECISION_NAMES) == set(FlagStatus)
    assert set(FOUND_THROUGH_NAMES) == set(FoundThrough)
    names = [*CASE_KIND_NAMES.values(), *REPORT_OUTCOME_NAMES.values()]
    assert all(name and name[0].isupper() for name in names)
