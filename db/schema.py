"""The schema, in SQLAlchemy Core, shared by SQLite and PostgreSQL.

Hashes are stored as lowercase hex (64 digits for PDQ, 16 for pHash): portable across both
databases, readable in an export, and loaded into the in-memory index as bits at start; the
recent-hash store alone keeps bits (fixed-size records of hashes, millions of rows). Nothing
here can hold media bytes, on purpose. Discord ids are 64-bit integers. Times are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from core.vocabulary import (
    AlertStatus,
    CaseKind,
    FlagStatus,
    FoundThrough,
    ProfilePicture,
    ReportStatus,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ALGORITHMS = ("pdq", "phash")
# An entry's (or a kept report's, or a flagged picture's) variants also hold the PDQ of its
# quarters, which the index keeps apart: a match through one only alerts.
VARIANT_ALGORITHMS = (*ALGORITHMS, "pdq_region")
TAKEDOWN_ACTIONS = ("remove", "flag")
# What a server does with a file the bot could not check (each of the three kinds of outcome).
UNREADABLE_ACTIONS = ("remove", "alert", "ignore")
REPORT_TARGETS = ("message", "user")
REPORT_STATUSES = tuple(status.value for status in ReportStatus)
ALERT_STATUSES = tuple(status.value for status in AlertStatus)
FLAG_STATUSES = tuple(status.value for status in FlagStatus)
# What explicit-image review can skip besides age-restricted channels: channels, and authors with
# a role.
EXEMPTION_KINDS = ("channel", "role")
# The explicit-image threshold an admin may choose: below 0.5 the model flags innocent pictures
# by the dozen (Yahoo's "undecided" band starts at 0.2), and 1.0 would flag nothing.
EXPLICIT_THRESHOLD_RANGE = (0.5, 0.99)
CASE_KINDS = tuple(kind.value for kind in CaseKind)
PROFILE_PICTURES = tuple(picture.value for picture in ProfilePicture)
FOUND_THROUGH = tuple(part.value for part in FoundThrough)
CHANGE_KINDS = ("entry_added", "entry_removed", "scope_changed")
# An entry's standing in one server (db.flood_holds): counting its matches, held after a flood
# (its matches flagged, not removed), or ignored there ("Stop using this entry" on a shared list).
HOLD_STATUSES = ("counting", "held", "ignored")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _now() -> datetime:
    return datetime.now(UTC)


def _snowflake(name: str, **kwargs: object) -> Column[int]:
    return Column(name, BigInteger, **kwargs)  # type: ignore[arg-type]


bot_state = Table(
    "bot_state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
)

guild_settings = Table(
    "guild_settings",
    metadata,
    _snowflake("guild_id", primary_key=True, autoincrement=False),
    _snowflake("mod_channel_id"),
    _snowflake("log_channel_id"),
    _snowflake("mod_role_id"),
    Column("takedown_action", String(10), nullable=False, server_default="remove"),
    Column("pdq_confident_radius", Integer, nullable=False, server_default="31"),
    Column("pdq_review_radius", Integer, nullable=False, server_default="62"),
    Column("phash_confident_radius", Integer, nullable=False, server_default="8"),
    Column("phash_review_radius", Integer, nullable=False, server_default="10"),
    Column("dm_author", Boolean, nullable=False, server_default=text("false")),
    Column("timeout_on_repeat_minutes", Integer, nullable=False, server_default="0"),
    Column("repeat_window_hours", Integer, nullable=False, server_default="24"),
    Column("previews", Boolean, nullable=False, server_default=text("true")),
    Column("auto_hide_threshold", Integer, nullable=False, server_default="3"),
    Column("reporter_limit_short", Integer, nullable=False, server_default="5"),
    Column("reporter_window_short_minutes", Integer, nullable=False, server_default="10"),
    Column("reporter_limit_daily", Integer, nullable=False, server_default="20"),
    Column("min_account_age_days", Integer, nullable=False, server_default="0"),
    Column("dm_reporters", Boolean, nullable=False, server_default=text("true")),
    Column("crafted_action", String(10), nullable=False, server_default="remove"),
    Column("unfinished_action", String(10), nullable=False, server_default="alert"),
    Column("unsupported_action", String(10), nullable=False, server_default="alert"),
    # The language of the server's shared posts; NULL follows the server's preferred locale.
    Column("language", String(16), nullable=True),
    Column("auto_hide_min_account_days", Integer, nullable=False, server_default="30"),
    Column("auto_hide_min_member_days", Integer, nullable=False, server_default="7"),
    Column("retention_days", Integer, nullable=False, server_default="180"),
    # Days the hashes of posted pictures are kept for sweeping earlier copies; 0: not kept.
    Column("recent_days", Integer, nullable=False, server_default="7"),
    # Explicit-image review (media.classifier): off by default; flags at this score or above.
    Column("explicit_review", Boolean, nullable=False, server_default=text("false")),
    Column("explicit_threshold", Float, nullable=False, server_default="0.8"),
    # More removals than this of one entry's copies within an hour hold the entry (0: never).
    Column("flood_limit", Integer, nullable=False, server_default="20"),
    # An agency's report portal (https) that deepfake reports and takedown alerts link to.
    Column("agency_label", String(80), nullable=True),
    Column("agency_link", String(512), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    CheckConstraint(_in("takedown_action", TAKEDOWN_ACTIONS), name="takedown_action"),
    CheckConstraint(
        " AND ".join(
            _in(f"{kind}_action", UNREADABLE_ACTIONS)
            for kind in ("crafted", "unfinished", "unsupported")
        ),
        name="unreadable_actions",
    ),
    CheckConstraint(
        "pdq_confident_radius BETWEEN 0 AND 256 AND pdq_review_radius BETWEEN 0 AND 256 "
        "AND phash_confident_radius BETWEEN 0 AND 64 AND phash_review_radius BETWEEN 0 AND 64",
        name="radius_range",
    ),
    CheckConstraint(
        "explicit_threshold BETWEEN {} AND {}".format(*EXPLICIT_THRESHOLD_RANGE),
        name="explicit_threshold",
    ),
)

skipped_channels = Table(
    "skipped_channels",
    metadata,
    _snowflake("guild_id", nullable=False),
    _snowflake("channel_id", nullable=False),
    PrimaryKeyConstraint("guild_id", "channel_id"),
)

# Channels explicit-image review skips, and roles whose members' pictures it doesn't score.
explicit_exemptions = Table(
    "explicit_exemptions",
    metadata,
    _snowflake("guild_id", nullable=False),
    Column("kind", String(10), nullable=False),
    _snowflake("target_id", nullable=False),
    PrimaryKeyConstraint("guild_id", "kind", "target_id"),
    CheckConstraint(_in("kind", EXEMPTION_KINDS), name="kind"),
)

# Per-guild counters for case and report numbers: one row, bumped with UPDATE ... RETURNING,
# so concurrent writers queue on its row lock and numbers never repeat or skip.
guild_counters = Table(
    "guild_counters",
    metadata,
    _snowflake("guild_id", nullable=False),
    Column("kind", String(20), nullable=False),
    Column("last_number", Integer, nullable=False),
    PrimaryKeyConstraint("guild_id", "kind"),
)

hash_lists = Table(
    "hash_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("owner_guild_id", nullable=False, unique=True),
    Column("share_code", String(32), unique=True),
    Column("shared", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
)

takedown_entries = Table(
    "takedown_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("list_id", ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(200), nullable=False, server_default=""),
    Column("label_shareable", Boolean, nullable=False, server_default=text("false")),
    Column("source", String(20), nullable=False),
    _snowflake("added_by"),
    Column("added_at", UTCDateTime, nullable=False, default=_now),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("match_count", Integer, nullable=False, server_default="0"),
    Index(None, "list_id", "enabled"),
)

# An entry holds one or more hashes: the original, the frames of a video, and the extra
# hashes (crops, small rotations) computed when it was added from an image.
entry_hashes = Table(
    "entry_hashes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", ForeignKey("takedown_entries.id", ondelete="CASCADE"), nullable=False),
    Column("algorithm", String(10), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("is_variant", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint(_in("algorithm", VARIANT_ALGORITHMS), name="algorithm"),
    Index(None, "entry_id"),
    Index(None, "algorithm", "hash"),
)


def _signatures(name: str, owner: str, key: str) -> Table:
    """A table of local-feature signatures (`media.features`), one per row of `key`'s table,
    gone with it."""
    return Table(
        name,
        metadata,
        Column(owner, ForeignKey(key, ondelete="CASCADE"), primary_key=True, autoincrement=False),
        Column("signature", LargeBinary, nullable=False),
    )


# A still image's local features (`media.features`: about 100 keypoints, at most 4 KiB), which
# confirm a weak hash match to a takedown. Read only when a candidate needs confirming, never
# loaded into the index. Imported hash-only entries have none.
entry_signatures = _signatures("entry_signatures", "entry_id", "takedown_entries.id")

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("guild_id", nullable=False),
    Column("list_id", ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False),
    Column("action", String(10), nullable=False),
    _snowflake("created_by"),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    UniqueConstraint("guild_id", "list_id"),
    CheckConstraint(_in("action", TAKEDOWN_ACTIONS), name="action"),
)

allowlist = Table(
    "allowlist",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("guild_id", nullable=False),
    Column("algorithm", String(10), nullable=False),
    Column("hash", String(64), nullable=False),
    _snowflake("decided_by"),
    Column("decided_at", UTCDateTime, nullable=False, default=_now),
    Column("entry_id", ForeignKey("takedown_entries.id", ondelete="SET NULL")),
    UniqueConstraint("guild_id", "algorithm", "hash"),
    CheckConstraint(_in("algorithm", ALGORITHMS), name="algorithm"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("guild_id", nullable=False),
    Column("number", Integer, nullable=False),
    Column("target_kind", String(10), nullable=False),
    # "message:<id>" or "user:<id>": at most one open report per target, whoever reports it.
    Column("target_key", String(40), nullable=False),
    _snowflake("target_user_id", nullable=False),
    Column("target_name", String(100), nullable=True),  # their username when first reported
    _snowflake("channel_id"),
    _snowflake("message_id"),
    Column("category", String(30), nullable=False),
    Column("excerpt", Text, nullable=False, server_default=""),
    Column("status", String(20), nullable=False, server_default="open"),
    Column("hidden", Boolean, nullable=False, server_default=text("false")),
    _snowflake("queue_channel_id"),
    _snowflake("queue_message_id"),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    _snowflake("resolved_by"),
    Column("resolved_at", UTCDateTime),
    Column("resolution_reason", Text),
    UniqueConstraint("guild_id", "number"),
    CheckConstraint(_in("target_kind", REPORT_TARGETS), name="target_kind"),
    CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
    Index(
        "uq_reports_open_target",
        "guild_id",
        "target_key",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
)

report_reporters = Table(
    "report_reporters",
    metadata,
    Column("report_id", ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    _snowflake("reporter_id", nullable=False),
    Column("category", String(30), nullable=False),
    Column("details", Text, nullable=False, server_default=""),
    # A link to the file a reporter attached to /report: Discord keeps the file, we keep no bytes.
    Column("evidence_url", Text),
    # Whether the account was old enough, and long enough in the server, when it reported to
    # count towards auto-hide: fresh accounts can't brigade a message away.
    Column("established", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    PrimaryKeyConstraint("report_id", "reporter_id"),
    Index(None, "reporter_id", "created_at"),
)

report_hashes = Table(
    "report_hashes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report_id", ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("algorithm", String(10), nullable=False),
    Column("hash", String(64), nullable=False),
    # Crops and rotations of a reported picture: they become the entry's variants on Take down.
    Column("is_variant", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint(_in("algorithm", VARIANT_ALGORITHMS), name="algorithm"),
    Index(None, "report_id"),
)

# The signature of a reported message's first picture, kept at report time with its hashes
# (the bytes are gone by the time a moderator presses Take down), for the entry it becomes.
report_signatures = _signatures("report_signatures", "report_id", "reports.id")

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("guild_id", nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    _snowflake("user_id"),
    # The member's username when the case was written: evidence names the account as it was.
    Column("user_name", String(100), nullable=True),
    _snowflake("moderator_id"),
    Column("reason", Text, nullable=False, server_default=""),
    _snowflake("channel_id"),
    _snowflake("message_id"),
    Column("entry_id", ForeignKey("takedown_entries.id", ondelete="SET NULL")),
    Column("distance", Integer),
    Column("report_id", ForeignKey("reports.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    UniqueConstraint("guild_id", "number"),
    Index(None, "guild_id", "user_id"),
    CheckConstraint(_in("kind", CASE_KINDS), name="kind"),
)

rules = Table(
    "rules",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("guild_id", nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", String(256), nullable=False),
    Column("body", Text, nullable=False, server_default=""),
    Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    Index(None, "guild_id", "position"),
)

rule_posts = Table(
    "rule_posts",
    metadata,
    _snowflake("guild_id", nullable=False),
    _snowflake("channel_id", nullable=False),
    _snowflake("message_id", nullable=False),
    Column("posted_at", UTCDateTime, nullable=False, default=_now),
    PrimaryKeyConstraint("guild_id", "channel_id"),
)

scan_positions = Table(
    "scan_positions",
    metadata,
    _snowflake("channel_id", primary_key=True, autoincrement=False),
    _snowflake("guild_id", nullable=False),
    _snowflake("last_message_id", nullable=False),
    Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    Index(None, "guild_id"),
)

# Every change to what matches (entries added or removed, subscriptions, sharing, allowlists),
# in order. Each process applies the rows past the last one it saw, so a change made by one
# shard process reaches every process's in-memory index without reloading it whole.
takedown_changes = Table(
    "takedown_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("entry_id", Integer),
    _snowflake("guild_id"),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    CheckConstraint(_in("kind", CHANGE_KINDS), name="kind"),
)

# A match the scanner acted on, with the alert it posted. The upload's own hashes are kept so
# "Not a match" can allowlist exactly that picture after the message itself is gone.
match_alerts = Table(
    "match_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("guild_id", nullable=False),
    Column("case_id", ForeignKey("cases.id", ondelete="SET NULL")),
    _snowflake("channel_id"),  # the message's; empty for a profile picture
    _snowflake("message_id"),
    _snowflake("author_id", nullable=False),  # who posted it, or who wears it
    Column("picture", String(20)),  # a profile picture: which one (PROFILE_PICTURES)
    Column("entry_id", ForeignKey("takedown_entries.id", ondelete="SET NULL")),
    Column("list_id", ForeignKey("hash_lists.id", ondelete="SET NULL")),
    Column("algorithm", String(10), nullable=False),
    Column("distance", Integer, nullable=False),
    Column("tier", String(10), nullable=False),
    Column("removed", Boolean, nullable=False),
    # Through what the match was found (FOUND_THROUGH), or empty: the whole picture.
    Column("found_through", String(10)),
    Column("upload_pdq", String(64)),
    Column("upload_phash", String(16)),
    # The upload's explicit-image score when the server reviews explicit images: a picture both
    # listed and explicit is handled once, as a match, and the alert says its score.
    Column("explicit_score", Float),
    _snowflake("alert_channel_id"),
    _snowflake("alert_message_id"),
    Column("status", String(20), nullable=False, server_default="open"),
    _snowflake("resolved_by"),
    Column("resolved_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
    CheckConstraint(_in("algorithm", ALGORITHMS), name="algorithm"),
    CheckConstraint(f"picture IS NULL OR {_in('picture', PROFILE_PICTURES)}", name="picture"),
    CheckConstraint(
        f"found_through IS NULL OR {_in('found_through', FOUND_THROUGH)}", name="found_through"
    ),
    CheckConstraint(
        "(picture IS NULL AND channel_id IS NOT NULL AND message_id IS NOT NULL) "
        "OR (picture IS NOT NULL AND channel_id IS NULL AND message_id IS NULL)",
        name="about",
    ),
    Index(None, "guild_id", "author_id"),
)

# The hashes (never the media) of the pictures posted in a server in its last `recent_days`, so
# an entry added later removes the copies still up (`services.recent_hashes`). `hashes` is a run
# of fixed-size records of hash bits only (`core.hashes.pack_record`, RECORD_BYTES each): the
# file's own frames first (`frames` of them), then its trimmed views. `media_index`: which of the
# message's media it is. The time is the message id's: a snowflake carries it, so expiry is a
# range of message ids.
recent_media = Table(
    "recent_media",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    _snowflake("guild_id", nullable=False),
    _snowflake("channel_id", nullable=False),
    _snowflake("message_id", nullable=False),
    _snowflake("author_id", nullable=False),
    Column("media_index", SmallInteger, nullable=False),
    Column("frames", SmallInteger, nullable=False),
    Column("hashes", LargeBinary, nullable=False),
    # The PDQ of a still image's quarters, 32 bytes each (none: NULL), for a covered copy, and
    # the mirror image's pHash of each record with turns, 8 bytes each, for a mirrored crop.
    Column("regions", LargeBinary, nullable=True),
    Column("mirrors", LargeBinary, nullable=True),
    Index(None, "guild_id", "message_id"),
)

# Servers the bot was removed from, and when: their data is deleted a set time later (long
# enough for an owner who re-invites it by mistake or after a quarrel to find everything there).
departed_guilds = Table(
    "departed_guilds",
    metadata,
    _snowflake("guild_id", primary_key=True, autoincrement=False),
    Column("left_at", UTCDateTime, nullable=False, default=_now),
)

# A message whose pictures the classifier scored at or above the server's threshold, flagged for
# review (never removed by the bot). The pictures' hashes are kept with it, so **Take down** can
# list them and **Not explicit** can clear them after the message is gone.
explicit_flags = Table(
    "explicit_flags",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("guild_id", nullable=False),
    Column("case_id", ForeignKey("cases.id", ondelete="SET NULL")),
    _snowflake("channel_id", nullable=False),
    _snowflake("message_id", nullable=False),
    _snowflake("author_id", nullable=False),
    Column("score", Float, nullable=False),  # the highest of the flagged pictures' scores
    Column("pictures", Integer, nullable=False, server_default="1"),  # files flagged in it
    Column("entry_id", ForeignKey("takedown_entries.id", ondelete="SET NULL")),  # Take down's
    _snowflake("alert_channel_id"),
    _snowflake("alert_message_id"),
    Column("status", String(20), nullable=False, server_default="open"),
    _snowflake("resolved_by"),
    Column("resolved_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    CheckConstraint(_in("status", FLAG_STATUSES), name="status"),
    Index(None, "guild_id", "author_id"),
)

explicit_flag_hashes = Table(
    "explicit_flag_hashes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("flag_id", ForeignKey("explicit_flags.id", ondelete="CASCADE"), nullable=False),
    Column("algorithm", String(10), nullable=False),
    Column("hash", String(64), nullable=False),
    # Crops and rotations: they become the entry's variants on Take down, never cleared.
    Column("is_variant", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint(_in("algorithm", VARIANT_ALGORITHMS), name="algorithm"),
    Index(None, "flag_id"),
)

# Pictures a server's moderators marked "Not explicit": a copy within a tight PDQ radius of
# every one of its frames is never flagged there again. Kept like the allowlist (hashes only).
explicit_cleared = Table(
    "explicit_cleared",
    metadata,
    Column("id", Integer, primary_key=True),
    _snowflake("guild_id", nullable=False),
    Column("algorithm", String(10), nullable=False),
    Column("hash", String(64), nullable=False),
    _snowflake("decided_by"),
    Column("decided_at", UTCDateTime, nullable=False, default=_now),
    UniqueConstraint("guild_id", "algorithm", "hash"),
    CheckConstraint(_in("algorithm", ALGORITHMS), name="algorithm"),
)

# One entry in one server, once it has removed something there: whether it is held after a
# flood of matches, or ignored in this server. The row is what a burst's decisions lock (SELECT
# ... FOR UPDATE), so processes counting the same entry's matches take turns.
entry_holds = Table(
    "entry_holds",
    metadata,
    _snowflake("guild_id", nullable=False),
    Column("entry_id", ForeignKey("takedown_entries.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(10), nullable=False, server_default="counting"),
    Column("held_at", UTCDateTime),
    _snowflake("notice_channel_id"),
    _snowflake("notice_message_id"),
    _snowflake("decided_by"),
    Column("decided_at", UTCDateTime),
    PrimaryKeyConstraint("guild_id", "entry_id"),
    CheckConstraint(_in("status", HOLD_STATUSES), name="status"),
    Index(None, "entry_id"),
)

# The messages an entry removed in a server within the last hour (the flood window): distinct
# by message, pruned as they age out, emptied when a moderator releases a hold.
flood_matches = Table(
    "flood_matches",
    metadata,
    _snowflake("guild_id", nullable=False),
    Column("entry_id", ForeignKey("takedown_entries.id", ondelete="CASCADE"), nullable=False),
    _snowflake("message_id", nullable=False),
    Column("matched_at", UTCDateTime, nullable=False, default=_now),
    PrimaryKeyConstraint("guild_id", "entry_id", "message_id"),
    Index(None, "entry_id"),
)
