"""A minimal Django project serving django-oauth-toolkit on loopback, for the tests only.

Nothing here is imported by the test process: ``providers.dot`` starts it in a subprocess
(``python -m dot_site.serve``) with ``tests/providers`` on ``PYTHONPATH``.
"""
