"""Shared helpers for the benchmarks: timing, result records, correctness checks, printing.

Every benchmark module exposes ``run() -> list[Result]`` and is also runnable on its own
(``python benches/bench_x.py``). A wrong result raises :class:`WrongResult` (exit status 1);
a missed performance *target* is only reported (``FAIL`` in the target column).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

# Allow "python benches/bench_x.py" from the repository root without installing anything else.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REPEATS = 11  # timed repeats per measurement; the median is reported
#: The tags aoconnect 0.0.98 puts on a message (bench_clients.py, bench_ingress.py).
AOC = {
    "data-protocol": "ao",
    "type": "Message",
    "variant": "ao.N.1",
    "require-codec": "application/json",
    "signing-format": "ans104",
    "accept-bundle": "true",
}


class WrongResult(Exception):
    """A benchmarked function returned a wrong result: the run must exit non-zero."""


def check(cond: bool, what: str) -> None:
    """Like ``assert`` but never stripped by ``python -O``."""
    if not cond:
        raise WrongResult(what)


def median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall time (seconds) of ``fn()`` over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def rate(fn: Callable[[], object], ops: int, repeats: int = REPEATS) -> float:
    """Operations per second: ``fn()`` performs ``ops`` operations; median of ``repeats``."""
    return ops / median_time(fn, repeats)


def paired_rates(
    fa: Callable[[], object],
    fb: Callable[[], object],
    ops: int,
    rounds: int = 21,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float]:
    """Median rates of ``fa`` and ``fb`` (each performs ``ops`` operations), timed in
    alternating rounds so both see the same load (which one goes first alternates too).
    ``clock=time.thread_time`` gives CPU-time rates."""
    ta: list[float] = []
    tb: list[float] = []
    fa(), fb()
    for r in range(rounds):
        pair = ((fa, ta), (fb, tb)) if r % 2 == 0 else ((fb, tb), (fa, ta))
        for f, ts in pair:
            t0 = clock()
            f()
            ts.append(clock() - t0)
    ta.sort(), tb.sort()
    return ops / max(ta[rounds // 2], 1e-9), ops / max(tb[rounds // 2], 1e-9)


def cpu_rate(fn: Callable[[], object], ops: int, repeats: int = REPEATS) -> float:
    """Operations per second of this thread's CPU time (``time.thread_time``; median of
    ``repeats`` after a warm-up): what the code costs, whatever else the machine runs."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    times.sort()
    return ops / max(times[len(times) // 2], 1e-9)


@dataclass
class Result:
    """One line of the summary table.

    ``measured`` is a rate (ops/s) or a plain ratio (``unit == "x"``). ``target`` is compared
    with ``measured`` (``>=``); ``None`` means "informational, no target". ``vs`` lists
    ``(label, ratio)`` pairs: measured / anchor for each anchor or reference in the same run.
    """

    bench: str
    metric: str
    measured: float
    unit: str = "/s"
    target: float | None = None
    vs: tuple[tuple[str, float], ...] = ()

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.measured >= self.target

    @property
    def verdict(self) -> str:
        return {None: "-", True: "PASS", False: "FAIL"}[self.passed]


def fmt_value(v: float, unit: str) -> str:
    if unit == "x":
        return f"{v:.2f}x"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M{unit}"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k{unit}"
    return f"{v:.0f}{unit}"


def fmt_vs(vs: tuple[tuple[str, float], ...]) -> str:
    return "; ".join(f"{r:.1f}x {label}" if r >= 10 else f"{r:.2f}x {label}" for label, r in vs)


def print_table(results: list[Result], title: str = "") -> None:
    rows = [
        (
            r.bench,
            r.metric,
            fmt_value(r.measured, r.unit),
            "-" if r.target is None else ">= " + fmt_value(r.target, r.unit),
            fmt_vs(r.vs) or "-",
            r.verdict,
        )
        for r in results
    ]
    head = ("bench", "metric", "measured", "target", "ratio (same run)", "target?")
    columns = zip(head, *rows, strict=True)
    widths = [max(len(str(x)) for x in col) for col in columns]
    line = "  ".join("{:<" + str(w) + "}" for w in widths)
    if title:
        print(title)
    print(line.format(*head))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/loadavg") as f:
            load = ", load " + " ".join(f.read().split()[:3])
    except OSError:
        load = ""
    return f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}{load}"


def main(run: Callable[[], list[Result]], name: str) -> int:
    """Entry point for running one benchmark module alone."""
    print(f"# {name} on {machine()}")
    try:
        results = run()
    except WrongResult as exc:
        print(f"WRONG RESULT: {exc}", file=sys.stderr)
        return 1
    print()
    print_table(results)
    missed = [r for r in results if r.passed is False]
    if missed:
        print(f"\n{len(missed)} performance target(s) missed (reported, not an error).")
    return 0


def genesis_process(image: bytes, w, store) -> dict:
    """A genesis-wasm@1.0 AOS process whose ``Module`` is a signed data item in ``store``."""
    import hyperbeam_fast as hb
    from hyperbeam_fast import _native, cache
    from hyperbeam_fast.codecs import ans104

    tags = [(b"Data-Protocol", b"ao"), (b"Type", b"Module"), (b"Memory-Limit", b"1-gb")]
    tags.append((b"Compute-Limit", b"9000000000000"))  # both required, as in the ao CU
    item = {"tags": tags, "data": image, "target": b"", "anchor": b""}
    mod = ans104.decode(_native.ans104_serialize(_native.ans104_sign(item, w._key)))
    cache.write(mod, store)
    return hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "module": hb.id(mod, "all"),
            "scheduler": w.address,
            "authority": w.address,
            "execution-device": "genesis-wasm@1.0",
            "data": "1984",
        },
        w,
    )
