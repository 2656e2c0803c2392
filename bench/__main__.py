"""`python -m bench [--full] [NAME...]`: every benchmark, one after another, each printing its tables.

The default is a quick pass (minutes) with the same code paths; `--full` runs each benchmark with
the sizes quoted in the issue notes (an hour or more on a 2-core machine). Every benchmark measures
its own baseline in the same run, so compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

# name -> (quick args, full args)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "apiserver": (["--objects", "300", "--watchers", "20", "--events", "100"], []),
    "authz": (["--decisions", "4000"], []),
    "dbmanager": (
        ["--rows", "100000", "--queries", "20"],
        ["--rows", "1000000,10000000"],
    ),
    "collector": (["--lines", "200000"], []),
    "suggestion": (["--quick"], []),
    "operator": (["--overhead-trials", "100"], []),
    "scale": (["--experiments", "10", "--trials", "5"], ["--experiments", "100", "--trials", "20"]),
    "long": (["--trials", "500"], ["--trials", "20000"]),
    "reconcile": (["--sizes", "1000,5000", "--rounds", "10"], ["--sizes", "1000,5000,20000"]),
    "nas": (["--quick"], []),
    "multiobjective": (["--seeds", "3", "--dims", "6"], []),
    "figures": (["--trials", "500"], ["--trials", "1000,5000"]),
    "pod_network": (["--pods", "20"], ["--pods", "100"]),
    "ui": (["--trials", "5000", "--experiments", "200", "--repeat", "2"], ["--repeat", "5"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the sizes quoted in the issue notes")
    parser.add_argument("names", nargs="*", help=f"which ones: {', '.join(BENCHMARKS)} (default: all)")
    opts = parser.parse_args(argv)
    unknown = sorted(set(opts.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    failed = []
    for name in opts.names or list(BENCHMARKS):
        quick, full = BENCHMARKS[name]
        cmd = [sys.executable, "-m", f"bench.{name}_bench", *(full if opts.full else quick)]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        if subprocess.run(cmd).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
