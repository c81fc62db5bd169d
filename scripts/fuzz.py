"""The long fuzzing campaign (issue 12, item 3): ``scripts/fuzz [--stanzas N]
[--datagrams N] [--seed S]``. Prints what came out of each layer, the time, and the
resident memory over the run; exits 1 on any failure (each reproduced by its seed)."""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from testbed import fuzz


def show(name: str, report: fuzz.Report, seconds: float) -> None:
    print(f"\n{name}: {report.cases:,} cases in {seconds:.1f} s "
          f"({report.cases / seconds:,.0f}/s)")
    print(f"  {'outcome':<28} {'count':>10}")
    for outcome, count in sorted(report.outcomes.items(), key=lambda kv: -kv[1]):
        print(f"  {outcome:<28} {count:>10,}")
    samples = ", ".join(str(kb) for kb in report.rss_kb)
    print(f"  memory Python holds (KiB, tracemalloc) over the run: {samples}")
    print(f"  growth after the first tenth: {report.rss_growth_kb} KiB")
    for failure in report.failures:
        print(f"  FAILED {failure}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stanzas", type=int, default=200_000)
    parser.add_argument("--datagrams", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed {args.seed}")
    tracemalloc.start()  # exact allocations (the resident set moves in arena steps)
    failed = False
    for name, run, n in (("stanzas", fuzz.run_stanzas, args.stanzas),
                         ("datagrams", fuzz.run_datagrams, args.datagrams)):
        start = time.monotonic()
        report = run(n, seed=args.seed)
        show(name, report, time.monotonic() - start)
        failed = failed or bool(report.failures) or "escaped" in report.outcomes
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
