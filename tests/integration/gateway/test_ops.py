"""Health, readiness and metrics: request latency histogram and open SSE connections."""

from tests.support.stack import SseReader, create_tenant


def gauge(metrics: str, name: str) -> float:
    return next(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name + " "))


async def test_health_readiness_and_metrics(stack):
    async with stack() as s:
        _, auth = await create_tenant(s.http)
        assert (await s.http.get("/healthz")).json() == {"status": "ok"}
        ready = await s.http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"nats": "ok", "database": "ok", "consumers": "ok"}
        await s.http.get("/v1/balance", headers=auth)
        before = gauge((await s.http.get("/metrics")).text, "sse_open_connections")
        async with s.http.stream("GET", "/v1/stream", headers=auth) as response:
            await SseReader(response).next()
            metrics = (await s.http.get("/metrics")).text
            assert gauge(metrics, "sse_open_connections") == before + 1
        bucket = 'http_request_duration_seconds_bucket{le="0.05",method="GET",route="/v1/balance",status="200"}'
        assert bucket in metrics
        assert "sse_slow_client_disconnects_total" in metrics
