from pathlib import Path

import pytest

from devtools.tls import SelfSignedCert, make_self_signed_cert


@pytest.fixture
def tls_cert(tmp_path: Path) -> SelfSignedCert:
    return make_self_signed_cert(tmp_path)
