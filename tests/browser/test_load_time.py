"""Dashboard load time in the browser (Navigation Timing), p50/p95 over 20 loads, written to
test-artifacts/dashboard-load.json."""

import json
import statistics

from tests.browser.conftest import SCREENSHOTS, log_in, needs

LOADS = 20


async def test_dashboard_loads_quickly_in_the_browser(page, stack):
    needs(stack, "billing")
    tenant = await stack.tenant()
    await log_in(page, stack, tenant)
    samples = []
    for _ in range(LOADS):
        await page.goto("/", wait_until="load")
        samples.append(
            await page.evaluate("""(() => { const n = performance.getEntriesByType('navigation')[0];
            return {ttfb: n.responseStart - n.startTime, dcl: n.domContentLoadedEventEnd - n.startTime,
                    load: n.loadEventEnd - n.startTime}; })()""")
        )
    report = {}
    for metric in ("ttfb", "dcl", "load"):
        values = sorted(s[metric] for s in samples)
        report[metric] = {
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(values[int(0.95 * (len(values) - 1))], 1),
        }
    (SCREENSHOTS.parent).mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "dashboard-load.json").write_text(json.dumps({"loads": LOADS, **report}, indent=2))
    print("dashboard load", json.dumps(report))
    assert report["load"]["p95_ms"] < 1000, report
