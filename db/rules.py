"""A guild's numbered rules and the messages where they were posted.

Positions run 1..n with no gaps; add, remove and move renumber the others in the same
transaction, so /rules 3 always means the third rule the members see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.schema import rule_posts, rules
from db.upsert import upsert


class RuleNotFound(LookupError):
    def __init__(self, position: int) -> None:
        super().__init__(f"there is no rule {position}")
        self.position = position


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    guild_id: int
    position: int
    title: str
    body: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RulePost:
    guild_id: int
    channel_id: int
    message_id: int
    posted_at: datetime


async def list_rules(conn: AsyncConnection, guild_id: int) -> list[Rule]:
    rows = await conn.execute(
        select(rules).where(rules.c.guild_id == guild_id).order_by(rules.c.position)
    )
    return [Rule(**row) for row in rows.mappings()]


async def count_rules(conn: AsyncConnection, guild_id: int) -> int:
    return (await conn.scalar(select(func.count()).where(rules.c.guild_id == guild_id))) or 0


async def get_rule(conn: AsyncConnection, guild_id: int, position: int) -> Rule:
    row = (
        (
            await conn.execute(
                select(rules).where(rules.c.guild_id == guild_id, rules.c.position == position)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise RuleNotFound(position)
    return Rule(**row)


async def _shift(conn: AsyncConnection, guild_id: int, low: int, high: int, by: int) -> None:
    """Move every rule with low <= position <= high by `by` places."""
    await conn.execute(
        update(rules)
        .where(rules.c.guild_id == guild_id, rules.c.position.between(low, high))
        .values(position=rules.c.position + by)
    )


async def add_rule(
    conn: AsyncConnection, guild_id: int, title: str, body: str, position: int | None = None
) -> Rule:
    """Add a rule at `position` (default: last); later rules move down one place."""
    count = await count_rules(conn, guild_id)
    position = count + 1 if position is None else max(1, min(position, count + 1))
    await _shift(conn, guild_id, position, count, 1)
    await conn.execute(
        rules.insert().values(guild_id=guild_id, position=position, title=title, body=body)
    )
    return await get_rule(conn, guild_id, position)


async def edit_rule(
    conn: AsyncConnection,
    guild_id: int,
    position: int,
    *,
    title: str | None = None,
    body: str | None = None,
) -> Rule:
    rule = await get_rule(conn, guild_id, position)
    changes = {k: v for k, v in (("title", title), ("body", body)) if v is not None}
    if changes:
        await conn.execute(update(rules).where(rules.c.id == rule.id).values(**changes))
    return await get_rule(conn, guild_id, position)


async def remove_rule(conn: AsyncConnection, guild_id: int, position: int) -> Rule:
    rule = await get_rule(conn, guild_id, position)
    await conn.execute(delete(rules).where(rules.c.id == rule.id))
    await _shift(conn, guild_id, position + 1, await count_rules(conn, guild_id) + 1, -1)
    return rule


async def move_rule(conn: AsyncConnection, guild_id: int, position: int, to: int) -> Rule:
    rule = await get_rule(conn, guild_id, position)
    to = max(1, min(to, await count_rules(conn, guild_id)))
    if to < position:
        await _shift(conn, guild_id, to, position - 1, 1)
    elif to > position:
        await _shift(conn, guild_id, position + 1, to, -1)
    await conn.execute(update(rules).where(rules.c.id == rule.id).values(position=to))
    return await get_rule(conn, guild_id, to)


async def list_posts(conn: AsyncConnection, guild_id: int) -> list[RulePost]:
    rows = await conn.execute(
        select(rule_posts).where(rule_posts.c.guild_id == guild_id).order_by(rule_posts.c.posted_at)
    )
    return [RulePost(**row) for row in rows.mappings()]


async def save_post(conn: AsyncConnection, guild_id: int, channel_id: int, message_id: int) -> None:
    await conn.execute(
        upsert(
            conn,
            rule_posts,
            {"guild_id": guild_id, "channel_id": channel_id, "message_id": message_id},
            keys=("guild_id", "channel_id"),
        )
    )


async def forget_post(conn: AsyncConnection, guild_id: int, channel_id: int) -> None:
    await conn.execute(
        delete(rule_posts).where(
            rule_posts.c.guild_id == guild_id, rule_posts.c.channel_id == channel_id
        )
    )
