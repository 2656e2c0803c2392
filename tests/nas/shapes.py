"""NAS requests shaped like Katib's examples (examples/v1beta1/nas/*.yaml), written here as protos."""

from __future__ import annotations

from collections.abc import Sequence

from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m


def op(kind: str, *params: api_pb2.ParameterSpec) -> api_pb2.Operation:
    return api_pb2.Operation(
        operation_type=kind, parameter_specs=api_pb2.Operation.ParameterSpecs(parameters=list(params))
    )


def choice(name: str, *values: str) -> api_pb2.ParameterSpec:
    return m.parameter(name, "categorical", values=values)


def nas_experiment(
    name: str,
    algorithm: str,
    operations: Sequence[api_pb2.Operation],
    *,
    layers: int = 3,
    input_sizes: Sequence[int] = (32, 32, 3),
    output_sizes: Sequence[int] = (10,),
    settings: dict[str, str] | None = None,
    metric: str = "Validation-Accuracy",
    maximize: bool = True,
) -> api_pb2.Experiment:
    exp = m.experiment(name, algorithm, [], settings=settings or {}, metric=metric, maximize=maximize)
    exp.spec.nas_config.CopyFrom(
        api_pb2.NasConfig(
            graph_config=api_pb2.GraphConfig(
                num_layers=layers, input_sizes=list(input_sizes), output_sizes=list(output_sizes)
            ),
            operations=api_pb2.NasConfig.Operations(operation=list(operations)),
        )
    )
    return exp


def enas_cpu_operations() -> list[api_pb2.Operation]:
    """The four operation kinds of Katib's enas-cpu example, with its parameter lists."""
    return [
        op(
            "convolution",
            choice("filter_size", "3", "5", "7"),
            choice("num_filter", "32", "48", "64", "96", "128"),
            choice("stride", "1", "2"),
        ),
        op(
            "separable_convolution",
            choice("filter_size", "3", "5", "7"),
            choice("num_filter", "32", "48", "64", "96", "128"),
            choice("stride", "1", "2"),
            choice("depth_multiplier", "1", "2"),
        ),
        op(
            "depthwise_convolution",
            choice("filter_size", "3", "5", "7"),
            choice("stride", "1", "2"),
            choice("depth_multiplier", "1", "2"),
        ),
        op(
            "reduction",
            choice("reduction_type", "max_pooling", "avg_pooling"),
            m.parameter("pool_size", "int", min=2, max=3, step=1),
        ),
    ]
