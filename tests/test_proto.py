"""The committed gRPC stubs match protos/api.proto, and the wire contract is Katib's."""

from katib_py.proto import api_pb2
from katib_py.proto.generate import main as generate_main


def test_generated_stubs_are_fresh() -> None:
    assert generate_main(["--check"]) == 0, "run `make proto`"


def test_package_and_field_numbers_match_katib() -> None:
    desc = api_pb2.DESCRIPTOR
    assert desc.package == "api.v1.beta1"
    assert set(desc.services_by_name) == {"DBManager", "Suggestion", "EarlyStopping"}
    req = api_pb2.GetSuggestionsRequest.DESCRIPTOR.fields_by_name
    assert (req["experiment"].number, req["trials"].number) == (1, 2)
    assert (req["current_request_number"].number, req["total_request_number"].number) == (4, 5)
    spec = api_pb2.ExperimentSpec.DESCRIPTOR.fields_by_name
    assert spec["early_stopping"].number == 4 and spec["nas_config"].number == 7
    assert api_pb2.TrialSpec.DESCRIPTOR.fields_by_name["labels"].number == 4
    assert api_pb2.FeasibleSpace.DESCRIPTOR.fields_by_name["distribution"].number == 5
    cond = api_pb2.TrialStatus.TrialConditionType
    assert (cond.Value("METRICSUNAVAILABLE"), cond.Value("EARLYSTOPPED"), cond.Value("UNKNOWN")) == (5, 6, 7)
    assert api_pb2.EarlyStoppingRule.DESCRIPTOR.fields_by_name["start_step"].number == 4
    assert api_pb2.ComparisonType.Value("GREATER") == 3
