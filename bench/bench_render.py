"""Invoice rendering benchmark: one-page invoice, PDF/A-3b with embedded EN 16931 XML.

    .venv/bin/python bench/bench_render.py [--renders 30] [--processes 2] [--seconds 10]

Latency is measured warm and in-process (fonts subset, stylesheet parsed, templates compiled
before the clock starts), both as wall-clock and as process CPU time: on a shared machine the
CPU time shows what the renderer costs, the wall-clock what a caller waits.
Throughput runs the same render in N worker processes for a fixed time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.documents.rendering import render_invoice, samples, warm_up

TARGET_MS = 150


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_latency(renders: int) -> tuple[list[float], list[float]]:
    warm_up()
    for _ in range(3):
        render_invoice(samples.invoice())
    wall, cpu = [], []
    for i in range(renders):
        data = samples.invoice(number=f"RE-2026-{i:06d}")
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        document = render_invoice(data)
        wall.append((time.perf_counter() - started_wall) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert document.xml and document.pdf.startswith(b"%PDF")
    return wall, cpu


def _worker(args: tuple[int, float]) -> int:
    worker, seconds = args
    warm_up()
    render_invoice(samples.invoice())
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        render_invoice(samples.invoice(number=f"RE-2026-{worker}{done:05d}"))
        done += 1
    return done


def measure_throughput(processes: int, seconds: float) -> float:
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        pool.map(_worker, [(i, 0.5) for i in range(processes)])  # start and warm the workers
        started = time.perf_counter()
        done = sum(pool.map(_worker, [(i, seconds) for i in range(processes)]))
        return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()

    wall, cpu = measure_latency(options.renders)
    median = statistics.median(wall)
    verdict = "OK" if median < TARGET_MS else "MISSED"
    print(f"invoice render, {options.renders} warm renders (PDF/A-3b + factur-x.xml EN 16931)")
    print(
        f"  wall  median {median:6.1f} ms   p95 {_percentile(wall, 0.95):6.1f} ms   "
        f"target median < {TARGET_MS} ms: {verdict}"
    )
    print(f"  cpu   median {statistics.median(cpu):6.1f} ms   p95 {_percentile(cpu, 0.95):6.1f} ms")
    rate = measure_throughput(options.processes, options.seconds)
    print(f"  throughput with {options.processes} processes: {rate:.1f} invoices/s")


if __name__ == "__main__":
    main()
