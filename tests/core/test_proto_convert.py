from katib_py.api.models import AlgorithmSetting
from katib_py.core import proto_convert as pc
from katib_py.proto import api_pb2, wire_pb2

from .core_factories import experiment, trial


def test_experiment_to_proto() -> None:
    exp = experiment(
        maxTrialCount=12,
        algorithm={"algorithmName": "random", "algorithmSettings": [{"name": "seed", "value": "1"}]},
        parameters=[
            {
                "name": "lr",
                "parameterType": "double",
                "feasibleSpace": {"min": "0.01", "max": "0.1", "distribution": "logUniform"},
            },
            {"name": "opt", "parameterType": "categorical", "feasibleSpace": {"list": ["sgd", "adam"]}},
        ],
        earlyStopping={
            "algorithmName": "medianstop",
            "algorithmSettings": [{"name": "min_trials_required", "value": "2"}],
        },
    )
    m = pc.experiment_to_proto(exp)
    assert m.name == "exp"
    assert m.spec.max_trial_count == 12 and m.spec.parallel_trial_count == 3
    p0, p1 = m.spec.parameter_specs.parameters
    assert p0.parameter_type == api_pb2.DOUBLE and p0.feasible_space.distribution == api_pb2.LOG_UNIFORM
    assert p1.parameter_type == api_pb2.CATEGORICAL and list(p1.feasible_space.list) == ["sgd", "adam"]
    assert m.spec.objective.type == api_pb2.MINIMIZE and m.spec.objective.objective_metric_name == "loss"
    assert [(s.name, s.value) for s in m.spec.algorithm.algorithm_settings] == [("seed", "1")]
    assert m.spec.early_stopping.algorithm_name == "medianstop"
    merged = pc.experiment_to_proto(exp, [AlgorithmSetting(name="seed", value="2")])
    assert [(s.name, s.value) for s in merged.spec.algorithm.algorithm_settings] == [("seed", "2")]


def test_goal_is_sent_only_when_set() -> None:
    m = pc.experiment_to_proto(experiment())
    assert m.spec.objective.goal == 0
    exp = experiment(objective={"type": "maximize", "goal": 0.99, "objectiveMetricName": "acc"})
    assert pc.experiment_to_proto(exp).spec.objective.goal == 0.99


def test_trials_to_proto_filters_and_maps_condition_and_strategy() -> None:
    t_ok = trial("ok", "succeeded", loss="0.3")
    assert t_ok.status is not None and t_ok.status.observation is not None and t_ok.status.observation.metrics
    t_ok.status.observation.metrics[0].min = "0.1"
    t_ok.status.start_time = "2026-01-01T00:00:00Z"
    trials = [
        t_ok,
        trial("mu", "metricsunavailable"),
        trial("es", "earlystopped"),
        trial("es2", "earlystopped", loss="1"),
    ]
    out = pc.trials_to_proto(trials)
    assert [t.name for t in out] == ["ok", "es2"]
    assert out[0].status.condition == api_pb2.TrialStatus.SUCCEEDED
    assert out[1].status.condition == api_pb2.TrialStatus.EARLYSTOPPED
    assert out[0].status.start_time == "2026-01-01T00:00:00Z"
    assert [(m.name, m.value) for m in out[0].status.observation.metrics] == [("loss", "0.1")]
    assert [(a.name, a.value) for a in out[0].spec.parameter_assignments.assignments] == [("lr", "0.05")]


def test_rules_from_proto() -> None:
    rules = pc.rules_from_proto(
        [api_pb2.EarlyStoppingRule(name="acc", value="0.5", comparison=api_pb2.LESS, start_step=3)]
    )
    assert rules[0].comparison == "less" and rules[0].start_step == 3


def test_joined_chunks_equal_the_request_built_whole() -> None:
    trials = [
        trial("ok", "succeeded", loss="0.3"),
        trial("mu", "metricsunavailable"),
        trial("run", "running"),
        trial("es2", "earlystopped", loss="1"),
    ]
    exp = pc.experiment_to_proto(experiment())
    for request_type, extra in [
        (api_pb2.GetSuggestionsRequest, {"current_request_number": 3, "total_request_number": 7}),
        (api_pb2.GetEarlyStoppingRulesRequest, {"db_manager_address": "db:6789"}),
    ]:
        chunks = [pc.request_chunk(t, request_type) for t in trials]
        assert chunks[1] == b""  # MetricsUnavailable is not sent, as trials_to_proto
        joined = pc.join_request(request_type(experiment=exp, **extra), chunks)
        whole = request_type(experiment=exp, trials=pc.trials_to_proto(trials), **extra)
        assert request_type.FromString(joined) == whole
        assert [t.name for t in request_type.FromString(joined).trials] == ["ok", "run", "es2"]


def test_wire_message_reads_a_joined_request_with_trials_left_as_bytes() -> None:
    trials = [trial("ok", "succeeded", loss="0.3"), trial("run", "running"), trial("r" * 150, "running")]
    exp = pc.experiment_to_proto(experiment())
    head = api_pb2.GetSuggestionsRequest(experiment=exp, current_request_number=300, total_request_number=7)
    chunks = [pc.request_chunk(t, api_pb2.GetSuggestionsRequest) for t in trials]
    read = wire_pb2.GetSuggestionsRequestTrialBytes.FromString(pc.join_request(head, chunks))
    assert read.experiment == exp
    assert (read.current_request_number, read.total_request_number) == (300, 7)
    assert [api_pb2.Trial.FromString(t) for t in read.trials] == pc.trials_to_proto(trials)
    # each trial's bytes are its chunk's payload: what the service keys unchanged trials by
    assert [t.SerializeToString() for t in pc.trials_to_proto(trials)] == list(read.trials)
