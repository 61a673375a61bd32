"""Who is acting, when ``[team]`` is set: the principal of the key that signed.

``POSTQ_USER``, ``LOGNAME`` and ``USER`` grant nothing here. A person's key is
``POSTQ_SIGNING_KEY`` or else ``~/.ssh/id_ed25519`` (given as the public key, or with only
the ``.pub`` file present, ssh-agent holds the private half); each signature is matched
against ``allowed_signers`` to learn whose it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scheduler.errors import ConfigError, UsageError
from scheduler.team import sshsig


@dataclass(frozen=True)
class Signed:
    """A signed statement: who signed, the exact text, and the signature."""

    who: str
    doc: str
    signature: str

    def as_json(self) -> dict[str, str]:
        return {"doc": self.doc, "sig": self.signature}


@dataclass(frozen=True)
class Team:
    """``[team]``: the allowed-signers file and who may approve (per channel if set)."""

    allowed_signers: Path
    approvers: tuple[str, ...] = ()
    channel_approvers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    config_path: Path | None = None

    # -- signing -----------------------------------------------------------------------
    def signing_key(self, env: Mapping[str, str] | None = None) -> Path:
        """The key this person signs with: ``POSTQ_SIGNING_KEY`` or ``~/.ssh/id_ed25519``."""
        env = os.environ if env is None else env
        named = env.get("POSTQ_SIGNING_KEY", "").strip()
        key = Path(named).expanduser() if named else Path("~/.ssh/id_ed25519").expanduser()
        if key.is_file():
            return key
        pub = key.with_name(key.name + ".pub")
        if pub.is_file():
            return pub  # the private half is in ssh-agent
        where = "POSTQ_SIGNING_KEY names" if named else "the default signing key is"
        raise UsageError(
            f"{where} {key}, which does not exist; [team] is set in postq.toml, so every "
            "decision must be signed with your SSH key (set POSTQ_SIGNING_KEY to its path)"
        )

    def sign(self, doc: str, env: Mapping[str, str] | None = None) -> Signed:
        """Sign ``doc`` and find whose key that is; a key not on the list is refused."""
        self._check_file()
        key = self.signing_key(env)
        signature = sshsig.sign(doc, key)
        names = sshsig.find_principals(signature, self.allowed_signers)
        if not names:
            raise UsageError(
                f"your key {key} is not in the allowed-signers file {self.allowed_signers} "
                "([team] allowed_signers); ask whoever keeps that file to add it"
            )
        who = names[0]
        if not sshsig.verify(doc, signature, who, self.allowed_signers):
            raise UsageError(
                f"the signature made with {key} does not verify against "
                f"{self.allowed_signers} for '{who}' (is the key expired there?)"
            )
        return Signed(who=who, doc=doc, signature=signature)

    def verify(self, signed: Signed, at: datetime | None = None) -> bool:
        """Whether ``signed.who``'s key, as the file lists it now, made the signature."""
        self._check_file()
        return sshsig.verify(signed.doc, signed.signature, signed.who, self.allowed_signers,
                             at=at)

    def _check_file(self) -> None:
        if not self.allowed_signers.is_file():
            raise ConfigError(f"the allowed-signers file {self.allowed_signers} does not exist",
                              self.config_path, "team.allowed_signers")

    # -- roles -------------------------------------------------------------------------
    def may_approve(self, who: str, channels: Iterable[str]) -> str | None:
        """None if ``who`` may approve on every one of ``channels``, else why not."""
        for ch in channels:
            allowed = self.channel_approvers.get(ch, self.approvers)
            if allowed and who not in allowed:
                where = f"[team.channel_approvers] {ch}" if ch in self.channel_approvers \
                    else "[team] approvers"
                return f"'{who}' is not an approver for channel {ch} ({where}: " \
                       f"{', '.join(allowed)})"
        return None


def load_team(settings: Any) -> Team | None:
    """The ``[team]`` of a configuration, or None when postq runs on login names."""
    team = getattr(settings, "team", None)
    if team is None or not team.allowed_signers:
        return None
    return Team(
        allowed_signers=settings.resolve(team.allowed_signers),
        approvers=tuple(team.approvers),
        channel_approvers={k: tuple(v) for k, v in team.channel_approvers.items()},
        config_path=settings.path,
    )
