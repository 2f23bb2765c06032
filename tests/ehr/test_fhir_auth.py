"""FHIR connector auth end to end: SMART Backend Services (the server verifies our signed JWT
assertion with node's crypto) and mutual TLS (node's https server demands our certificate)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from localscribe.ehr.fhir import FhirConnector
from localscribe.ehr.protocol import ConnectorConfig, DeliveryError

from conftest import FhirServer
from tls_util import make_ca_and_cert

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.999.1"


def _pem_pair(alg):
    key = rsa.generate_private_key(65537, 2048) if alg == "RS384" \
        else ec.generate_private_key(ec.SECP384R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def _docs(connector, note):
    bundle = connector.search("DocumentReference",
                              {"identifier": f"urn:localscribe:note-id|{note.note_id}"})
    return bundle.get("entry", [])


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_smart_backend_services(tmp_path, note_factory, alg):
    private, public = _pem_pair(alg)
    (tmp_path / "client.pub").write_bytes(public)
    server = FhirServer(tmp_path, env={"FHIR_SMART_CLIENT_ID": "localscribe-1",
                                       "FHIR_SMART_PUBLIC_KEY": str(tmp_path / "client.pub")})
    server.start()
    try:
        def connector(key_pem):
            return FhirConnector(ConnectorConfig("ehr", "fhir-r4", {
                "base_url": server.base, "mrn_system": MRN_SYSTEM, "auth": "smart",
                "token_url": f"{server.origin}/token", "client_id": "localscribe-1",
                "jwt_algorithm": alg}, {"private_key": key_pem}))

        c = connector(private)
        note = note_factory(1)
        assert c.push(note).delivered
        assert len(_docs(c, note)) == 1
        other, _ = _pem_pair(alg)                  # a key the server does not know
        with pytest.raises(DeliveryError) as err:
            connector(other).push(note_factory(2))
        assert not err.value.retryable and "refused the client" in err.value.message
    finally:
        server.stop()


def test_mutual_tls_and_verification(tmp_path, note_factory):
    ca, cert, key, ccert, ckey = make_ca_and_cert(tmp_path, "127.0.0.1", client=True)
    server = FhirServer(tmp_path, env={"FHIR_TLS_CERT": str(cert), "FHIR_TLS_KEY": str(key),
                                       "FHIR_TLS_CA": str(ca)})
    server.start()
    try:
        def connector(**extra):
            return FhirConnector(ConnectorConfig("ehr", "fhir-r4", {
                "base_url": server.base, "mrn_system": MRN_SYSTEM, "auth": "mtls",
                "client_cert_file": str(ccert), "client_key_file": str(ckey),
                "ca_file": str(ca), "timeout_seconds": 5.0, **extra}))

        note = note_factory(3)
        c = connector()
        assert c.check().ok
        assert c.push(note).delivered and len(_docs(c, note)) == 1
        # Without our CA the server's certificate is not trusted: refused, needs a person.
        with pytest.raises(DeliveryError) as err:
            connector(ca_file="").push(note_factory(4))
        assert "TLS verification" in err.value.message and not err.value.retryable
        # Without a client certificate the server hangs up on us.
        no_cert = FhirConnector(ConnectorConfig("ehr", "fhir-r4", {
            "base_url": server.base, "mrn_system": MRN_SYSTEM, "auth": "none",
            "ca_file": str(ca), "timeout_seconds": 5.0}))
        with pytest.raises(DeliveryError):
            no_cert.push(note_factory(5))
    finally:
        server.stop()
