"""The commands, menus and listeners: one feature a module (or package), each thin; what they
share lives in `moderation/` as services on the bot."""
