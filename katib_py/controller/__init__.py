"""The operator: Experiment, Suggestion and Trial controllers on kopf (see operator.py for the wiring).

Modules: kube (REST client), cache (watch-fed object cache), workqueue (per-object reconcile
queue), experiment/suggestion/trial (the reconcilers), services (gRPC clients), telemetry
(events, Prometheus metrics), leader (Lease-based leader election), install/up/demo (running it
all on the embedded control plane), cli (`katib-py operator`).
"""
