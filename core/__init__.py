"""Value types shared by every layer, on the standard library alone: hashes, hash list files,
and the vocabularies of the record."""
