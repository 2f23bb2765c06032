"""Authorization for the FHIR connector: static bearer token, SMART Backend Services
(client-credentials grant with a signed JWT assertion, RS384 or ES384), or none (mutual TLS
carries identity in the TLS layer and combines with any of these).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AuthError(Exception):
    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def client_assertion(client_id: str, token_url: str, private_key_pem: str, algorithm: str,
                     key_id: str = "", now: float | None = None) -> str:
    """The signed JWT a SMART Backend Services client presents (lifetime 5 minutes)."""
    import jwt

    issued = int(now if now is not None else time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": token_url,
              "exp": issued + 300, "iat": issued, "jti": str(uuid.uuid4())}
    headers = {"typ": "JWT", **({"kid": key_id} if key_id else {})}
    try:
        return jwt.encode(claims, private_key_pem, algorithm=algorithm, headers=headers)
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
        raise AuthError(f"cannot sign the SMART client assertion with {algorithm}: "
                        f"{type(exc).__name__}: {exc}", retryable=False) from None


@dataclass
class SmartBackendAuth:
    """Fetches and caches an access token; ``header()`` returns the Authorization value."""

    token_url: str
    client_id: str
    private_key_pem: str
    algorithm: str = "RS384"
    scope: str = "system/DocumentReference.c system/Patient.rs"
    key_id: str = ""
    clock: Callable[[], float] = time.time
    _token: str = field(default="", repr=False)
    _expires: float = 0.0

    def header(self, session: Any, timeout: float) -> str:
        if not self._token or self.clock() > self._expires - 30:
            self._fetch(session, timeout)
        return f"Bearer {self._token}"

    def invalidate(self) -> None:
        self._token, self._expires = "", 0.0

    def _fetch(self, session: Any, timeout: float) -> None:
        import requests

        data = {"grant_type": "client_credentials", "scope": self.scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": client_assertion(self.client_id, self.token_url,
                                                     self.private_key_pem, self.algorithm,
                                                     self.key_id, self.clock())}
        try:
            resp = session.post(self.token_url, data=data, timeout=timeout,
                                headers={"Accept": "application/json"})
        except requests.exceptions.SSLError as exc:
            raise AuthError(f"TLS verification of the token endpoint failed: {exc}",
                            retryable=False) from None
        except requests.exceptions.RequestException as exc:
            raise AuthError(f"token endpoint unreachable: {type(exc).__name__}",
                            retryable=True) from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise AuthError(f"token endpoint answered {resp.status_code}", retryable=True)
        if resp.status_code != 200:
            raise AuthError(f"token endpoint refused the client ({resp.status_code}): "
                            f"{resp.text[:300]}", retryable=False)
        body = resp.json()
        self._token = str(body.get("access_token", ""))
        if not self._token:
            raise AuthError("token endpoint answered without an access_token", retryable=False)
        self._expires = self.clock() + float(body.get("expires_in", 300))


@dataclass
class BearerAuth:
    token: str

    def header(self, session: Any, timeout: float) -> str:
        return f"Bearer {self.token}"

    def invalidate(self) -> None:
        pass


class NoAuth:
    def header(self, session: Any, timeout: float) -> str:
        return ""

    def invalidate(self) -> None:
        pass
