"""Hooks for tests of the real process; inert in a normal deployment (see each module)."""
