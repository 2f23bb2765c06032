"""Suite-wide settings. Area fixtures live in each area's own conftest."""

import os

# Qt must never try a real display in the suite unless a test starts Xvfb itself.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOCALSCRIBE_PROFILE", "tiny")
