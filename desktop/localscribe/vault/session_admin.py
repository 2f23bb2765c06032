"""The session's security-state half: settings, secrets, users, PHI grants, keyring unlock and
signed connector configurations. Mixed into ``Session`` (which supplies ``_check``, ``audit``,
``_keys``, ``_state``, ``vault``).

Every value here is read from the signed security state, never from the plain tables, and every
change is a new signed version written in the same transaction as its mirror and its audit
event. A signature that fails, or a connector row that differs from what was signed, is refused
with an ``IntegrityError`` and an ``integrity.failed`` event.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from localscribe.vault import egress_authority as egress  # the allowlist capability
from localscribe.vault import crypto, integrity, keys, roles, settings, users
from localscribe.vault.audit import utcnow
from localscribe.vault.db import transaction
from localscribe.vault.integrity import IntegrityError, SecurityState
from localscribe.vault.roles import PermissionDenied, Role
from localscribe.vault.session_base import SessionBase
from datetime import UTC


class AdminOps(SessionBase):
    # ------------------------------------------------------------ the signed state
    def _current_state(self) -> SecurityState:
        """The newest signed state (another process may have changed it), verified."""
        row = self.vault.db.execute("SELECT value FROM meta WHERE key = ?",
                                    (integrity.META_KEY,)).fetchone()
        raw = row[0] if row else ""
        if raw != self._state_raw:
            try:
                state = SecurityState.load(self.vault.db, self._keyset.config_public,
                                           self.vault.vault_id)
            except IntegrityError as exc:
                self._refuse(str(exc))
            if state.version < self._state.version:
                self._refuse(f"the security state went back from version {self._state.version} "
                             f"to {state.version}: the vault file was rolled back")
            self._state, self._state_raw = state, raw
        return self._state

    def _refuse(self, message: str, object: str = "") -> NoReturn:
        try:
            self.audit("integrity.failed", object, "denied", problem=message[:300])
        finally:
            raise IntegrityError(message)

    def _public_keys(self) -> dict[str, list[str]]:
        return {u: list(rec["sign_keys"]) for u, rec in self._current_state().users.items()}

    def _save_state(self, state: SecurityState, what: str, **details: Any) -> None:
        """Sign and store ``state`` (caller holds the transaction) and record its version."""
        if self._keyset.config_sign is None:
            raise PermissionDenied(f"{self.user} holds no configuration key")
        state.save(self.vault.db, self._keyset.config_sign)
        self.audit("security.state", what, version=state.version, **details)
        self._state = state
        self._state_raw = self.vault.db.execute(
            "SELECT value FROM meta WHERE key = ?", (integrity.META_KEY,)).fetchone()[0]

    def _repair_mirrors(self, problems: list[str]) -> None:
        """Admin only: rewrite the plain mirrors from the signed state (after review)."""
        state = self._current_state()
        db = self.vault.db
        with transaction(db):
            for name, rec in state.users.items():
                db.execute("UPDATE users SET role = ?, disabled = ?, epoch = ? WHERE id = ?",
                           (rec["role"], int(rec["disabled"]), rec["epoch"], name))
            marks = ",".join("?" * len(state.users))
            db.execute(f"DELETE FROM users WHERE id NOT IN ({marks})", tuple(state.users))
            db.execute("DELETE FROM settings")
            for key, value in state.settings.items():
                settings.write(db, key, value, self.user)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('kdf_default', ?)",
                       (state.kdf_default.to_json(),))
            self.audit("integrity.repair", "", problems=problems[:20])

    def integrity_status(self) -> dict[str, Any]:
        """For the security report (no PHI)."""
        self._check(roles.SECURITY_REPORT)
        try:
            state = self._current_state()
            problems = integrity.mirror_problems(self.vault.db, state)
            ok = not problems
        except IntegrityError as exc:
            state, problems, ok = self._state, [str(exc)], False
        try:
            row = self.vault.db.execute("SELECT time FROM audit_events WHERE action = "
                                        "'audit.anchor' ORDER BY seq DESC LIMIT 1").fetchone()
        except Exception:
            row = None
        age = None
        if row:
            from datetime import datetime
            then = datetime.fromisoformat(row[0].replace("Z", "+00:00"))
            age = round((datetime.now(UTC) - then).total_seconds())
        return {"state_authenticated": ok, "state_version": state.version,
                "last_anchor_at": row[0] if row else None, "anchor_age_s": age,
                "problems": problems, "kdf_floor": json.loads(state.kdf_floor.to_json()),
                "kdf_default": json.loads(state.kdf_default.to_json()),
                "test_kdf": bool(state.body.get("test_kdf")),
                "phi_established": state.body.get("phi_check") is not None,
                "pending_grants": self._pending_grants(state)}

    # ------------------------------------------------------------ settings and secrets
    def signed_settings(self) -> dict[str, Any]:
        """Every setting as signed (defaults filled in): what this session acts on."""
        self._check()
        return {**settings.DEFAULTS, **self._current_state().settings}

    def _setting(self, key: str, default: Any = None) -> Any:
        values = self._current_state().settings
        if key in values:
            return values[key]
        return default if default is not None else settings.DEFAULTS.get(key)

    def get_setting(self, key: str, default: Any = None) -> Any:
        self._check()
        return self._setting(key, default)

    def set_setting(self, key: str, value: Any) -> Any:
        self._check(roles.SETTINGS_MANAGE, key)
        value = settings.validate(key, value)
        state = self._current_state()
        old = state.settings.get(key, settings.DEFAULTS.get(key))
        new = state.edited()
        new.settings[key] = value
        with transaction(self.vault.db):
            settings.write(self.vault.db, key, value, self.user)
            self._save_state(new, key)
            self.audit("settings.change", key, old=json.dumps(old), new=json.dumps(value))
        if key == settings.EGRESS_ALLOW:
            for entry in set(old or []) - set(value):
                ep = egress.Endpoint.parse(entry)
                egress.disallow(ep.host, ep.port)
            for entry in value:
                ep = egress.Endpoint.parse(entry)
                egress.allow(ep.host, ep.port)
        if key == settings.IDLE_TIMEOUT:
            self.idle_timeout_s = float(value)
        return value

    def allow_endpoint(self, host: str, port: int | None = None) -> None:
        """Add an EHR endpoint to the persisted egress allowlist (admin)."""
        current = list(self._setting(settings.EGRESS_ALLOW) or [])
        entry = str(egress.Endpoint(host.lower(), port))
        if entry not in current:
            self.set_setting(settings.EGRESS_ALLOW, [*current, entry])

    def put_secret(self, name: str, value: bytes) -> None:
        self._check(roles.SECRETS_MANAGE, name)
        settings.put_secret(self.vault.db, self._capability, name, value, self.user)
        self.audit("secret.put", name)

    def get_secret(self, name: str) -> bytes | None:
        self._check(roles.SECRETS_USE, name)
        return settings.get_secret(self.vault.db, self._capability, name)

    def delete_secret(self, name: str) -> bool:
        self._check(roles.SECRETS_MANAGE, name)
        gone = settings.delete_secret(self.vault.db, name)
        self.audit("secret.delete", name, existed=gone)
        return gone

    # ------------------------------------------------------------ connectors (ehr.settings)
    def verify_connector(self, name: str, kind: str, values: dict[str, Any]) -> None:
        want = self._current_state().connectors.get(name)
        if want != integrity.connector_digest(kind, values):
            self._refuse(f"connector {name} configuration does not match what an admin "
                         "signed (edited in the vault file); refused", name)

    def connector_saved(self, name: str, kind: str, values: dict[str, Any]) -> None:
        self._check(roles.SECRETS_MANAGE, name)
        new = self._current_state().edited()
        new.connectors[name] = integrity.connector_digest(kind, values)
        with transaction(self.vault.db):
            self._save_state(new, f"connector:{name}")

    def connector_removed(self, name: str) -> None:
        self._check(roles.SECRETS_MANAGE, name)
        new = self._current_state().edited()
        new.connectors.pop(name, None)
        with transaction(self.vault.db):
            self._save_state(new, f"connector:{name}")

    # ------------------------------------------------------------ users
    def list_users(self) -> list[users.UserRecord]:
        self._check()
        if self.role not in (Role.ADMIN, Role.AUDITOR):
            self._check(roles.USERS_MANAGE)
        return users.list_all(self.vault.db)

    def add_user(self, user: str, role: Role | str, passphrase: str) -> None:
        """New account. A clinician's or assistant's PHI access is a grant sealed to their key:
        the admin who enrols the very first one creates the PHI key for it (and may enrol more
        in that same session); after that a clinician's next sign-in completes it."""
        self._check(roles.USERS_MANAGE, user)
        role = roles.parse_role(role) if isinstance(role, str) else role
        state = self._current_state()
        if user in state.users:
            raise ValueError(f"user {user!r} already exists")
        ks = keys.for_role(role, self._keyset)
        new = state.edited()
        new.users[user] = integrity.user_entry(role, ks)
        if role in keys.PHI_ROLES and new.body.get("phi_check") is None:
            self._bootstrap_phi = keys.new_phi()
            new.body["phi_check"] = keys.phi_check(self._bootstrap_phi)
        with transaction(self.vault.db):
            users.add(self.vault.db, self.vault.vault_id, user, role, passphrase, ks,
                      state.kdf_default, state.kdf_floor, utcnow())
            self._save_state(new, f"user:{user}")
            self.audit("user.add", user, new_role=role.value)
            self.grant_pending()

    def set_passphrase(self, user: str, new_passphrase: str) -> None:
        """Your own passphrase (same keys, new wrap), or (admin) anyone's: a reset issues new
        personal keys and a new epoch, so old wraps stop opening and PHI access must be
        granted again by a clinician."""
        self._check(None if user == self.user else roles.USERS_MANAGE, user)
        state = self._current_state()
        rec = users.get(self.vault.db, user)
        entry = state.user(user)
        if rec is None or entry is None:
            raise ValueError(f"no user {user!r}")
        role = Role(entry["role"])
        with transaction(self.vault.db):
            if user == self.user:
                users.rewrap(self.vault.db, self.vault.vault_id, user, role, entry["epoch"],
                             new_passphrase, self._keyset, state.kdf_default, state.kdf_floor)
            else:
                ks = keys.for_role(role, self._keyset)
                new = state.edited()
                new.users[user] = integrity.user_entry(role, ks, int(entry["epoch"]) + 1,
                                                       entry["sign_keys"])
                users.rewrap(self.vault.db, self.vault.vault_id, user, role,
                             int(entry["epoch"]) + 1, new_passphrase, ks, state.kdf_default,
                             state.kdf_floor)
                self.vault.db.execute("DELETE FROM phi_grants WHERE user = ?", (user,))
                self._save_state(new, f"user:{user}")
            self.audit("user.passwd", user, by_admin=user != self.user)
            if user != self.user:
                self.grant_pending()

    def disable_user(self, user: str) -> None:
        self._check(roles.USERS_MANAGE, user)
        state = self._current_state()
        entry = state.user(user)
        if entry is None:
            raise ValueError(f"no user {user!r}")
        admins = [u for u, r in state.users.items() if r["role"] == "admin" and not r["disabled"]]
        if entry["role"] == Role.ADMIN.value and admins == [user]:
            raise ValueError("cannot disable the last active admin")
        new = state.edited()
        new.users[user] = {**entry, "disabled": True, "epoch": int(entry["epoch"]) + 1}
        from localscribe.style import store as style   # the account's learned style goes with it
        with transaction(self.vault.db):
            users.disable(self.vault.db, user, int(entry["epoch"]) + 1)
            self._save_state(new, f"user:{user}")
            self.audit("user.disable", user)
            style.erase_account(self, user)
        style.after_erase(self)

    # ------------------------------------------------------------ PHI grants
    def _pending_grants(self, state: SecurityState) -> list[str]:
        have = {r[0]: int(r[1]) for r in self.vault.db.execute(
            "SELECT user, epoch FROM phi_grants").fetchall()}
        return sorted(u for u, r in state.users.items()
                      if Role(r["role"]) in keys.PHI_ROLES and not r["disabled"]
                      and have.get(u) != int(r["epoch"]))

    def grant_pending(self) -> list[str]:
        """Seal the PHI key to every enrolled clinician/assistant still waiting for it. Only a
        clinician (or the admin session that created the PHI key) can: nobody else has it."""
        phi = self._bootstrap_phi or (self._keyset.phi if self.role in keys.GRANTING_ROLES
                                      else None)
        if phi is None:
            return []
        state = self._current_state()
        granted = []
        for user in self._pending_grants(state):
            entry = state.users[user]
            blob = crypto.seal_to(bytes.fromhex(entry["box_public"]), phi, keys.grant_context(
                self.vault.vault_id, user, int(entry["epoch"])))
            users.put_grant(self.vault.db, user, int(entry["epoch"]), blob, self.user, utcnow())
            self.audit("user.grant", user, what="phi")
            granted.append(user)
        return granted

    # ------------------------------------------------------------ PHI recovery code
    def create_phi_recovery_code(self) -> str:
        """A clinician's break-glass code for the PHI key (see vault.recovery); shown once."""
        from localscribe.vault import recovery

        self._check(roles.NOTE_SIGN)       # clinicians: the role that grants PHI access
        if self._keyset.phi is None:
            raise PermissionDenied(f"{self.user} has no access to patient data yet")
        code = recovery.new_code()
        with transaction(self.vault.db):
            self.vault.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                  (recovery.META_KEY, recovery.wrap(self.vault.vault_id,
                                                                    self._keyset.phi, code)))
            self.audit("phi.recovery_code", self.user)
        return code

    def recover_phi(self, code: str) -> None:
        """A clinician whose PHI grant is missing (e.g. after an admin reset, with no other
        clinician to grant it) opens the PHI key with the recovery code; audited."""
        from localscribe.vault import recovery

        self._check(roles.NOTE_SIGN)
        row = self.vault.db.execute("SELECT value FROM meta WHERE key = ?",
                                    (recovery.META_KEY,)).fetchone()
        try:
            phi = recovery.unwrap(self.vault.vault_id, row[0] if row else None, code,
                                  self._current_state().body.get("phi_check"))
        except (ValueError, IntegrityError) as exc:
            self.audit("phi.recover", self.user, "denied", problem=str(exc)[:200])
            raise
        self._keyset.phi = phi
        self._capability._ciphers["phi"] = crypto.FieldCipher(phi)
        self.audit("phi.recover", self.user)
        self.grant_pending()             # this clinician's own grant included


    def enable_keyring_unlock(self) -> None:
        from localscribe.vault import keyring_unlock

        self._check()
        if not self._setting(settings.KEYRING_ALLOWED):
            raise PermissionDenied("keyring unlock is off; an admin must set "
                                   f"{settings.KEYRING_ALLOWED} to true first")
        keyring_unlock.enable(self.vault, self.user, self._keyset)
        self.audit("keyring.enable", self.user)

    def disable_keyring_unlock(self) -> None:
        from localscribe.vault import keyring_unlock

        self._check()
        keyring_unlock.disable(self.vault, self.user)
        self.audit("keyring.disable", self.user)
