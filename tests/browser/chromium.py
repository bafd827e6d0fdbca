"""Debian's Chromium for Playwright: installed with apt when missing (as root), never downloaded by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def ensure_chromium() -> str | None:
    """The path of Chromium, installing Debian's package when it is missing and we may; None otherwise."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    apt = shutil.which("apt-get")
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if apt is None or sudo is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, apt, "update", "-qq"], check=False, env=env, capture_output=True)
    subprocess.run([*sudo, apt, "install", "-y", "-qq", "chromium"], check=False, env=env, capture_output=True)
    return str(CHROMIUM) if CHROMIUM.exists() else None
