"""Suite-wide settings and fixtures. Area fixtures live in each area's own conftest."""

import os

import pytest

# Qt must never try a real display in the suite unless a test starts Xvfb itself.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOCALSCRIBE_PROFILE", "tiny")


@pytest.fixture(autouse=True)
def _isolate_egress_config():
    """Opening a vault points the (process-wide) egress block log at its data dir and exports
    it to children; restore that afterwards so later tests do not inherit a deleted temp dir."""
    from localscribe.security import egress
    saved = {k: os.environ.get(k) for k in (egress.ENV_ALLOW, egress.ENV_LOG)}
    yield
    egress.set_block_listener(None)
    egress.set_block_log(None)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
