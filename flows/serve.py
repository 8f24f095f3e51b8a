"""Serve every deployment of ``prefect.yaml`` from one process (``outreach serve``).

``prefect.yaml`` is the one list of deployments: ``prefect deploy --all``
registers it for workers, and :func:`serve_all` reads the same file and
hands every deployment, with its schedules, concurrency limit, parameters
and triggers, to :func:`prefect.serve`. Flows are referenced by module path,
so the served runs import the installed package wherever the process was
started.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from outreach.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = REPO_ROOT / "prefect.yaml"


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    """One entry of ``prefect.yaml``'s ``deployments``, as serve needs it."""

    name: str
    flow_name: str
    entrypoint: str
    description: str = ""
    tags: tuple[str, ...] = ()
    crons: tuple[tuple[str, str], ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency: dict[str, Any] | None = None
    triggers: tuple[dict[str, Any], ...] = ()

    @property
    def module(self) -> str:
        """``flows/sync.py:sync_flow`` → ``flows.sync``."""
        path = self.entrypoint.split(":", 1)[0]
        return path.removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.split(":", 1)[1]


def load_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """Read the deployments of ``prefect.yaml``.

    Raises:
        ConfigError: the file is missing or a deployment lacks a name or entrypoint.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(str(path), "prefect.yaml not found") from None
    specs = []
    for i, dep in enumerate(data.get("deployments") or []):
        if not dep.get("name") or ":" not in (dep.get("entrypoint") or ""):
            raise ConfigError(f"deployments[{i}]", "needs a name and an entrypoint 'file.py:function'")
        crons = tuple(
            (s["cron"], s.get("timezone") or "UTC") for s in dep.get("schedules") or [] if s.get("cron")
        )
        specs.append(
            DeploymentSpec(
                name=dep["name"],
                flow_name=dep.get("flow_name") or "",
                entrypoint=dep["entrypoint"],
                description=" ".join((dep.get("description") or "").split()),
                tags=tuple(dep.get("tags") or ()),
                crons=crons,
                parameters=dict(dep.get("parameters") or {}),
                concurrency=dep.get("concurrency_limit"),
                triggers=tuple(dep.get("triggers") or ()),
            )
        )
    return specs


def load_flow(spec: DeploymentSpec) -> Any:
    """The Prefect flow object a deployment's entrypoint names (imported as a module)."""
    module = importlib.import_module(spec.module)
    return getattr(module, spec.function)


def to_deployment(spec: DeploymentSpec, *, config: str | None = None) -> Any:
    """A :class:`prefect.deployments.runner.RunnerDeployment` for ``spec``.

    Args:
        spec: The deployment as written in ``prefect.yaml``.
        config: Config file for every run (overrides the ``config`` parameter).
    """
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.events import DeploymentTriggerTypes
    from prefect.types.entrypoint import EntrypointType
    from pydantic import TypeAdapter

    flow = load_flow(spec)
    params = dict(spec.parameters)
    if config is not None:
        if isinstance(params.get("params"), dict):  # a flow that takes one model parameter
            params["params"] = {**params["params"], "config": config}
        else:
            params["config"] = config
    limit: ConcurrencyLimitConfig | int | None = None
    if isinstance(spec.concurrency, dict):
        limit = ConcurrencyLimitConfig(
            limit=spec.concurrency["limit"],
            collision_strategy=ConcurrencyLimitStrategy(spec.concurrency.get("collision_strategy", "ENQUEUE")),
        )
    elif isinstance(spec.concurrency, int):
        limit = spec.concurrency
    adapter: TypeAdapter[Any] = TypeAdapter(DeploymentTriggerTypes)
    triggers = [
        adapter.validate_python({"name": f"{spec.name}__trigger_{i}", **t})
        for i, t in enumerate(spec.triggers, start=1)
    ]
    return flow.to_deployment(
        name=spec.name,
        schedules=[CronSchedule(cron=cron, timezone=tz) for cron, tz in spec.crons] or None,
        parameters=params,
        concurrency_limit=limit,
        description=spec.description or None,
        tags=list(spec.tags),
        triggers=triggers or None,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def deployments(*, config: str | None = None, path: Path = PREFECT_YAML) -> list[Any]:
    """Every deployment of ``prefect.yaml`` as runner deployments."""
    return [to_deployment(spec, config=config) for spec in load_specs(path)]


def serve_all(*, config: str | None = None, path: Path = PREFECT_YAML, limit: int | None = None) -> None:
    """Register every deployment with the Prefect API and run them on their schedules until stopped.

    Blocks. SIGINT and SIGTERM stop it cleanly: Prefect's runner stops
    polling, and the deployments' schedules are paused until served again.

    Args:
        config: Config file for every run.
        path: The ``prefect.yaml`` to read.
        limit: Most flow runs at once in this process (None: Prefect's default).
    """
    from prefect import serve

    from flows.runtime import install_redaction

    install_redaction()
    serve(*deployments(config=config, path=path), limit=limit)
