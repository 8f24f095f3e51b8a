"""Every deployment in prefect.yaml is real: importable flow, valid parameters, a schedule.

No Prefect server is needed: the entrypoints are imported and the
parameters validated against each flow's own parameter schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "prefect.yaml"


def _deployments() -> list[dict[str, Any]]:
    return yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))["deployments"]


def test_prefect_yaml_is_valid_for_prefect_deploy() -> None:
    # The model `prefect deploy` itself validates prefect.yaml with.
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8")))
    names = [d.name for d in model.deployments]
    assert len(names) == len(set(names)) == 5
    flows = {d.flow_name for d in model.deployments}
    assert flows == {"outreach-sync", "outreach-detect", "outreach-send", "outreach-surveys", "outreach-report"}


@pytest.mark.parametrize("dep", _deployments(), ids=lambda d: d["name"])
def test_deployment_resolves_to_a_flow_with_valid_parameters(dep: dict[str, Any]) -> None:
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint
    from prefect.utilities.callables import parameter_schema

    path, func = dep["entrypoint"].split(":")
    assert (REPO / path).is_file(), f"entrypoint file missing: {path}"
    flow = load_flow_from_entrypoint(str(REPO / path) + ":" + func)
    assert isinstance(flow, Flow)
    assert flow.name == dep["flow_name"]
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    unknown = set(dep["parameters"]) - set(schema["properties"])
    assert not unknown, f"{dep['name']}: parameters the flow does not take: {unknown}"
    # Prefect's own validation (pydantic models included) of what a run would receive.
    flow.validate_parameters(dict(dep["parameters"]))
    # Every parameter is documented in the flow's schema (a description or a model).
    for name in dep["parameters"]:
        prop = schema["properties"][name]
        assert prop.get("description") or "$ref" in prop or "allOf" in prop, (dep["name"], name, prop)


@pytest.mark.parametrize("dep", _deployments(), ids=lambda d: d["name"])
def test_deployment_has_a_valid_cron_schedule(dep: dict[str, Any]) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    assert dep.get("schedules"), f"{dep['name']} has no schedule"
    for sched in dep["schedules"]:
        CronSchedule(cron=sched["cron"], timezone=sched.get("timezone") or "UTC")


def test_schedules_and_overlap_policy_match_the_operations_plan() -> None:
    deps = {d["name"]: d for d in _deployments()}
    assert deps["sync"]["schedules"][0]["cron"] == "*/5 * * * *"
    assert deps["sync"]["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert deps["detect-and-draft"]["schedules"][0]["cron"].endswith(" * * * *")  # hourly
    assert deps["send"]["schedules"][0]["cron"] == "*/15 * * * *"
    assert deps["weekly-report"]["schedules"][0]["cron"].endswith("* * mon")
    trigger = deps["detect-and-draft"]["triggers"][0]
    assert trigger["expect"] == ["outreach.mail.received"]


def test_no_credential_is_written_in_clear() -> None:
    text = PREFECT_YAML.read_text(encoding="utf-8")
    env = yaml.safe_load(text)["definitions"]["work_pool"]["job_variables"]["env"]
    for key, value in env.items():
        if any(word in key for word in ("PASSWORD", "API_KEY", "SIGNING_KEY", "TOKEN", "SECRET")):
            is_block_name = key.endswith("_BLOCK")
            is_reference = value.startswith(("{{ prefect.blocks.secret.", "{{ $"))
            assert is_block_name or is_reference, (key, value)


def test_serve_builds_the_same_deployments_as_prefect_yaml() -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    from flows.serve import deployments, load_flow, load_specs

    built = {d.name: d for d in deployments(config="/etc/outreach.toml")}
    assert set(built) == {d["name"] for d in _deployments()}
    for dep in _deployments():
        runner = built[dep["name"]]
        assert [s.schedule.cron for s in runner.schedules] == [s["cron"] for s in dep["schedules"]]
        params = runner.parameters
        assert set(params) == set(dep["parameters"])
        # The config given to serve reaches every flow (inside the model for the surveys flow).
        assert (params.get("params", params))["config"] == "/etc/outreach.toml"
        load_flow(load_specs()[[s.name for s in load_specs()].index(dep["name"])]).validate_parameters(params)
    sync = built["sync"]
    assert sync.concurrency_limit == 1
    assert sync.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
    assert built["detect-and-draft"].triggers, "the new-mail trigger is served too"


def test_example_automations_are_valid_prefect_automations() -> None:
    from prefect.events.schemas.automations import AutomationCore

    data = yaml.safe_load((REPO / "prefect" / "automations.yaml").read_text(encoding="utf-8"))
    automations = [AutomationCore.model_validate(a) for a in data["automations"]]
    expects = {e for a in automations for e in a.trigger.expect}
    assert "outreach.drafts.pending-review" in expects and "prefect.flow-run.Failed" in expects
    assert all(a.actions and a.actions[0].type == "send-notification" for a in automations)
