"""The katib-config the chart renders is one katib-py loads, and by default it is the packaged one."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from katib_py.api.config import KATIB_PY_IMAGE, default_katib_config, load_katib_config

from .chart_tools import VARIANTS, one, render


def katib_config_text(values: dict[str, Any]) -> str:
    text: str = one(render(values), "ConfigMap", "katib-config")["data"]["katib-config.yaml"]
    return text


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendered_katib_config_loads(variant: str) -> None:
    config = load_katib_config(katib_config_text(VARIANTS[variant]))
    assert config.suggestion("random") is not None
    assert config.metrics_collector("StdOut") is not None


def test_default_values_render_the_packaged_katib_config() -> None:
    rendered = load_katib_config(katib_config_text({}))
    packaged = default_katib_config()
    assert rendered.runtime.dump() == packaged.runtime.dump()
    assert rendered.init.controller.trial_resources == packaged.init.controller.trial_resources
    assert rendered.init.controller.webhook_port == packaged.init.controller.webhook_port
    assert {s.image for s in rendered.runtime.suggestions} == {KATIB_PY_IMAGE}


def test_values_reach_katib_config() -> None:
    values = {
        "image": {"repository": "registry.local/katib-py", "tag": "dev", "pullPolicy": "Always"},
        "command": "/opt/katib-py/bin/katib-py",
        "katibConfig": {
            "getSuggestionsTimeoutSeconds": 42,
            "metricsUnavailableGracePeriodSeconds": 7,
            "suggestions": [
                {"algorithmName": "tpe", "resources": {"limits": {"memory": "2Gi"}}},
                {"algorithmName": "enas", "image": "ghcr.io/kubeflow/katib/suggestion-enas:v0.19.0"},
            ],
            "metricsCollectorResources": {"requests": {"cpu": "10m"}},
        },
    }
    config = load_katib_config(katib_config_text(values))
    assert config.runtime.get_suggestions_timeout_seconds == 42
    assert config.runtime.metrics_unavailable_grace_period_seconds == 7
    tpe = config.suggestion("tpe")
    assert tpe is not None
    assert tpe.image == "registry.local/katib-py:dev" and tpe.image_pull_policy == "Always"
    assert tpe.command == ["/opt/katib-py/bin/katib-py"]
    assert tpe.args == ["suggestion", "serve", "--algorithm", "tpe", "--listen", "$(POD_IP):6789"]
    assert tpe.resources["limits"]["memory"] == "2Gi"
    enas = config.suggestion("enas")
    assert enas is not None and enas.command is None  # Katib's image, its own entry point
    assert config.suggestion("random") is None  # only the listed algorithms
    collector = config.metrics_collector("File")
    assert collector is not None
    assert collector.command == [
        "env",
        "--block-signal=TERM",
        "/opt/katib-py/bin/katib-py",
        "metrics-collector",
    ]
    assert collector.resources["requests"]["cpu"] == "10m"
    raw = yaml.safe_load(katib_config_text(values))
    assert raw["apiVersion"] == "config.kubeflow.org/v1beta1" and raw["kind"] == "KatibConfig"
