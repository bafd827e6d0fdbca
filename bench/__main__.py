"""`make bench`: run every benchmark script and print its figures next to the targets (PRODUCT.md).

Benchmarks are not tests: they measure. Each `bench/bench_*.py` runs in its own process so one
cannot warm or slow another; `BENCH=name` runs just one.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    only = os.environ.get("BENCH")
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not only or only in p.stem)
    failures = 0
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", f"bench.{script.stem}"], cwd=HERE.parent)
        outcome = "ok" if result.returncode == 0 else "FAILED"
        print(f"--- {script.stem}: {outcome} in {time.monotonic() - started:.0f} s")
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
