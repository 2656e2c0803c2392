"""Katib on one machine: the one place that starts the embedded cluster and the operator together.

`katib-py up` (up.py) runs the embedded control plane (katib_py.localcluster), installs Katib into
it (install.py: CRDs, the core namespace, katib-config, the db-manager Service) and supervises
the db-manager and operator processes; `katib-py demo` (demo.py) runs an example on top.
"""
