"""Deployable flow ``outreach-report``: the weekly HTML report (and its figures as JSON).

The figures are published as a markdown artifact too, so the week's
headline numbers are in the Prefect UI next to the run.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.artifacts import publish_report_artifact
from flows.runtime import install_redaction
from flows.tasks import report_task


@flow(name="outreach-report", log_prints=False)
def report_flow(config: str | None = None, as_of: str | None = None, out_dir: str | None = None) -> dict[str, Any]:
    """Write ``report.html`` (self-contained, charts inline) and ``report.json``.

    Args:
        config: Config file path (TOML); default: ``$OUTREACH_CONFIG`` or built-in defaults.
        as_of: ISO 8601 end of the reported period; default: the run's start.
        out_dir: Folder to write to; default: the ``report.out_dir`` setting.
    """
    install_redaction()
    result = report_task(config, as_of, out_dir)
    publish_report_artifact(result)
    return {"html": result["html"], "json": result["json"]}
