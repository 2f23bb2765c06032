"""Egress guard (``egress``) and the auditor's self-check report (``report``)."""
