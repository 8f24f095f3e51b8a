"""Outreach: proactive customer care from a support inbox.

The ``outreach`` package is the pure domain core (no network, no Prefect):
models, parsing, threading, detection, throttling, surveys and settings.
The CLI (``outreach.cli``) and the agents' web app (``outreach.review``) sit
on top of it and wire in the connectors.
"""

__version__ = "0.1.0"
