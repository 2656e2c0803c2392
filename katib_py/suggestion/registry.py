"""Which class serves an algorithm name: the `katib_py.algorithms` entry-point group.

Every algorithm, built-in or third-party, is an entry point in this one group of installed package
metadata, name -> `module:Class`:

    [project.entry-points."katib_py.algorithms"]
    random = "katib_py.suggestion.algorithms.random:RandomSearch"
    coordinate-search = "katib_coordinate_search:CoordinateSearch"

so that installing a package that declares one is all it takes for
`katib-py suggestion serve --algorithm NAME` to serve it. Listing the names reads metadata only;
loading a name imports only the module of that entry point, so a service pays only for its own
library (tpe imports optuna, bayesianoptimization scikit-learn, a plug-in whatever it needs).

One group for suggestion and early-stopping algorithms, not two. The kind of an algorithm is
already carried by its class (a SuggestionAlgorithm is served as Katib's `Suggestion` service on
6789, an EarlyStoppingAlgorithm as the `EarlyStopping` service on 6788), so a second group would
state it twice and could contradict the class. `--algorithm` takes one name, so the names must be
unique across both kinds anyway: with two groups a name present in both would be ambiguous at the
one place that reads them. The katib-config keeps Katib's two lists (`suggestions`,
`earlyStoppings`); which list names an algorithm decides how the operator deploys and calls it, and
a class of the wrong kind answers the other service's calls with UNIMPLEMENTED, as a Katib image of
the wrong kind would.

Errors say what to do: an unknown name lists the registered ones; an entry point that fails to
import, is not an algorithm class, is abstract, or whose class declares another `name` is a
BrokenPlugin naming the entry point and the distribution that declared it; the same name declared by
two distributions is a BrokenPlugin naming both.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import metadata

from katib_py.api.algorithms import AlgorithmInfo
from katib_py.suggestion.algorithm import EarlyStoppingAlgorithm, SuggestionAlgorithm

ENTRY_POINT_GROUP = "katib_py.algorithms"

AlgorithmClass = type[SuggestionAlgorithm] | type[EarlyStoppingAlgorithm]


class RegistryError(LookupError):
    """An algorithm name that cannot be served (the message is for the user)."""


class UnknownAlgorithm(RegistryError):
    """No installed distribution registers the name."""


class BrokenPlugin(RegistryError):
    """An entry point that does not give a usable algorithm class."""


@dataclass(frozen=True)
class Registration:
    """One entry point of the group: the algorithm name, `module:Class`, and who declared it."""

    name: str
    target: str
    distribution: str

    def describe(self) -> str:
        return f"entry point {self.name} = {self.target!r} (from {self.distribution})"


def _distribution(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    if dist is None:
        return "an unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"


def registrations() -> dict[str, list[Registration]]:
    """Every registration of the group by name, read from installed metadata (nothing imported).

    A name normally has one registration; more than one (two distributions declaring it) is an error
    when that name is loaded.
    """
    found: dict[str, list[Registration]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        reg = Registration(ep.name, ep.value, _distribution(ep))
        if reg not in found.setdefault(ep.name, []):
            found[ep.name].append(reg)
    return found


def known_algorithms() -> list[str]:
    """The registered algorithm names, sorted."""
    return sorted(registrations())


def _entry_point(name: str) -> metadata.EntryPoint:
    matches = list(metadata.entry_points(group=ENTRY_POINT_GROUP, name=name))
    if not matches:
        known = known_algorithms()
        hint = (
            ", ".join(known)
            if known
            else f"none: no installed package declares a {ENTRY_POINT_GROUP!r} entry point "
            "(is katib-py installed, e.g. `pip install -e .`, rather than run from a source tree?)"
        )
        raise UnknownAlgorithm(f"unknown algorithm {name!r} (known: {hint})")
    declared = {(ep.value, _distribution(ep)) for ep in matches}
    if len(declared) > 1:
        listing = "; ".join(f"{value!r} from {dist}" for value, dist in sorted(declared))
        raise BrokenPlugin(
            f"algorithm {name!r} is registered more than once in {ENTRY_POINT_GROUP!r} ({listing}): "
            "uninstall one of these packages"
        )
    return matches[0]


def load_algorithm_class(name: str) -> AlgorithmClass:
    """The class serving `name`, imported now (only its own module and what that imports)."""
    ep = _entry_point(name)
    where = Registration(ep.name, ep.value, _distribution(ep)).describe()
    try:
        obj = ep.load()
    except Exception as exc:
        raise BrokenPlugin(
            f"algorithm {name!r}: {where} failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    return check_algorithm_class(name, obj, where)


def check_algorithm_class(name: str, obj: object, where: str) -> AlgorithmClass:
    """`obj` if it is a concrete algorithm class declaring `name`, else BrokenPlugin saying why."""
    bases = "katib_py.suggestion.algorithm.SuggestionAlgorithm or EarlyStoppingAlgorithm"
    if not inspect.isclass(obj) or not issubclass(obj, (SuggestionAlgorithm, EarlyStoppingAlgorithm)):
        raise BrokenPlugin(f"algorithm {name!r}: {where} gives {obj!r}, which is not a subclass of {bases}")
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        raise BrokenPlugin(f"algorithm {name!r}: {where} gives an abstract class (implement: {missing})")
    declared = getattr(obj, "name", None)
    if declared != name:
        raise BrokenPlugin(
            f"algorithm {name!r}: {where} gives class {obj.__qualname__} whose `name` is {declared!r}: "
            "it must be the registered name (the Experiment's algorithmName, which the service checks)"
        )
    if not isinstance(getattr(obj, "info", None), AlgorithmInfo):
        raise BrokenPlugin(
            f"algorithm {name!r}: {where} gives class {obj.__qualname__} without an `info` "
            "(a katib_py.api.algorithms.AlgorithmInfo: its settings and the distributions it honours)"
        )
    return obj


def is_early_stopping(cls: AlgorithmClass) -> bool:
    return issubclass(cls, EarlyStoppingAlgorithm)
