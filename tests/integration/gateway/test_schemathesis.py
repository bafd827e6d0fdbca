"""Schemathesis against the generated OpenAPI document, with a tenant's API key (a bounded run).

Every service behind the gateway runs, so no 503 is expected: any 5xx and any response that breaks
the documented schema (status, content type, body) fails the test.

One worker: with two, Hypothesis describes strategies (`ast.parse`) in two threads at once, and
CPython 3.11 before 3.11.8 can then raise "AST constructor recursion depth mismatch" (gh-106905).
"""

import asyncio
import os
import sys
from pathlib import Path

from tests.support.stack import create_tenant

CLI = Path(sys.executable).parent / "st"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


async def test_openapi_fuzzing_finds_no_server_error_and_no_schema_violation(stack, tmp_path):
    async with stack("notify", "documents", "payments") as s:
        _, auth = await create_tenant(s.http)
        base = str(s.http.base_url).rstrip("/")
        process = await asyncio.create_subprocess_exec(
            str(CLI),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"Authorization:{auth['Authorization']}",
            "--checks",
            CHECKS,
            "--max-examples",
            os.environ.get("SCHEMATHESIS_EXAMPLES", "8"),
            "--phases",
            "examples,coverage,fuzzing",
            "--max-time",
            "45",
            "--seed",
            "1",
            "--request-timeout",
            "20",
            "--exclude-path-regex",
            "^/v1/stream$",
            "--no-shrink",
            "--workers",
            "1",
            "--report-dir",
            str(tmp_path),
            "--output-truncate",
            "true",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        output, _ = await asyncio.wait_for(process.communicate(), 150)
        text = output.decode(errors="replace")
        assert process.returncode == 0, text[-6000:]
