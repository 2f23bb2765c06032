"""Security tests: keep the process-wide egress configuration from leaking between tests."""

import os

import pytest


@pytest.fixture(autouse=True)
def _isolate_egress_config():
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
