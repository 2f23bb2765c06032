"""`localscribe style show|reset` in a fresh process against a real vault: the clinician's
own rules in plain words, another clinician's refused in one line, reset forgets."""

from __future__ import annotations

import json

from tests.style.test_store import _add_clinician, _sign
from tests.support.cli_vault import vdir  # noqa: F401 (fixture)


def test_show_reset_and_refusals(vdir):
    s = vdir.session("doc")
    for i in range(3):
        _sign(s, i)
    s.lock()
    shown = vdir.run("style", "show")
    assert shown.returncode == 0, shown.stderr
    assert "Learned from 3 signed note(s)." in shown.stdout
    assert "- \u201cshortness of breath\u201d is written \u201cSOB\u201d" in shown.stdout
    assert "- objective: not drafted (you deleted it in most notes)" in shown.stdout
    as_json = json.loads(vdir.run("style", "show", "--json").stdout)
    assert as_json["notes"] == 3 and len(as_json["rules"]) == 8

    _add_clinician(vdir, "doc2")
    other = vdir.run("style", "show", "--clinician", "doc", user="doc2")
    assert other.returncode == 3
    assert other.stderr.strip().count("\n") == 0 and "only their own" in other.stderr
    assert "SOB" not in other.stdout + other.stderr
    assert vdir.run("style", "reset", "--clinician", "doc", user="doc2").returncode == 3
    aud = vdir.run("style", "show", user="aud")
    assert aud.returncode == 3 and "style.own" in aud.stderr

    reset = vdir.run("style", "reset")
    assert reset.returncode == 0 and "3 signed note(s) forgotten" in reset.stdout
    assert "Learned from 0 signed note(s)." in vdir.run("style", "show").stdout
