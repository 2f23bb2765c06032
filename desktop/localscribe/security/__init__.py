"""The network guard: the in-process egress hook (``egress``, with ``egress_types`` and
``egress_spawn``) and the OS rule (``os_rule``). Leaves: standard library only, imported at
start-up before anything else, so nothing here imports the rest of the app (only the OS rule's
install command reads the vault's allowlist, when it runs). The auditor's page that reads all
of it is ``localscribe.security_report``."""
