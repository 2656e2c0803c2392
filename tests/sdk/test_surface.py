"""The SDK's public surface is what kubeflow-katib users import, and nothing else."""

from __future__ import annotations

import katib_py.sdk as sdk


def test_star_import_exports_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from katib_py.sdk import *", namespace)
    exported = {name for name in namespace if name != "__builtins__"}
    assert exported == set(sdk.__all__)
    assert {"m", "annotations", "_models"}.isdisjoint(exported)
    assert {"KatibClient", "search", "report_metrics", "V1beta1Experiment", "V1ObjectMeta"} <= exported
