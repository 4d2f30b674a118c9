"""The Discord-facing services the bot owns and every cog shares.

Cogs are entry points (commands, menus, listeners) and stay thin; what more than one of them
needs lives here as a service on the bot (`bot.actions`, `bot.alerts`, `bot.report_queue`,
`bot.scanner`), so no cog reaches into another. Nothing here decides policy that needs no
Discord: that lives in `services/` beside `media/` and `db/`.
"""
