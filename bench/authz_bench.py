"""RBAC authorizer cost on the embedded API server: one decision and one policy build, for growing
numbers of Roles and RoleBindings, against the smallest policy measured in the same run.

Run: .venv/bin/python -m bench.authz_bench [--namespaces 10,100,1000] [--decisions 20000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from katib_py.localcluster.apiserver import rbac

USER = "system:serviceaccount:ns0:sa1"
GROUPS = ("system:serviceaccounts", "system:authenticated")


def policy_objects(namespaces: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Three Roles and three RoleBindings per namespace, as suggestion services get."""
    roles, bindings = [], []
    for i in range(namespaces):
        ns = f"ns{i}"
        for j in range(3):
            roles.append(
                {
                    "metadata": {"name": f"r{j}", "namespace": ns},
                    "rules": [
                        {"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list"]},
                        {"apiGroups": ["kubeflow.org"], "resources": ["trials/status"], "verbs": ["patch"]},
                    ],
                }
            )
            bindings.append(
                {
                    "metadata": {"name": f"b{j}", "namespace": ns},
                    "roleRef": {"kind": "Role", "name": f"r{j}"},
                    "subjects": [{"kind": "ServiceAccount", "name": f"sa{j}", "namespace": ns}],
                }
            )
    return roles, bindings


def measure(namespaces: int, decisions: int) -> tuple[float, float]:
    """(build ms, microseconds per decision) for a policy of `namespaces` x 3 roles and bindings."""
    roles, bindings = policy_objects(namespaces)
    started = time.perf_counter()
    policy = rbac.Policy.build([], roles, [], bindings)
    build = (time.perf_counter() - started) * 1000
    allowed = rbac.request_attributes(
        USER, GROUPS, "PATCH", "/apis/kubeflow.org/v1beta1/namespaces/ns0/trials/t/status", {}
    )
    denied = rbac.request_attributes(USER, GROUPS, "GET", "/api/v1/namespaces/ns0/secrets", {})
    started = time.perf_counter()
    for _ in range(decisions // 2):
        policy.allows(allowed)
        policy.allows(denied)
    return build, (time.perf_counter() - started) / decisions * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--namespaces", default="1,10,100,1000")
    parser.add_argument("--decisions", type=int, default=20_000)
    args = parser.parse_args()
    sizes = [int(n) for n in args.namespaces.split(",")]
    rows = [(n, *measure(n, args.decisions)) for n in sizes]
    base = rows[0][2]
    print("| roles + bindings | policy build (ms) | one decision (us) | decision vs smallest |")
    print("|---|---|---|---|")
    for n, build, per in rows:
        print(f"| {6 * n} | {build:.1f} | {per:.2f} | {per / base:.2f}x |")


if __name__ == "__main__":
    main()
