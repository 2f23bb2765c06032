"""FHIR R4 connector: the signed note as a DocumentReference, POSTed as a conditional create on
the note's identifier (``If-None-Exist: identifier=system|note_id``), so a retried POST finds
the document the first one made instead of creating a second.

HTTP through ``requests``; TLS verification is on unless a setting turns it off, and plain
``http://`` is refused except to loopback (or with ``allow_insecure_http``).
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from localscribe.domain import PushReceipt, SignedNote
from localscribe.ehr.fhir_auth import AuthError, BearerAuth, NoAuth, SmartBackendAuth
from localscribe.ehr.fhir_document import (ENCOUNTER_SYSTEM, NOTE_SYSTEM, DocumentOptions,
                                           build_document_reference, validate_document_reference)
from localscribe.ehr.instructions_doc import companion
from localscribe.ehr.patient import logical_subject, searched_subject
from localscribe.ehr.protocol import (BaseConnector, CheckResult, ConnectorConfig,
                                      ConnectorContext, DeliveryError, Setting, SettingsError)
from localscribe.ehr.settings import is_loopback

FHIR_JSON = "application/fhir+json"


class _Created(NamedTuple):
    remote_id: str
    detail: str
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def _diagnostics(resp: Any) -> str:
    """The server's own explanation (OperationOutcome diagnostics/details), else the body."""
    try:
        body = resp.json()
    except ValueError:
        return str(resp.text[:2000])
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        parts = [i.get("diagnostics") or i.get("details", {}).get("text", "")
                 for i in body.get("issue", [])]
        return "; ".join(p for p in parts if p)[:2000]
    return str(resp.text[:2000])


def _json_object(resp: Any, what: str) -> dict[str, Any]:
    """The answer's JSON object; anything else (an HTML error page from a proxy, a list) is
    a DeliveryError that says so rather than a crash further on."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DeliveryError(f"the {what} answer was not a FHIR JSON resource", retryable=True,
                            detail=str(resp.text[:2000]))
    return body


def _never_sent(exc: BaseException) -> bool:
    """Whether the request certainly never reached the server (no connection was made)."""
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 8:
        if type(cause).__name__ in ("NewConnectionError", "NameResolutionError",
                                    "ConnectionRefusedError"):
            return True
        cause = (getattr(cause, "reason", None) or cause.__context__ or
                 (cause.args[0] if cause.args and isinstance(cause.args[0], BaseException)
                  else None))
        seen += 1
    return False


def _transport_error(method: str, exc: BaseException) -> DeliveryError:
    """Say what happened: no connection (nothing sent), or the request went out and its
    answer was lost (the outcome is unknown; a retried create is safe, being conditional)."""
    name = type(exc).__name__
    if _never_sent(exc):
        return DeliveryError(f"FHIR server unreachable ({name}): nothing was sent",
                             retryable=True)
    safe = "a retry is safe (conditional create)" if method == "POST" else "it is retried"
    return DeliveryError(f"the FHIR server's answer to the {method} was lost ({name}): the "
                         f"request may have been processed; the outcome is unknown, and {safe}",
                         retryable=True)


class FhirConnector(BaseConnector):
    kind = "fhir-r4"
    title = "FHIR R4 DocumentReference (US Core clinical note)"
    settings = (
        Setting("base_url", "url", required=True, help="FHIR base, e.g. https://ehr.example/fhir"),
        Setting("mrn_system", required=True, help="identifier system of the practice's MRNs"),
        Setting("auth", "choice", default="bearer", choices=("bearer", "smart", "mtls", "none"),
                help="how to authorize"),
        Setting("token", "secret", help="static bearer token (auth=bearer)"),
        Setting("token_url", "url", help="SMART token endpoint (auth=smart)"),
        Setting("client_id", help="SMART client id (auth=smart)"),
        Setting("private_key", "secret", help="PEM private key signing the assertion (auth=smart)"),
        Setting("jwt_algorithm", "choice", default="RS384", choices=("RS384", "ES384")),
        Setting("key_id", help="JWKS key id (kid) of the signing key"),
        Setting("scope", default="system/DocumentReference.c system/Patient.rs"),
        Setting("client_cert_file", "path", help="client certificate (mutual TLS)"),
        Setting("client_key_file", "path", help="client key (mutual TLS)"),
        Setting("ca_file", "path", help="CA bundle for the server (default: system store)"),
        Setting("tls_verify", "bool", default=True, help="verify server certificates"),
        Setting("allow_insecure_http", "bool", default=False,
                help="allow plain http to a non-loopback server (never for real PHI)"),
        Setting("patient_lookup", "choice", default="identifier", choices=("identifier", "search"),
                help="reference the patient by MRN, or search the server for it first"),
        Setting("clinician_npi", default="",
                help="login=NPI pairs, comma-separated: the author is the Practitioner with "
                     "that NPI (searched on the server; a logical NPI reference if not found)"),
        Setting("note_identifier_system", default=NOTE_SYSTEM),
        Setting("encounter_identifier_system", default=ENCOUNTER_SYSTEM),
        Setting("timeout_seconds", "float", default=30.0),
    )

    def __init__(self, config: ConnectorConfig, context: ConnectorContext | None = None) -> None:
        super().__init__(config, context)
        self._validate_combination()
        self.base = self.config.get("base_url").rstrip("/")
        self.timeout = float(self.config.get("timeout_seconds", 30.0))
        self._session: Any = None
        self._auth = self._make_auth()

    # ---------------------------------------------------------------- setup

    @staticmethod
    def insecure_settings(settings: dict[str, Any]) -> list[str]:
        """What in these settings exposes the note or the token (needs --insecure)."""
        reasons = []
        if settings.get("tls_verify") is False:
            reasons.append("tls_verify=false: the server's certificate is not checked, so the "
                           "bearer token and notes can go to an impostor")
        for key in ("base_url", "token_url"):
            parts = urlsplit(str(settings.get(key) or ""))
            if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
                reasons.append(f"{key} is plain http to a non-loopback host")
        return reasons

    def _validate_combination(self) -> None:
        c, problems = self.config, []
        auth = c.get("auth", "bearer")
        if auth == "bearer" and not c.get("token"):
            problems.append("auth=bearer needs 'token'")
        if auth == "smart":
            problems += [f"auth=smart needs '{k}'" for k in ("token_url", "client_id",
                                                             "private_key") if not c.get(k)]
        if auth == "mtls" and not c.get("client_cert_file"):
            problems.append("auth=mtls needs 'client_cert_file'")
        for key in ("base_url", "token_url"):
            url = c.get(key)
            if url and urlsplit(url).scheme == "http" and not is_loopback(
                    urlsplit(url).hostname or "") and not c.get("allow_insecure_http", False):
                problems.append(f"'{key}' uses plain http to a non-loopback host: use https")
        if problems:
            raise SettingsError(self.config.name, problems)

    def _make_auth(self) -> BearerAuth | SmartBackendAuth | NoAuth:
        auth = self.config.get("auth", "bearer")
        if auth == "bearer":
            return BearerAuth(self.config.get("token"))
        if auth == "smart":
            return SmartBackendAuth(token_url=self.config.get("token_url"),
                                    client_id=self.config.get("client_id"),
                                    private_key_pem=self.config.get("private_key"),
                                    algorithm=self.config.get("jwt_algorithm", "RS384"),
                                    scope=self.config.get("scope"),
                                    key_id=self.config.get("key_id", ""))
        return NoAuth()

    def endpoints(self) -> list[tuple[str, int]]:
        out = []
        for key in ("base_url", "token_url"):
            url = self.config.get(key)
            if url:
                parts = urlsplit(url)
                out.append((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)))
        return out

    def session(self) -> Any:
        if self._session is None:
            import requests

            s = requests.Session()
            s.trust_env = False     # no proxies from the environment: PHI goes straight to the EHR
            verify = bool(self.config.get("tls_verify", True))
            s.verify = (self.config.get("ca_file") or True) if verify else False
            if self.config.get("client_cert_file"):
                key = self.config.get("client_key_file")
                s.cert = (self.config.get("client_cert_file"), key) if key \
                    else self.config.get("client_cert_file")
            self._session = s
        return self._session

    # ---------------------------------------------------------------- HTTP

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        headers = {"Accept": FHIR_JSON, **kwargs.pop("headers", {})}
        for attempt in range(2):
            try:
                auth = self._auth.header(self.session(), self.timeout)
            except AuthError as exc:
                raise DeliveryError(str(exc), retryable=exc.retryable) from None
            if auth:
                headers["Authorization"] = auth
            try:
                resp = self.session().request(method, f"{self.base}/{path}", headers=headers,
                                              timeout=self.timeout, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise DeliveryError(f"TLS verification of {self.base} failed", retryable=False,
                                    detail=str(exc)) from None
            except requests.exceptions.RequestException as exc:
                raise _transport_error(method, exc) from None
            if resp.status_code == 401 and attempt == 0 and isinstance(self._auth,
                                                                      SmartBackendAuth):
                self._auth.invalidate()    # token expired early: fetch a new one once
                continue
            return resp
        return resp

    def _raise_for(self, resp: Any, what: str) -> None:
        code = resp.status_code
        if code < 300:
            return
        retryable = code in (408, 429) or code >= 500
        if code in (401, 403):
            msg = f"{what}: the FHIR server refused our credentials ({code})"
        elif code == 412:
            msg = f"{what}: several documents already carry this note's identifier (412)"
        else:
            msg = f"{what}: FHIR server answered {code}"
        raise DeliveryError(msg, retryable=retryable, detail=_diagnostics(resp))

    def search(self, resource_type: str, params: dict[str, str]) -> dict[str, Any]:
        resp = self._request("GET", resource_type, params=params)
        self._raise_for(resp, f"{resource_type} search")
        return _json_object(resp, f"{resource_type} search")

    def read(self, reference: str) -> dict[str, Any]:
        """One resource by its literal reference ("Patient/123")."""
        kind, _, rid = reference.partition("/")
        if not kind.isalpha() or not rid or "/" in rid or "?" in rid:
            raise DeliveryError(f"not a literal FHIR reference: {kind}/…", retryable=False)
        resp = self._request("GET", f"{kind}/{quote(rid, safe='')}")
        self._raise_for(resp, f"{kind} read")
        return _json_object(resp, f"{kind} read")

    # ---------------------------------------------------------------- protocol

    def check(self) -> CheckResult:
        """The server speaks R4 (``/metadata``, which servers answer without credentials)
        AND our credentials are accepted: an authorized search of DocumentReference, the
        resource we write (a 401/403 there fails the check)."""
        try:
            resp = self._request("GET", "metadata")
            self._raise_for(resp, "capability statement")
            body = resp.json()
        except DeliveryError as exc:
            return CheckResult(False, exc.message, (exc.detail,) if exc.detail else ())
        except ValueError:
            return CheckResult(False, f"{self.base}/metadata did not answer JSON")
        version = body.get("fhirVersion", "?")
        if not str(version).startswith("4."):
            return CheckResult(False, f"{self.base} answers FHIR {version}; this connector "
                               "speaks R4")
        try:
            self.search("DocumentReference", {"_count": "1",
                                              "identifier": f"{NOTE_SYSTEM}|check"})
        except DeliveryError as exc:
            return CheckResult(False, f"{self.base} answers FHIR {version}, but an authorized "
                               f"search failed: {exc.message}",
                               (exc.detail,) if exc.detail else ())
        return CheckResult(True, f"{self.base} answers FHIR {version}; credentials accepted "
                           "(authorized DocumentReference search)")

    second_document = ("a second DocumentReference (LOINC 69730-0 Instructions) that "
                       "relatesTo 'appends' the note")

    def push(self, note: SignedNote) -> PushReceipt:
        receipt = self._create(note, None)
        extra = companion(note)
        if extra is None:
            return receipt
        # Sent after the note, in the same job: a failure here retries both, and the note's
        # conditional create finds the document the first attempt made.
        resource = self.document(extra, None)
        resource["relatesTo"] = [{"code": "appends", "target": {
            "reference": f"DocumentReference/{receipt.remote_id}"}}]
        validate_document_reference(resource)
        second = self._post(resource)
        return self.receipt(note, remote_id=receipt.remote_id,
                            detail=f"{receipt.detail}; patient instructions {second.remote_id} "
                                   f"({second.detail})")

    def amend(self, note: SignedNote, replaces_remote_id: str) -> PushReceipt:
        return self._create(note, replaces_remote_id)

    def subject(self, note: SignedNote) -> dict[str, Any]:
        if note.visit is not None and note.visit.fhir_patient:
            # The schedule came from this server: its own Patient, already resolved.
            ref = {"reference": note.visit.fhir_patient}
            return {**ref, "display": note.patient.name} if note.patient.name else ref
        system = self.config.get("mrn_system")
        if self.config.get("patient_lookup", "identifier") == "search":
            return searched_subject(note, system, self.search)
        return logical_subject(note, system)

    def document(self, note: SignedNote, replaces_remote_id: str | None) -> dict[str, Any]:
        options = DocumentOptions(note_system=self.config.get("note_identifier_system"),
                                  encounter_system=self.config.get("encounter_identifier_system"))
        return build_document_reference(note, self.subject(note), options, replaces_remote_id,
                                        author=self.author(note))

    def author(self, note: SignedNote) -> dict[str, Any] | None:
        """The signer as a Practitioner: found on the server by the NPI configured for the
        login (a literal reference), else a logical one by NPI; None (display only) when no
        NPI is configured. Several Practitioners with one NPI stop the send."""
        from localscribe.ehr.hl7_mllp import _npi_pairs

        try:
            npi = dict(_npi_pairs(self.config.get("clinician_npi", ""))).get(note.author)
        except ValueError as exc:
            raise SettingsError(self.config.name, [str(exc)]) from None
        if not npi:
            return None
        bundle = self.search("Practitioner", {"identifier": f"{NPI_SYSTEM}|{npi}"})
        found = [e["resource"] for e in bundle.get("entry", [])
                 if e.get("resource", {}).get("resourceType") == "Practitioner"]
        if len(found) > 1:
            raise DeliveryError(f"{len(found)} Practitioners carry the signer's NPI on the FHIR "
                                "server: resolve the duplicate there", retryable=False)
        if found:
            return {"reference": f"Practitioner/{found[0]['id']}", "display": note.author}
        return {"identifier": {"system": NPI_SYSTEM, "value": npi}, "display": note.author}

    def _create(self, note: SignedNote, replaces: str | None) -> PushReceipt:
        return self.receipt(note, *self._post(self.document(note, replaces)))

    def _post(self, resource: dict[str, Any]) -> _Created:
        """Conditional create of ``resource`` on its identifier."""
        ident = resource["identifier"][0]
        condition = "identifier=" + quote(f"{ident['system']}|{ident['value']}", safe=":/|")
        resp = self._request("POST", "DocumentReference", json=resource,
                             headers={"Content-Type": FHIR_JSON, "If-None-Exist": condition,
                                      "Prefer": "return=representation"})
        self._raise_for(resp, "DocumentReference create")
        existed = resp.status_code == 200
        return _Created(self._remote_id(resp), "already on the server (conditional create "
                        "matched)" if existed else "created")

    @staticmethod
    def _remote_id(resp: Any) -> str:
        try:
            body = resp.json()
            if isinstance(body, dict) and body.get("id"):
                return str(body["id"])
        except ValueError:
            pass
        location = resp.headers.get("Location", "") or resp.headers.get("Content-Location", "")
        parts = location.split("/")
        if "DocumentReference" in parts and parts.index("DocumentReference") + 1 < len(parts):
            return str(parts[parts.index("DocumentReference") + 1])
        return ""
