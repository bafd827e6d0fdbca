import ipaddress

import pytest

from services.notify.channels.ssrf import UnsafeDestination, check_destination, is_public_address

REFUSED = [
    "http://127.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.5/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 written as one number
]


@pytest.mark.asyncio
@pytest.mark.parametrize("url", REFUSED)
async def test_internal_destinations_are_refused(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        await check_destination(url)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://x", "http:///no-host", "http://x:99999/"]
)
async def test_only_http_and_https_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        await check_destination(url, allow_private=True)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hook", "http://10.0.0.7/hook", "http://[::1]/hook", "http://169.254.1.1/"]
)
async def test_development_setting_allows_private_destinations(url: str) -> None:
    await check_destination(url, allow_private=True)


@pytest.mark.asyncio
@pytest.mark.parametrize("url", ["https://93.184.215.14/hook", "http://[2606:4700:4700::1111]:8443/hook"])
async def test_public_addresses_are_accepted(url: str) -> None:
    await check_destination(url)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:10.0.0.1", False),
        ("ff02::1", False),
    ],
)
def test_public_address_classification(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public
