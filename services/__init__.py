"""Services beside `media/` and `db/` that know nothing of Discord: the live takedown index and
moderation policy."""
