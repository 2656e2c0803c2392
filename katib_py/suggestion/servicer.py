"""The Suggestion and EarlyStopping gRPC servicers: protocol, conversion and error mapping only."""

from __future__ import annotations

import logging
import threading

import grpc
from google.protobuf.message import DecodeError

from katib_py.api.algorithms import MAX_PARALLEL_TRIALS
from katib_py.proto import api_pb2, api_pb2_grpc, wire_pb2
from katib_py.proto.serving import abort as _abort
from katib_py.suggestion.algorithm import (
    END_REACHED_SETTING,
    EarlyStoppingAlgorithm,
    ExperimentView,
    InvalidArgument,
    SuggestionAlgorithm,
)
from katib_py.suggestion.history import TrialConverter

log = logging.getLogger(__name__)


class SuggestionServicer(api_pb2_grpc.SuggestionServicer):
    """Serves one suggestion algorithm. Calls are serialised: algorithms keep per-experiment state."""

    def __init__(self, algorithm: SuggestionAlgorithm) -> None:
        self.algorithm = algorithm
        self._lock = threading.Lock()
        self._converter = TrialConverter()

    def GetSuggestions(
        self, request: api_pb2.GetSuggestionsRequest, context: grpc.ServicerContext
    ) -> api_pb2.GetSuggestionsReply:
        trials = [t.SerializeToString(deterministic=True) for t in request.trials]
        return self._suggest(request.experiment, request.current_request_number, trials, context)

    def GetSuggestionsSerialised(
        self, data: bytes, context: grpc.ServicerContext
    ) -> api_pb2.GetSuggestionsReply:
        """GetSuggestions on the request as received: only trials not seen in the last call are parsed.

        The bytes are read as wire.proto's GetSuggestionsRequestTrialBytes, which leaves each trial
        serialised; at 5,000 trials that costs a fifth of splitting the request in Python.
        """
        try:
            request = wire_pb2.GetSuggestionsRequestTrialBytes.FromString(data)
        except DecodeError:
            fault = f"its {len(data)} bytes are not a well-formed protobuf message"
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"malformed GetSuggestionsRequest: {fault}")
        return self._suggest(
            request.experiment, request.current_request_number, list(request.trials), context
        )

    def _suggest(
        self,
        experiment: api_pb2.Experiment,
        current_request_number: int,
        serialised_trials: list[bytes],
        context: grpc.ServicerContext,
    ) -> api_pb2.GetSuggestionsReply:
        try:
            view = ExperimentView.from_proto(experiment)
            count = max(int(current_request_number), 0)
            if count > MAX_PARALLEL_TRIALS:
                # calls are serialised: one runaway request must not hold every experiment up
                raise InvalidArgument(
                    f"current_request_number {count} is more than the {MAX_PARALLEL_TRIALS} "
                    "assignments one call may ask for"
                )
            with self._lock:
                try:
                    trials = self._converter.convert_serialised(
                        view.name, view.metric, serialised_trials, view.extra_metrics
                    )
                except DecodeError as exc:
                    raise InvalidArgument(f"malformed trial in GetSuggestionsRequest: {exc}") from exc
                self.algorithm.validate(view)
                proposal = self.algorithm.suggest(view, trials, count)
        except InvalidArgument as exc:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except Exception as exc:
            log.exception("GetSuggestions failed for experiment %s", experiment.name)
            _abort(context, grpc.StatusCode.INTERNAL, f"{self.algorithm.name}: {exc}")
        reply = api_pb2.GetSuggestionsReply()
        for proposed in proposal.trials[:count]:
            item = reply.parameter_assignments.add(trial_name=proposed.trial_name)
            for pname, value in proposed.assignment.items():
                item.assignments.add(name=pname, value=value)
            item.labels.update(proposed.labels)
        settings = dict(proposal.settings or {})
        if proposal.end_reached:
            settings[END_REACHED_SETTING] = "true"
        if settings:
            reply.algorithm.algorithm_name = self.algorithm.name
            for sname, value in settings.items():
                reply.algorithm.algorithm_settings.add(name=sname, value=value)
        return reply

    def ValidateAlgorithmSettings(
        self, request: api_pb2.ValidateAlgorithmSettingsRequest, context: grpc.ServicerContext
    ) -> api_pb2.ValidateAlgorithmSettingsReply:
        name = request.experiment.spec.algorithm.algorithm_name
        try:
            if name and name != self.algorithm.name:
                raise InvalidArgument(f"this service runs algorithm {self.algorithm.name!r}, not {name!r}")
            self.algorithm.validate(ExperimentView.from_proto(request.experiment))
        except InvalidArgument as exc:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return api_pb2.ValidateAlgorithmSettingsReply()


class EarlyStoppingServicer(api_pb2_grpc.EarlyStoppingServicer):
    """Serves one early-stopping algorithm."""

    def __init__(self, algorithm: EarlyStoppingAlgorithm) -> None:
        self.algorithm = algorithm
        self._lock = threading.Lock()

    def GetEarlyStoppingRules(
        self, request: api_pb2.GetEarlyStoppingRulesRequest, context: grpc.ServicerContext
    ) -> api_pb2.GetEarlyStoppingRulesReply:
        try:
            with self._lock:
                rules = self.algorithm.rules(
                    request.experiment, list(request.trials), request.db_manager_address
                )
        except InvalidArgument as exc:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except ConnectionError as exc:
            _abort(context, grpc.StatusCode.UNAVAILABLE, str(exc))
        except Exception as exc:
            log.exception("GetEarlyStoppingRules failed for experiment %s", request.experiment.name)
            _abort(context, grpc.StatusCode.INTERNAL, f"{self.algorithm.name}: {exc}")
        return api_pb2.GetEarlyStoppingRulesReply(early_stopping_rules=rules)

    def SetTrialStatus(
        self, request: api_pb2.SetTrialStatusRequest, context: grpc.ServicerContext
    ) -> api_pb2.SetTrialStatusReply:
        if not request.trial_name:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "trial_name is empty")
        try:
            self.algorithm.set_trial_status(request.trial_name)
        except LookupError as exc:
            _abort(context, grpc.StatusCode.NOT_FOUND, str(exc))
        except ConnectionError as exc:
            _abort(context, grpc.StatusCode.UNAVAILABLE, str(exc))
        except Exception as exc:
            log.exception("SetTrialStatus failed for trial %s", request.trial_name)
            _abort(context, grpc.StatusCode.INTERNAL, f"{self.algorithm.name}: {exc}")
        return api_pb2.SetTrialStatusReply()

    def ValidateEarlyStoppingSettings(
        self, request: api_pb2.ValidateEarlyStoppingSettingsRequest, context: grpc.ServicerContext
    ) -> api_pb2.ValidateEarlyStoppingSettingsReply:
        spec = request.early_stopping
        try:
            if spec.algorithm_name and spec.algorithm_name != self.algorithm.name:
                raise InvalidArgument(
                    f"this service runs early stopping {self.algorithm.name!r}, not {spec.algorithm_name!r}"
                )
            self.algorithm.validate([(s.name, s.value) for s in spec.algorithm_settings])
        except InvalidArgument as exc:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return api_pb2.ValidateEarlyStoppingSettingsReply()
