"""The record's vocabularies: what a case, a report and a match alert can be, which profile
picture an alert is about, and through which part of the picture a match was found.

Stored as their string values (the database checks them with a constraint), compared as enums
in code, and named for people in one table (`moderation.names`).
"""

from __future__ import annotations

import enum


class CaseKind(enum.StrEnum):
    TAKEDOWN = "takedown"  # a message removed as a takedown-list match (by the bot or a moderator)
    FLAG = "flag"  # a match sent to the moderators without removing it
    NOT_A_MATCH = "not_a_match"  # a moderator cleared an alert; the picture is allowlisted
    TIMEOUT = "timeout"
    BAN = "ban"
    REPORT_TAKEDOWN = "report_takedown"
    REPORT_DISMISSED = "report_dismissed"
    AUTO_HIDE = "auto_hide"  # removed pending review after enough urgent reports
    TAKEDOWN_LIST = "takedown_list"  # an entry added, removed or imported
    SETTINGS = "settings"
    RULES = "rules"
    UNREADABLE = "unreadable"  # a message removed because a file in it could not be checked
    KICK = "kick"
    ENTRY_HELD = "entry_held"  # an entry matched too many messages in an hour: held, flags only
    HOLD_RELEASED = "hold_released"  # a moderator chose "Keep removing" on a held entry
    ENTRY_STOPPED = "entry_stopped"  # "Stop using this entry": removed, or ignored in this server
    EXPLICIT_FLAG = "explicit_flag"  # a picture the classifier scored as likely explicit, flagged
    EXPLICIT_TAKEDOWN = "explicit_takedown"  # a flagged picture taken down and listed
    NOT_EXPLICIT = "not_explicit"  # a moderator cleared a flag; the picture never flags again
    FORGOTTEN = "forgotten"  # an admin's /forget: what was deleted, counted (never the content)


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    TAKEN_DOWN = "taken_down"
    DISMISSED = "dismissed"
    ACTIONED = "actioned"  # the member was timed out or banned


class FlagStatus(enum.StrEnum):
    """An explicit-image flag (`db.explicit_flags`): open, or what a moderator decided."""

    OPEN = "open"
    NOT_EXPLICIT = "not_explicit"
    TAKEN_DOWN = "taken_down"


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    NOT_A_MATCH = "not_a_match"
    TAKEN_DOWN = "taken_down"


class ProfilePicture(enum.StrEnum):
    """Which of a member's pictures an alert is about."""

    AVATAR = "avatar"  # the account's avatar
    SERVER_AVATAR = "server_avatar"  # the avatar the member set for this server
    BANNER = "banner"  # the account's profile banner
    SERVER_BANNER = "server_banner"  # the banner the member set for this server


class FoundThrough(enum.StrEnum):
    """Through what a match was found, when not the whole picture against the entry's own: it
    tells a moderator why a near match only alerts."""

    QUARTER = "quarter"  # a quarter of the picture (the rest may be under stickers or a caption)
    CROP = "crop"  # one of the crops the entry keeps
    INSIDE = "inside"  # a picture found inside the upload (a screenshot, story, collage, bars)
