"""Every word the operator console shows exists in German and English (a missing key would show as
`ops.something` on the page)."""

import re
from pathlib import Path
from typing import get_args

from contracts.billing.v1 import AutoTopupState
from contracts.documents.v1 import DocumentKind
from contracts.payments.v1 import TopupSource, TopupStatus
from services.gateway.ops.texts import TEXTS

GATEWAY = Path(__file__).resolve().parents[2] / "services" / "gateway"
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']|(?:flash|again_flash|done_flash|error)=["']([a-z_.]+)["']""")
SOURCES = [*(GATEWAY / "templates" / "ops").glob("*.html"), *(GATEWAY / "ops").glob("*.py")]


def used_keys() -> set[str]:
    keys: set[str] = set()
    for source in SOURCES:
        for match in LITERAL_KEY.finditer(source.read_text()):
            keys.add(match[1] or match[2])
    return keys


def test_every_key_the_console_uses_has_both_languages():
    used = {key for key in used_keys() if not key.endswith(".")}  # "at.state." ~ state: below
    assert len(used) > 40  # the pattern finds them
    missing = sorted(key for key in used if key not in TEXTS)
    assert missing == []
    assert all(TEXTS[key][0] and TEXTS[key][1] for key in used)


def test_every_state_status_document_kind_and_topup_source_has_its_words():
    prefixed = {key for key in used_keys() if key.endswith(".")}
    assert prefixed == {"at.state.", "status.", "doc.kind.", "ops.source."}
    values = {
        "at.state.": get_args(AutoTopupState),
        "status.": get_args(TopupStatus),
        "doc.kind.": get_args(DocumentKind),
        "ops.source.": get_args(TopupSource),
    }
    missing = [prefix + value for prefix, names in values.items() for value in names if prefix + value not in TEXTS]
    assert missing == []


def test_flash_keys_passed_as_arguments_exist_too():
    source = (GATEWAY / "ops" / "actions.py").read_text()
    for key in re.findall(r'"(ops\.flash\.[a-z_]+)"', source):
        assert key in TEXTS, key
