"""The committed gRPC stubs match protos/, and the wire contract is Katib's."""

from katib_py.proto import api_pb2, wire_pb2
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


def test_wire_request_mirrors_get_suggestions_request() -> None:
    """wire.proto reads Katib's bytes: same numbers, trials as bytes (length-delimited alike)."""
    katib = api_pb2.GetSuggestionsRequest.DESCRIPTOR.fields_by_name
    ours = wire_pb2.GetSuggestionsRequestTrialBytes.DESCRIPTOR.fields_by_name
    assert {n: f.number for n, f in ours.items()} == {n: f.number for n, f in katib.items()}
    for name, field in ours.items():
        if name == "trials":
            assert field.type == field.TYPE_BYTES and katib[name].type == field.TYPE_MESSAGE
        else:
            assert (field.type, field.message_type) == (katib[name].type, katib[name].message_type)
