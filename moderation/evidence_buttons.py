"""The **Evidence** button and the agency link button, on takedown alerts and reports.

`add_evidence_buttons` puts both on a view: **Evidence** exports that one record (its cases, or
the record itself while undecided) as files, privately, to the moderator who clicked; the link
button opens the page the admins set with `/config reports agency_link` (an agency's report
portal, say). The Evidence button's custom id holds the record, so it works after a restart.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Literal, Self

import discord

from db.evidence import Selection
from db.guild_settings import GuildSettings
from moderation import evidence
from moderation.access import moderator_clicking
from moderation.i18n import N_, Texts, member_texts, source_texts
from moderation.replies import apologise

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

EVIDENCE = N_("Evidence")
AGENCY_DEFAULT_LABEL = N_("Report to the agency")
# What an Evidence button exports: an alert's case, a report's cases (or the report itself while
# undecided), or one case by its id (any other kind of message with a case, an explicit flag's).
Record = Literal["alert", "report", "case"]


def add_evidence_buttons(
    view: discord.ui.View,
    settings: GuildSettings,
    kind: Record,
    record_id: int,
    tr: Texts,
    *,
    agency: bool = True,
) -> discord.ui.View:
    """Add **Evidence** (exports this record: `kind` is "alert", "report" or "case", with its
    id) and, when the server set one and `agency`, the agency link button; labelled in the
    language of the message they are on (`tr`). Alerts, the report queue and any other message
    moderators act on (an explicit-image flag: `kind="case"`) use this one function."""
    view.add_item(EvidenceButton(kind, record_id, tr))
    if agency and settings.agency_link:
        label = settings.agency_label or tr(AGENCY_DEFAULT_LABEL)
        view.add_item(discord.ui.Button(label=label, url=settings.agency_link))
    return view


class EvidenceButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:evidence:(?P<kind>alert|report|case):(?P<id>[0-9]+)",
):
    """Export one alert's or report's evidence, for the moderator who clicked only."""

    def __init__(self, kind: Record, record_id: int, tr: Texts | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=(tr or source_texts())(EVIDENCE),
                style=discord.ButtonStyle.secondary,
                custom_id=f"lightstick:evidence:{kind}:{record_id}",
            )
        )
        self.kind: Record = kind
        self.record_id = record_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> Self:
        return cls(match["kind"], int(match["id"]))  # type: ignore[arg-type]

    async def callback(self, interaction: discord.Interaction[Lightstick]) -> None:
        moderator = await moderator_clicking(interaction)
        if moderator is None:
            return
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        tr = member_texts(interaction)
        selection = Selection(**{f"{self.kind}_id": self.record_id})
        try:
            made = await evidence.export(
                interaction.client,
                interaction.guild,
                selection,
                moderator_id=moderator.id,
                with_reporters=False,
                size_limit=interaction.filesize_limit,
                filters={self.kind: self.record_id},
                tr=tr,
            )
        except Exception:
            log.exception("Evidence export of %s %s failed", self.kind, self.record_id)
            await apologise(interaction)
            return
        if made.problem:
            await interaction.edit_original_response(content=made.problem)
            return
        await interaction.edit_original_response(
            content=evidence_note(tr, made.count), attachments=list(made.files)
        )


def evidence_note(tr: Texts, count: int) -> str:
    """What an answer with evidence files says."""
    return tr.plural(
        "Evidence for {count} case: CSV and JSON for a complaint, and a summary to read. No "
        "image or video is in them. Keep them private: they name members.",
        "Evidence for {count} cases: CSV and JSON for a complaint, and a summary to read. No "
        "image or video is in them. Keep them private: they name members.",
        count,
    )
