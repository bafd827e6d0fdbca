"""Start and stop the emulator as a subprocess, for tests and local runs.

with running_emulator() as stripe:
    stripe.base_url          # use as STRIPE_API_BASE
    stripe.api_key           # any sk_test_… works
    stripe.register_webhook("http://127.0.0.1:9000/webhooks/stripe", "whsec_test")
    stripe.pay_checkout_session("cs_test_…", payment_method="pm_card_visa")
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .launcher import READY

PROJECT_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk_test_emulator"


@dataclass(frozen=True)
class Emulator:
    base_url: str
    api_key: str = API_KEY

    def _post(self, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        response = httpx.post(self.base_url + path, json=data or {}, headers=headers, timeout=10)
        if response.status_code >= 400:
            raise EmulatorError(response.status_code, response.json().get("error", {}))
        return response.json() if response.content else {}

    def get(self, path: str) -> dict[str, Any]:
        response = httpx.get(self.base_url + path, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=10)
        if response.status_code >= 400:
            raise EmulatorError(response.status_code, response.json().get("error", {}))
        return response.json()

    def create_card(self, number: str, exp_month: int = 12, exp_year: int = 2034) -> str:
        """A PaymentMethod id for a raw test card number, as Stripe.js would create it."""
        card = {"number": number, "exp_month": str(exp_month), "exp_year": str(exp_year), "cvc": "123"}
        return self._post("/v1/payment_methods", {"type": "card", "card": card})["id"]

    def register_webhook(self, url: str, secret: str, events: list[str] | None = None, name: str = "default") -> None:
        """Deliver events (all, or those listed) to url, signed with secret; same name replaces."""
        self._post(f"/_config/webhooks/{name}", {"url": url, "secret": secret, "events": events})

    def pay_checkout_session(
        self,
        session_id: str,
        *,
        payment_method: str | None = None,
        card_number: str | None = None,
        authenticate: bool = True,
    ) -> dict[str, Any]:
        """What the customer does on the hosted page; raises EmulatorError(402) on a decline."""
        data = {"payment_method": payment_method, "card_number": card_number, "authenticate": authenticate}
        return self._post(
            f"/_test/checkout/sessions/{session_id}/pay", {k: v for k, v in data.items() if v is not None}
        )

    def expire_checkout_session(self, session_id: str) -> dict[str, Any]:
        return self._post(f"/_test/checkout/sessions/{session_id}/expire")

    def resend_event(self, event_id: str) -> dict[str, Any]:
        """Deliver an already sent event again (Stripe's at-least-once delivery)."""
        return self._post(f"/_test/events/{event_id}/resend")

    def inject_faults(self, **faults: Any) -> dict[str, Any]:
        """API errors for a while, webhooks dropped or delayed: see devtools/stripe_emulator/faults.py."""
        return self._post("/_test/faults", faults)

    def clear_faults(self) -> dict[str, Any]:
        response = httpx.delete(self.base_url + "/_test/faults", timeout=10)
        response.raise_for_status()
        return response.json()

    def faults(self) -> dict[str, Any]:
        return self.get("/_test/faults")

    def pending_refunds(self, enabled: bool = True) -> None:
        """Refunds created from now on stay `pending` until `settle_refund`."""
        self._post("/_test/refunds/pending", {"enabled": enabled})

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> dict[str, Any]:
        return self._post(f"/_test/refunds/{refund_id}/settle", {"status": status})

    def processing_charges(self, enabled: bool = True) -> None:
        """Off-session charges from now on stay `processing` (as an asynchronous payment method's do)."""
        self._post("/_test/payment_intents/processing", {"enabled": enabled})

    def fail_processing(self, payment_intent_id: str) -> dict[str, Any]:
        return self._post(f"/_test/payment_intents/{payment_intent_id}/fail")


class EmulatorError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(f"{status}: {error.get('message')}")
        self.status, self.error = status, error


@contextmanager
def running_emulator(*, verbose: bool = False, startup_timeout_s: float = 20) -> Iterator[Emulator]:
    """A fresh emulator on a free loopback port, stopped (SIGTERM, then SIGKILL) on exit."""
    command = [sys.executable, "-m", "devtools.stripe_emulator", "--port", "0"]
    if verbose:
        command.append("--verbose")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        yield Emulator(base_url=_wait_ready(process, startup_timeout_s))
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def _wait_ready(process: subprocess.Popen[str], timeout_s: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline() if process.stdout else ""))
    reader.start()
    reader.join(timeout_s)
    line = lines[0].strip() if lines else ""
    if not line.startswith(READY):
        process.kill()
        raise RuntimeError(f"stripe emulator did not start (exit code {process.poll()}, said {line!r})")
    return line.split(" ", 1)[1]
