"""An Experiment's `nasConfig` as the NAS algorithms read it, checked by the admission rules.

The service converts the proto back to the API model and runs the same checks as admission
(`katib_py.api.validation._nas`), so ValidateAlgorithmSettings and the webhook never disagree.
"""

from __future__ import annotations

import json

from katib_py.api import models
from katib_py.api.algorithms import AlgorithmInfo
from katib_py.api.validation._errors import FieldError
from katib_py.api.validation._nas import validate_nas_config
from katib_py.proto import api_pb2

_TYPES = {
    api_pb2.DOUBLE: "double",
    api_pb2.INT: "int",
    api_pb2.DISCRETE: "discrete",
    api_pb2.CATEGORICAL: "categorical",
}


def _parameter(spec: api_pb2.ParameterSpec) -> models.ParameterSpec:
    fs = spec.feasible_space
    return models.ParameterSpec(
        name=spec.name,
        parameter_type=_TYPES.get(spec.parameter_type, ""),
        feasible_space=models.FeasibleSpace(
            min=fs.min or None, max=fs.max or None, step=fs.step or None, list=list(fs.list) or None
        ),
    )


def nas_config_model(nas: api_pb2.NasConfig) -> models.NasConfig:
    graph = nas.graph_config
    return models.NasConfig(
        graph_config=models.GraphConfig(
            num_layers=graph.num_layers,
            input_sizes=list(graph.input_sizes),
            output_sizes=list(graph.output_sizes),
        ),
        operations=[
            models.Operation(
                operation_type=op.operation_type,
                parameters=[_parameter(p) for p in op.parameter_specs.parameters],
            )
            for op in nas.operations.operation
        ],
    )


def nas_problems(config: models.NasConfig, info: AlgorithmInfo) -> list[str]:
    """What admission would say about `config` for algorithm `info`, one text per problem."""
    errors: list[FieldError] = []
    validate_nas_config(config, info, errors.append)
    return [str(e) for e in errors]


def katib_text(value: object) -> str:
    """A NAS assignment as Katib's services write it: Python's json.dumps with `'` for every `"`
    (Katib substitutes assignments into the trial's command unescaped)."""
    return json.dumps(value).replace('"', "'")
