"""Run every benchmark and print one summary table.

    python benches/run_all.py            # all benchmarks
    python benches/run_all.py ids sf     # only bench_ids.py and bench_sf.py

Exit status: 0 when every result is correct (even if a performance target is missed: that is
reported as FAIL in the "target?" column), 1 when any benchmark computed a wrong result or crashed.
"""

from __future__ import annotations

import datetime
import importlib
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Result, WrongResult, machine, print_table  # noqa: E402

BENCHES = (
    "hashpath",
    "ids",
    "sf",
    "threads",
    "commit",
    "resolve",
    "stack",
    "ans104",
    "ingress",
    "store",
    "p4",
    "gateway",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    print(f"# hyperbeam_fast benchmarks, {datetime.date.today()}, {machine()}")
    results: list[Result] = []
    errors: list[str] = []
    t_start = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        print(f"running bench_{name} ...", flush=True)
        try:
            mod = importlib.import_module(f"bench_{name}")
            results.extend(mod.run())
        except WrongResult as exc:
            errors.append(f"bench_{name}: WRONG RESULT: {exc}")
        except Exception:  # a crash is as bad as a wrong result
            errors.append(f"bench_{name}: CRASHED:\n{traceback.format_exc()}")
        print(f"  done in {time.perf_counter() - t0:.1f}s", flush=True)
    print()
    print_table(results)
    targets = [r for r in results if r.target is not None]
    missed = [r for r in targets if r.passed is False]
    print(
        f"\n{len(targets) - len(missed)}/{len(targets)} performance targets met"
        f" ({time.perf_counter() - t_start:.0f}s in all)."
    )
    for r in missed:
        print(f"  target missed (reported, not an error): {r.bench}: {r.metric}")
    if errors:
        print("\nERRORS (exit status 1):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    print("All results correct.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
