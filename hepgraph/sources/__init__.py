"""Event sources: built-in simulators, ROOT, TrackML and CSV readers (registered in SOURCES)."""
