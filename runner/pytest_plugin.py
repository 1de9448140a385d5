"""The pytest plugin: collection files become pytest items (registered as ``pytest11``)."""
