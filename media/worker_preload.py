"""Imported once by the hashing pool's fork server, before any worker is forked from it.

Importing it decodes and hashes one tiny picture, which pulls in every lazily imported piece
(Pillow's plugins, OpenCV, PDQ): each worker forked afterwards starts with all of it
loaded, in milliseconds, instead of spending its first job's deadline on imports.
"""

from media.workers import warm_up

warm_up()
