"""Imported once by the parser pool's fork server (see ``outreach.ingest.BatchParser``).

Loading the parser and building the tone model here, before any parser
process forks, means every parser starts with both ready (shared
copy-on-write) instead of each paying for them again.
"""

from __future__ import annotations

import warnings

import outreach.ingest  # noqa: F401 - imported for its side effect: the parser is loaded
from outreach.tone import score_texts

score_texts(["warm up"])

# Each parser re-runs the main module (``outreach.cli`` under ``python -m``),
# which this fork server has already imported so that the re-run is free; runpy
# warns about exactly that on every parser's stderr. Forked parsers inherit
# this filter.
warnings.filterwarnings("ignore", message=r".*found in sys\.modules after import of package", category=RuntimeWarning)
