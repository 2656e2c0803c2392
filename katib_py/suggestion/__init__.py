"""Katib's algorithm services: the framework that serves every algorithm over api.v1.beta1 gRPC.

One process serves one algorithm (`katib-py suggestion serve --algorithm NAME`), as Katib's
images do: the Suggestion service (GetSuggestions, ValidateAlgorithmSettings) on 0.0.0.0:6789, or
for early stopping (medianstop) the EarlyStopping service on 0.0.0.0:6788, plus the standard
grpc.health.v1 service answering SERVING for "manager.v1beta1.Suggestion" and "".
The built-in algorithms live in `katib_py.suggestion.algorithms`, one module each; every algorithm,
built-in or from another installed package, is an entry point of the `katib_py.algorithms` group
(`registry`), which is how NAME is found (docs/custom-algorithms.md).

Wire contract the operator relies on (differs from Katib: README "Differences from Katib"):

- A GetSuggestionsReply may carry FEWER assignments than `current_request_number`; that is never
  an error.
- If its `algorithm.algorithm_settings` contain `{name: "suggestion_end_reached", value: "true"}`,
  the algorithm has definitively finished (grid exhausted, hyperband's last bracket done): no later
  call will return anything new, and the experiment should end with ExperimentSuggestionEndReached
  once its active trials end.
- Without that setting, fewer assignments mean "nothing more right now" (e.g. hyperband waiting for
  a rung, pbt waiting for a member to finish): ask again when trials complete.
- Other reply settings (hyperband's state) are to be merged into Suggestion.status.algorithmSettings
  and sent back in later requests, as Katib does. `suggestion_end_reached` coming back in a request
  is ignored by the services.
- Services rebuild their state from the request (trials and round-tripped settings) after a
  restart and never hand out an assignment equal to one held by a live trial.
"""
