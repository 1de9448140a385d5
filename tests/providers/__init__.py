"""Real third-party providers run on loopback for the tests (see ``dot.py``)."""
