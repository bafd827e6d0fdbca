"""A large transaction's events are one outbox row (a bundle): the relay gets back each event as it was
staged — subject, payload and id, in order — whatever the payload holds."""

from hypothesis import given
from hypothesis import strategies as st

from runtime.outbox import BUNDLE, bundled, unbundled

ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=70)  # a header value: any text
subjects = st.text(st.characters(codec="ascii", exclude_characters=" \t\r\n"), min_size=1, max_size=60)
payloads = st.binary(max_size=600)  # newlines, digits and spaces included


@given(st.lists(st.tuples(ids, subjects, payloads), min_size=1, max_size=80))
def test_a_bundle_gives_back_its_events_in_order(events):
    payload = bundled([e for e, _, _ in events], [s for _, s, _ in events], [p for _, _, p in events])
    assert unbundled(BUNDLE, payload, events[0][0]) == [(s.encode(), p, e.encode()) for e, s, p in events]


def test_a_plain_row_is_its_one_event():
    assert unbundled("portal.balance.updated.v1", b"{}", "evt_1") == [(b"portal.balance.updated.v1", b"{}", b"evt_1")]


def test_the_bundle_subject_is_no_nats_subject():
    assert any(c.isspace() for c in BUNDLE)
