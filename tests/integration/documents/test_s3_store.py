"""The S3 path of DOCUMENTS_STORE against moto's S3 server on loopback."""

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devtools.infra import free_port
from tests.integration.documents.conftest import documents_of, fake_billing, file_of, profile, publish, topup
from tests.support.stack import eventually, nats_client, running

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def test_issued_invoice_is_stored_in_and_served_from_the_bucket(
    documents_service, nats_url, tenant_id, s3_endpoint
):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-central-1", **CREDENTIALS)
    s3.create_bucket(Bucket="documents", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    service = documents_service(
        documents_store="s3://documents/issued", aws_endpoint_url=s3_endpoint, aws_region="eu-central-1", **CREDENTIALS
    )
    async with (
        running(service),
        nats_client(nats_url) as nc,
        fake_billing(nc, profiles={tenant_id: profile(tenant_id)}),
    ):
        await publish(nc.jetstream(), topup(tenant_id, f"tp_{tenant_id}"))
        [invoice] = await eventually(lambda: documents_of(nc, tenant_id, "invoice"), timeout=60)
        pdf = await file_of(nc, tenant_id, invoice.id, "pdf")
        xml = await file_of(nc, tenant_id, invoice.id, "xml")

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="documents")["Contents"])
    assert [k.rsplit(".", 1)[1] for k in keys] == ["pdf", "xml"]
    assert all(k.startswith(f"issued/{tenant_id}/{invoice.number}-") for k in keys)
    assert s3.get_object(Bucket="documents", Key=keys[0])["Body"].read() == pdf
    assert s3.get_object(Bucket="documents", Key=keys[1])["Body"].read() == xml
