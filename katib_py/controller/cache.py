"""The controllers' view of the cluster: objects kept fresh by watch events (an informer cache).

kopf's watches feed it (`observe`/`forget`), the controllers' own writes feed it too (so the next
reconcile never acts on a copy older than what it just wrote), and an index answers "the trials
of this experiment" without listing anything.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast, overload

from katib_py.api.models import KatibModel, ObjectiveSpec, Trial
from katib_py.core.trial_facts import TrialFacts, facts_of, objective_key
from katib_py.kube.meta import Key, Obj, key_of, resource_version

M = TypeVar("M", bound=KatibModel)
T = TypeVar("T")

EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"


class ObjectCache:
    """Latest known body of each object, by kind name ("experiments", "trials", "jobs.v1.batch", ...)."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[Key, Obj]] = defaultdict(dict)
        # (namespace, experiment) -> its trials in name order, with their facts (see TrialIndex)
        self._trials_by_experiment: dict[Key, TrialIndex] = {}
        # (kind, key) -> (resourceVersion, {what: value}): an experiment of 20,000 trials must not
        # re-parse (or re-encode for the algorithm service) every trial on every reconcile
        self._models: dict[tuple[str, Key], tuple[str, dict[str, Any]]] = {}
        # trial job uid -> pod uid -> the first body of the Pod that showed an infrastructure failure:
        # kept when the Pod changes or goes, since an evicted Pod is deleted (and may lose its
        # DisruptionTarget condition) before the trial controller reads it.
        self._failed_pods: dict[str, dict[str, Obj]] = defaultdict(dict)

    def model(self, kind: str, obj: Obj, cls: type[M]) -> M:
        """`cls.load(obj)`, memoised by resourceVersion. Callers must not mutate the result."""
        return self.derived(kind, obj, cls.__qualname__, cls.load)

    def derived(self, kind: str, obj: Obj, what: str, make: Callable[[Obj], T]) -> T:
        """`make(obj)`, memoised by resourceVersion under the name `what`."""
        key = (kind, key_of(obj))
        rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        hit = self._models.get(key)
        if hit is None or hit[0] != rv:
            hit = (rv, {})
            if rv:
                self._models[key] = hit
        if what not in hit[1]:
            hit[1][what] = make(obj)
        return cast(T, hit[1][what])

    def observe(self, kind: str, obj: Obj) -> None:
        """Store `obj` unless the cache already holds a newer version of it."""
        key = key_of(obj)
        store = self._objects[kind]
        current = store.get(key)
        if current is not None:
            old, new = resource_version(current), resource_version(obj)
            if old and new and new < old:
                return
            if kind == "trials":
                self._unindex_trial(key, current)
        store[key] = obj
        if kind == "trials":
            experiment = ((obj.get("metadata") or {}).get("labels") or {}).get(EXPERIMENT_LABEL)
            if experiment:
                index = self._trials_by_experiment.setdefault((key[0], experiment), TrialIndex())
                index.put(key[1], obj)

    def forget(self, kind: str, obj: Obj) -> None:
        """Drop a deleted object, unless the cache already holds a newer object of that name."""
        key = key_of(obj)
        held = self._objects[kind].get(key)
        uid = (obj.get("metadata") or {}).get("uid")
        if held is not None and uid and (held.get("metadata") or {}).get("uid") not in (None, uid):
            return
        current = self._objects[kind].pop(key, None)
        self._models.pop((kind, key), None)
        if current is not None and kind == "trials":
            self._unindex_trial(key, current)

    def _unindex_trial(self, key: Key, obj: Obj) -> None:
        experiment = ((obj.get("metadata") or {}).get("labels") or {}).get(EXPERIMENT_LABEL)
        if experiment:
            index = self._trials_by_experiment.get((key[0], experiment))
            if index is not None:
                index.remove(key[1])
                if not index.names:
                    del self._trials_by_experiment[(key[0], experiment)]

    def observe_failed_pod(self, owner_uid: str, pod: Obj) -> None:
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        self._failed_pods[owner_uid].setdefault(uid, pod)

    def failed_pods_of(self, owner_uid: str) -> list[Obj]:
        return list(self._failed_pods.get(owner_uid, {}).values())

    def forget_pods_of(self, owner_uid: str) -> None:
        self._failed_pods.pop(owner_uid, None)

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self._objects[kind].get((namespace, name))

    def all(self, kind: str) -> list[Obj]:
        return list(self._objects[kind].values())

    def trials_of(self, namespace: str, experiment: str) -> list[Obj]:
        """The experiment's trials in name order (the order a list from the API server has)."""
        index = self._trials_by_experiment.get((namespace, experiment))
        return list(index.bodies) if index is not None else []

    def trial_names(self, namespace: str, experiment: str) -> set[str]:
        """The names of the experiment's trials (a copy: a C-level set copy, no per-trial work)."""
        index = self._trials_by_experiment.get((namespace, experiment))
        return set(index.name_set) if index is not None else set()

    def trial_facts(
        self, namespace: str, experiment: str, objective: ObjectiveSpec | None
    ) -> list[TrialFacts]:
        """The facts (see core.trial_facts) of `trials_of(namespace, experiment)`, in the same
        order; each read once per trial version: only the trials changed since the last call cost
        anything."""
        index = self._trials_by_experiment.get((namespace, experiment))
        if index is None:
            return []
        return index.facts(
            objective_key(objective), lambda body: facts_of(self.model("trials", body, Trial), objective)
        )

    def trial_models(self, bodies: list[Obj]) -> LazyModels[Trial]:
        """The trials as models, each loaded (memoised) only when it is read."""
        return LazyModels(self, "trials", bodies, Trial)


class LazyModels(Sequence[M]):
    """A read-only sequence of cached models that parses an object only when it is asked for: a
    reconcile that reads one trial of 20,000 (the best) loads one."""

    def __init__(self, cache: ObjectCache, kind: str, bodies: list[Obj], cls: type[M]) -> None:
        self._cache, self._kind, self._bodies, self._cls = cache, kind, bodies, cls

    def __len__(self) -> int:
        return len(self._bodies)

    @overload
    def __getitem__(self, index: int) -> M: ...

    @overload
    def __getitem__(self, index: slice) -> list[M]: ...

    def __getitem__(self, index: int | slice) -> M | list[M]:
        if isinstance(index, slice):
            return [self._cache.model(self._kind, b, self._cls) for b in self._bodies[index]]
        return self._cache.model(self._kind, self._bodies[index], self._cls)


class TrialIndex:
    """One experiment's trials kept in name order, and their facts per objective kept beside them.

    Every reconcile of an experiment reads all its trials; sorting and looking each one up again
    was most of the operator's time at thousands of trials (bench.long_bench --profile). Here a
    change costs a binary search and a list insert (a C-level move), and a reconcile copies lists.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.name_set: set[str] = set()  # the same names, for membership and set copies
        self.bodies: list[Obj] = []
        # objective key -> facts aligned with `names`, None where the trial changed since
        self._facts: dict[str, list[TrialFacts | None]] = {}

    def put(self, name: str, body: Obj) -> None:
        i = bisect.bisect_left(self.names, name)
        if i < len(self.names) and self.names[i] == name:
            same = resource_version(self.bodies[i]) == resource_version(body) != 0
            self.bodies[i] = body
            if not same:  # (a watch event of the version this operator wrote changes nothing)
                for facts in self._facts.values():
                    facts[i] = None
            return
        self.names.insert(i, name)
        self.name_set.add(name)
        self.bodies.insert(i, body)
        for facts in self._facts.values():
            facts.insert(i, None)

    def remove(self, name: str) -> None:
        i = bisect.bisect_left(self.names, name)
        if i < len(self.names) and self.names[i] == name:
            del self.names[i], self.bodies[i]
            self.name_set.discard(name)
            for facts in self._facts.values():
                del facts[i]

    def facts(self, what: str, make: Callable[[Obj], TrialFacts]) -> list[TrialFacts]:
        facts = self._facts.setdefault(what, [None] * len(self.names))
        stale = 0
        while True:
            try:
                stale = facts.index(None, stale)
            except ValueError:
                break
            facts[stale] = make(self.bodies[stale])
        return cast(list[TrialFacts], list(facts))
