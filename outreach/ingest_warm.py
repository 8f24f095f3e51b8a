"""Imported once by the parser pool's fork server (see ``outreach.ingest.BatchParser``).

Loading the parser and building the tone model here, before any parser
process forks, means every parser starts with both ready (shared
copy-on-write) instead of each paying for them again.
"""

from __future__ import annotations

import outreach.ingest  # noqa: F401 - imported for its side effect: the parser is loaded
from outreach.tone import score_texts

score_texts(["warm up"])
