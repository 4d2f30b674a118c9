"""Discord's error responses: status, JSON code and message exactly as Discord sends them.

discord.py turns these into `Forbidden`, `NotFound` and `HTTPException` with `.code`, and the
bot's handlers branch on the code (50013, 10008, ...), so the codes must be Discord's own.
"""

from __future__ import annotations

from typing import Any


class DiscordError(Exception):
    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    @classmethod
    def unauthorized(cls) -> DiscordError:
        return cls(401, 0, "401: Unauthorized")

    @classmethod
    def not_found(cls) -> DiscordError:
        return cls(404, 0, "404: Not Found")

    @classmethod
    def unknown(cls, what: str, code: int) -> DiscordError:
        return cls(404, code, f"Unknown {what}")

    @classmethod
    def unknown_message(cls) -> DiscordError:
        return cls.unknown("Message", 10008)

    @classmethod
    def unknown_channel(cls) -> DiscordError:
        return cls.unknown("Channel", 10003)

    @classmethod
    def unknown_guild(cls) -> DiscordError:
        return cls.unknown("Guild", 10004)

    @classmethod
    def unknown_member(cls) -> DiscordError:
        return cls.unknown("Member", 10007)

    @classmethod
    def unknown_user(cls) -> DiscordError:
        return cls.unknown("User", 10013)

    @classmethod
    def unknown_role(cls) -> DiscordError:
        return cls.unknown("Role", 10011)

    @classmethod
    def unknown_ban(cls) -> DiscordError:
        return cls.unknown("Ban", 10026)

    @classmethod
    def unknown_webhook(cls) -> DiscordError:
        return cls.unknown("Webhook", 10015)

    @classmethod
    def unknown_interaction(cls) -> DiscordError:
        return cls.unknown("interaction", 10062)

    @classmethod
    def unknown_command(cls) -> DiscordError:
        return cls.unknown("application command", 10063)

    @classmethod
    def missing_access(cls) -> DiscordError:
        return cls(403, 50001, "Missing Access")

    @classmethod
    def missing_permissions(cls) -> DiscordError:
        return cls(403, 50013, "Missing Permissions")

    @classmethod
    def cannot_dm(cls) -> DiscordError:
        return cls(403, 50007, "Cannot send messages to this user")

    @classmethod
    def already_acknowledged(cls) -> DiscordError:
        return cls(400, 40060, "Interaction has already been acknowledged.")

    @classmethod
    def too_old_to_bulk_delete(cls) -> DiscordError:
        return cls(400, 50034, "You can only bulk delete messages that are under 14 days old.")

    @classmethod
    def cannot_edit_other(cls) -> DiscordError:
        return cls(403, 50005, "Cannot edit a message authored by another user")

    @classmethod
    def empty_message(cls) -> DiscordError:
        return cls(400, 50006, "Cannot send an empty message")

    @classmethod
    def invalid_form(cls, field: str, code: str, message: str) -> DiscordError:
        """50035 with Discord's nested `errors` object for one field path like `content`."""
        node: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
        for part in reversed(field.split(".")):
            node = {part: node}
        return cls(400, 50035, "Invalid Form Body", node)
