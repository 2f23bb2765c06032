"""Field encryption: tampering and moved ciphertexts fail loudly, with the place named."""

import sqlite3

import pytest

from localscribe.domain import Patient, Transcript, Segment
from localscribe.vault import FieldCipher, TamperError
from localscribe.vault.crypto import new_data_key, unwrap_key, wrap_key

from vault_helpers import unlock


def test_seal_open_roundtrip_and_aad_binding():
    c = FieldCipher(new_data_key())
    blob = c.seal("t", "r1", "f", b"secret")
    assert c.open("t", "r1", "f", blob) == b"secret"
    for where in (("t", "r2", "f"), ("t", "r1", "g"), ("u", "r1", "f")):
        with pytest.raises(TamperError, match="failed authentication"):
            c.open(*where, blob)
    with pytest.raises(TamperError):
        FieldCipher(new_data_key()).open("t", "r1", "f", blob)


def test_key_wrap_bound_to_user():
    kek, key = new_data_key(), new_data_key()
    wrapped = wrap_key(kek, key, "user:alice")
    assert unwrap_key(kek, wrapped, "user:alice") == key
    with pytest.raises(TamperError):
        unwrap_key(kek, wrapped, "user:bob")


def _raw(vault):
    return sqlite3.connect(vault.paths.vault_db)


def test_flipped_byte_in_stored_ciphertext_is_tamper(vault):
    s = unlock(vault, "doc")
    eid = s.create_encounter(Patient("Ann Example", "MRN-1", "1950-02-03"), "soap")
    s.save_transcript(eid, Transcript([Segment("s1", 0, 1, "the patient reports a cough")]))
    raw = _raw(vault)
    blob = bytearray(raw.execute("SELECT body FROM transcripts WHERE encounter_id=?",
                                 (eid,)).fetchone()[0])
    blob[len(blob) // 2] ^= 0x01
    raw.execute("UPDATE transcripts SET body=? WHERE encounter_id=?", (bytes(blob), eid))
    raw.commit()
    with pytest.raises(TamperError, match=rf"transcripts\[{eid}\]\.body: .*failed authentication"):
        s.load_transcript(eid)


def test_ciphertext_swapped_between_rows_fails(vault):
    s = unlock(vault, "doc")
    a = s.create_encounter(Patient("Ann Example", "MRN-A", ""), "soap")
    b = s.create_encounter(Patient("Bob Example", "MRN-B", ""), "soap")
    raw = _raw(vault)
    name_a, name_b = (raw.execute("SELECT patient_name FROM encounters WHERE id=?", (x,)).fetchone()[0]
                      for x in (a, b))
    raw.execute("UPDATE encounters SET patient_name=? WHERE id=?", (name_b, a))
    raw.execute("UPDATE encounters SET patient_name=? WHERE id=?", (name_a, b))
    raw.commit()
    with pytest.raises(TamperError, match=rf"encounters\[{a}\]\.patient_name"):
        s.get_encounter(a)
    # ... and a value moved to another column of the same row fails as well
    mrn = raw.execute("SELECT patient_mrn FROM encounters WHERE id=?", (b,)).fetchone()[0]
    raw.execute("UPDATE encounters SET patient_name=? WHERE id=?", (mrn, b))
    raw.commit()
    with pytest.raises(TamperError, match="patient_name"):
        s.get_encounter(b)


def test_note_version_moved_to_other_encounter_fails(vault):
    s = unlock(vault, "doc")
    a = s.create_encounter(Patient("A", "1", ""), "soap")
    b = s.create_encounter(Patient("B", "2", ""), "soap")
    s.save_note_version(a, "note for A")
    s.save_note_version(b, "note for B")
    raw = _raw(vault)
    raw.execute("DROP TRIGGER note_versions_no_update")   # an attacker with the file can
    body_a = raw.execute("SELECT body FROM note_versions WHERE encounter_id=?", (a,)).fetchone()[0]
    raw.execute("UPDATE note_versions SET body=? WHERE encounter_id=?", (body_a, b))
    raw.commit()
    assert s.note_versions(a)[0].text == "note for A"
    with pytest.raises(TamperError):
        s.note_versions(b)
