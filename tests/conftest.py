"""Shared test settings: hypothesis runs a fixed number of examples, with no deadline."""

from hypothesis import settings

settings.register_profile("default", max_examples=200, deadline=None)
settings.load_profile("default")
