"""localstripe with the parts of Stripe our payments service needs (see launcher.py)."""

from .harness import Emulator, EmulatorError, running_emulator

__all__ = ["Emulator", "EmulatorError", "running_emulator"]
