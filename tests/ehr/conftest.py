"""Fixtures for the EHR tests: a real SQLite file and the vault's real FieldCipher, an HL7 v2
receiver built on hl7apy's MLLPServer, and Medplum's FHIR router served on loopback by node.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from hl7apy.core import Message
from hl7apy.mllp import AbstractHandler, MLLPRequestHandler, MLLPServer
from hl7apy.parser import parse_message

from localscribe.domain import Patient, SignedNote
from localscribe.vault.crypto import FieldCipher
from localscribe.vault.db import connect

HERE = Path(__file__).resolve().parent
FHIR_DIR = HERE / "fhir_server"


# ---------------------------------------------------------------- vault parts

@pytest.fixture
def db(tmp_path):
    # The vault's own connection settings (WAL, synchronous=FULL, autocommit).
    return connect(tmp_path / "vault.sqlite")


@pytest.fixture
def cipher():
    return FieldCipher(os.urandom(32))


class AuditRecorder(list):
    def __call__(self, action, object="", outcome="ok", **details):
        self.append((action, object, outcome, details))

    def actions(self):
        return [a for a, *_ in self]


@pytest.fixture
def audit():
    return AuditRecorder()


def make_note(i: int = 0, *, mrn: str = "MRN-0042", text: str | None = None,
              replaces: str | None = None, note_id: str | None = None) -> SignedNote:
    return SignedNote(
        note_id=note_id or f"note-{i:04d}-{uuid.uuid4().hex[:8]}", encounter_id=f"enc-{i:04d}",
        version=1, text=text if text is not None else
        f"SUBJECTIVE\nCough for {i} days | no fever ^ sleeps ok & eats ~ well.\nPLAN\nRest.",
        template="soap", patient=Patient(name="Silva, Ana Maria", mrn=mrn,
                                         birth_date="1980-02-29"),
        author="Dr Jane Roe", signed_at="2026-11-26T10:00:00Z", replaces=replaces)


@pytest.fixture
def note_factory():
    return make_note


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- HL7 receiver (hl7apy)

def ack_for(message: str, code: str, text: str = "", msa2: str | None = None) -> str:
    """An ACK built with hl7apy, as a receiving system would answer (``msa2`` overrides the
    acknowledged control id, as a broken or confused receiver would)."""
    incoming = parse_message(message, find_groups=False)
    ack = Message("ACK", version="2.5")
    ack.msh.msh_3 = "EHR"
    ack.msh.msh_5 = incoming.msh.msh_3.to_er7()
    ack.msh.msh_9 = "ACK^T02^ACK"
    ack.msh.msh_10 = "ACK" + incoming.msh.msh_10.value[:17]
    ack.msh.msh_11 = "P"
    msa = ack.add_segment("MSA")
    msa.msa_1 = code
    msa.msa_2 = incoming.msh.msh_10.value if msa2 is None else msa2
    if text:
        msa.msa_3 = text
        err = ack.add_segment("ERR")
        err.err_3 = "207^Application internal error^HL70357"
        err.err_4 = "E"
        err.err_8 = text
    return "\x0b" + ack.to_er7() + "\x1c\x0d"


def validate_strictly(message: str, encoding: str = "utf-8") -> None:
    """Check the message structure the way a strict interface engine would: hl7apy's STRICT
    level (segments, groups, cardinality, data types and lengths) against the MDM_T02 structure
    of v2.5. One allowance: OBX-5 carries the note, longer than hl7apy's default ST length
    (it does not type OBX-5 by OBX-2), so its value is checked apart: it must decode."""
    from hl7apy.consts import VALIDATION_LEVEL

    segments = message.split("\r")
    masked = []
    for seg in segments:
        if seg.startswith("OBX|"):
            fields = seg.split("|")
            for rep in fields[5].split("~"):
                hl7_unescape(rep, encoding)       # raises on a malformed escape
            fields[5] = "x"
            seg = "|".join(fields)
        masked.append(seg)
    parsed = parse_message("\r".join(masked), validation_level=VALIDATION_LEVEL.STRICT,
                           find_groups=True)
    parsed.validate()                             # raises ValidationError naming the problem


def note_text(message: str, encoding: str = "utf-8") -> str:
    """The note as the receiving EHR files it: OBX-5 of each OBX (FT: one value with \\.br\\
    line breaks; TX: one repetition per line), decoded, OBX after OBX."""
    parsed = parse_message(message, find_groups=False)
    lines = []
    for obx in parsed.children.get("OBX"):
        lines += [hl7_unescape(wire(rep), encoding) for rep in obx.obx_5]
    return "\n".join(lines)


class Receiver:
    """An EHR's HL7 inbox: validates each message strictly (an invalid one is answered AE with
    the reason and kept in ``invalid``), stores each document once (duplicate check on TXA-12)
    and answers according to
    ``behave(message, attempt_no) -> ("AA"|"AE"|"AR"|"silent"|"drop", text)``.

    "silent" stores the document and never answers (the ACK is lost); "drop" closes the
    connection without storing anything (the receiver crashed mid-message)."""

    def __init__(self, behave=None, strict: bool = True, keep_alive: bool = False,
                 encoding: str = "utf-8"):
        self.behave = behave or (lambda msg, n: ("AA", ""))
        self.strict = strict
        self.keep_alive = keep_alive                 # answer many messages per connection
        self.connections = 0                         # counted in keep_alive mode
        self.encoding = encoding                     # the bytes on the wire (MSH-18)
        self.documents: dict[str, list[str]] = {}    # TXA-12 -> messages stored
        self.received: list[str] = []                # every message that arrived
        self.duplicates = 0                          # repeats the TXA-12 check kept out
        self.invalid: list[str] = []                 # why messages failed strict validation
        self.lock = threading.Lock()
        self.server: MLLPServer | None = None
        self.port = free_port()
        self.silent_wait = 1.0
        self.msa2: str | None = None                 # None: acknowledge the right MSH-10
        self.host = "127.0.0.1"

    def start(self):
        receiver = self

        class Handler(AbstractHandler):
            def reply(self):
                msg = self.incoming_message
                with receiver.lock:
                    receiver.received.append(msg)
                    n = len(receiver.received)
                code, text = receiver.behave(msg, n)
                if code == "drop":
                    raise ConnectionAbortedError("receiver dropped the connection")
                try:
                    if receiver.strict:
                        validate_strictly(msg, receiver.encoding)
                except Exception as exc:
                    with receiver.lock:
                        receiver.invalid.append(f"{type(exc).__name__}: {exc}")
                    return ack_for(msg, "AE", f"invalid message: {exc}"[:200], receiver.msa2)
                parsed = parse_message(msg, find_groups=False)
                doc = hl7_unescape(wire(parsed.txa.txa_12))         # TXA-12.1, the document
                if code in ("AA", "silent"):
                    with receiver.lock:
                        if doc in receiver.documents:         # duplicate check on TXA-12
                            receiver.duplicates += 1
                        else:
                            receiver.documents[doc] = [msg]
                if code == "silent":
                    time.sleep(receiver.silent_wait)
                    raise TimeoutError("ack lost")
                return ack_for(msg, code, text, receiver.msa2)

        class KeepAlive(MLLPRequestHandler):
            """hl7apy's request handler, looping: message after message on one connection."""

            def handle(self):
                with receiver.lock:
                    receiver.connections += 1
                while True:
                    frame = b""
                    while not frame.endswith(b"\x1c\x0d"):
                        try:
                            chunk = self.rfile.read(1)
                        except OSError:
                            return
                        if not chunk:
                            return
                        frame += chunk
                    message = self._extract_hl7_message(frame.decode(self.encoding))
                    if message is None:
                        return
                    self.wfile.write(self._route_message(message).encode(self.encoding))
                    self.wfile.flush()

        handlers = {"MDM^T02^MDM_T02": (Handler,), "MDM^T10^MDM_T02": (Handler,)}
        extra = {}
        if self.keep_alive or self.encoding != "utf-8":
            base = KeepAlive if self.keep_alive else MLLPRequestHandler
            extra["request_handler_class"] = type("Handler", (base,), {"encoding": self.encoding})
        self.server = MLLPServer(self.host, self.port, handlers, timeout=5, **extra)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def wire(element) -> str:
    """An hl7apy element's first leaf as it was received (hl7apy's to_er7 would re-escape the
    backslash of a hex escape)."""
    if not hasattr(element, "children"):
        element = element[0]              # a proxy over the field's repetitions
    while getattr(element, "children", None):
        element = element.children[0]
    value = element.value                 # a leaf holds a datatype object; an empty field ''
    return str(getattr(value, "value", value) or "")


def hl7_unescape(value: str, encoding: str = "utf-8") -> str:
    """The receiving side's decoding of an HL7 v2 text value, written from the standard (v2.5
    section 2.7) and not from LocalScribe's code: \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ delimiters,
    \\Xhh..\\ hexadecimal data (UTF-8 bytes, as MSH-18 declares) and the FT line break \\.br\\."""
    import re

    named = {"F": b"|", "S": b"^", "T": b"&", "R": b"~", "E": b"\\"}
    out = bytearray()
    for token in re.split(r"(\\[^\\]*\\)", value):
        if len(token) >= 2 and token[0] == token[-1] == "\\":
            body = token[1:-1]
            if body in named:
                out += named[body]
                continue
            if body.startswith("X"):
                out += bytes.fromhex(body[1:])
                continue
            if body == ".br":
                out += b"\n"
                continue
        out += token.encode(encoding)
    return out.decode(encoding)


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


# ---------------------------------------------------------------- X display for the clipboard

@pytest.fixture
def xvfb():
    if not (shutil.which("Xvfb") and shutil.which("xclip")):
        pytest.fail("Xvfb and xclip are needed (Debian packages xvfb, xclip)")
    display = ":87"
    proc = subprocess.Popen(["Xvfb", display, "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    yield {"DISPLAY": display, "PATH": os.environ.get("PATH", "")}
    proc.terminate()
    proc.wait(timeout=10)


# ---------------------------------------------------------------- FHIR server (Medplum)

class FhirServer:
    def __init__(self, state_dir: Path, token: str = "", port: int | None = None,
                 env: dict[str, str] | None = None):
        self.port = port or free_port()
        self.token = token
        self.state = state_dir / "fhir-state.json"
        self.env = env or {}
        self.proc: subprocess.Popen | None = None

    @property
    def origin(self) -> str:
        scheme = "https" if self.env.get("FHIR_TLS_CERT") else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"{self.origin}/fhir"

    def start(self):
        if not (FHIR_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
            pytest.fail("the test FHIR server is not installed: run tests/ehr/setup_fhir_server.sh")
        node = shutil.which("node")
        if node is None:
            pytest.fail("node (Node.js) is needed for the test FHIR server")
        env = dict(os.environ, FHIR_STATE=str(self.state), FHIR_TOKEN=self.token, **self.env)
        self.proc = subprocess.Popen([node, "--experimental-websocket", "--no-warnings",
                                      "server.mjs", str(self.port)], cwd=FHIR_DIR, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening"):
            rest = self.proc.stdout.read() if self.proc.poll() is not None else ""
            raise RuntimeError(f"FHIR server did not start: {line}{rest}")
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc.stdout.close()
            self.proc = None

    def get(self, path: str, **params):
        import requests

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        resp = requests.get(f"{self.base}/{path}", params=params, headers=headers, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def post(self, path: str, body: dict):
        import requests

        headers = {"Content-Type": "application/fhir+json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        resp = requests.post(f"{self.base}/{path}", json=body, headers=headers, timeout=10)
        resp.raise_for_status()
        return resp.json()


@pytest.fixture(scope="module")
def fhir_server(tmp_path_factory):
    # One server per test module (it takes ~2 s to load the FHIR definitions); tests use
    # unique note ids so they do not see each other's documents.
    server = FhirServer(tmp_path_factory.mktemp("fhir"), token="test-token").start()
    yield server
    server.stop()


def vault_with_clinician(tmp_path: Path):
    """A new vault in ``tmp_path`` with admin "admin" and clinician "doc"; (paths, vault, admin)."""
    from localscribe.config import Paths
    from localscribe.vault import TEST_PARAMS, Vault

    paths = Paths(data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    vault = Vault.create(paths, "admin", "admin pass 1", kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", "admin pass 1")
    admin.add_user("doc", "clinician", "clinician pass 1")
    return paths, vault, admin
