"""What moderators read for each kind of case, report outcome, alert decision, explicit-image
flag decision and profile picture: one table each, marked for the catalogs and translated where
it is shown (`tr(CASE_KIND_NAMES[kind])`)."""

from __future__ import annotations

from core.vocabulary import (
    AlertStatus,
    CaseKind,
    FlagStatus,
    FoundThrough,
    ProfilePicture,
    ReportStatus,
)
from moderation.i18n import N_

CASE_KIND_NAMES: dict[CaseKind, str] = {
    CaseKind.TAKEDOWN: N_("Takedown"),
    CaseKind.FLAG: N_("Flagged match"),
    CaseKind.NOT_A_MATCH: N_("Not a match"),
    CaseKind.TIMEOUT: N_("Timeout"),
    CaseKind.BAN: N_("Ban"),
    CaseKind.REPORT_TAKEDOWN: N_("Report: taken down"),
    CaseKind.REPORT_DISMISSED: N_("Report: dismissed"),
    CaseKind.AUTO_HIDE: N_("Hidden after reports"),
    CaseKind.TAKEDOWN_LIST: N_("Takedown list change"),
    CaseKind.SETTINGS: N_("Settings change"),
    CaseKind.RULES: N_("Rules change"),
    CaseKind.UNREADABLE: N_("Removed: file not checkable"),
    CaseKind.KICK: N_("Kick"),
    CaseKind.ENTRY_HELD: N_("Entry held after a flood"),
    CaseKind.HOLD_RELEASED: N_("Hold released: keep removing"),
    CaseKind.ENTRY_STOPPED: N_("Entry no longer used here"),
    CaseKind.EXPLICIT_FLAG: N_("Flagged as likely explicit"),
    CaseKind.EXPLICIT_TAKEDOWN: N_("Explicit: taken down"),
    CaseKind.NOT_EXPLICIT: N_("Not explicit"),
    CaseKind.FORGOTTEN: N_("Member forgotten"),
}
REPORT_OUTCOME_NAMES: dict[ReportStatus, str] = {
    ReportStatus.OPEN: N_("Open"),
    ReportStatus.TAKEN_DOWN: N_("Taken down"),
    ReportStatus.DISMISSED: N_("Dismissed"),
    ReportStatus.ACTIONED: N_("Action taken"),
}
ALERT_DECISION_NAMES: dict[AlertStatus, str] = {
    AlertStatus.OPEN: N_("Open"),
    AlertStatus.NOT_A_MATCH: N_("Not a match"),
    AlertStatus.TAKEN_DOWN: N_("Taken down"),
}
PICTURE_NAMES: dict[ProfilePicture, str] = {
    ProfilePicture.AVATAR: N_("Avatar"),
    ProfilePicture.SERVER_AVATAR: N_("Server avatar"),
    ProfilePicture.BANNER: N_("Profile banner"),
    ProfilePicture.SERVER_BANNER: N_("Server profile banner"),
}
# Through what a match was found, when not the whole picture (for a near match, why it only
# alerted): said under the alert's match line, removed or not.
FOUND_THROUGH_NAMES: dict[FoundThrough, str] = {
    FoundThrough.QUARTER: N_(
        "Found through a quarter of the picture: stickers or a caption may cover the rest."
    ),
    FoundThrough.CROP: N_("Found through one of the crops the entry keeps."),
    FoundThrough.INSIDE: N_(
        "Found through a picture inside the upload (a screenshot, story, collage or bars "
        "around it)."
    ),
}
FLAG_DECISION_NAMES: dict[FlagStatus, str] = {
    FlagStatus.OPEN: N_("Open"),
    FlagStatus.NOT_EXPLICIT: N_("Not explicit"),
    FlagStatus.TAKEN_DOWN: N_("Taken down"),
}
