"""OpenSSH signatures through the real ``ssh-keygen``: sign, find the principal, verify.

``ssh-keygen -Y`` (OpenSSH 8.2+) is what git uses to sign commits, and staff already hold
the keys; it also talks to ssh-agent when the key given is a public key whose private half
the agent holds. The namespace keeps a postq signature from being replayed as a git or
file signature, and the other way round. See ssh-keygen(1), "-Y sign", "-Y verify",
"-Y find-principals".
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from scheduler.errors import PostqError

NAMESPACE = "postq"
_TIMEOUT_S = 120.0  # signing may wait for a passphrase typed at the terminal


class SignatureError(PostqError):
    """A key could not sign, or a signature could not be checked at all."""


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise SignatureError("ssh-keygen (OpenSSH) is not installed; [team] needs it to sign")
    return found


def sign(message: str, key: Path) -> str:
    """The armoured signature of ``message`` by ``key`` (a private key, or a public key
    whose private half ssh-agent holds). A passphrase is asked on the terminal."""
    try:
        done = subprocess.run(
            [_ssh_keygen(), "-q", "-Y", "sign", "-n", NAMESPACE, "-f", str(key)],
            input=message.encode("utf-8"), capture_output=True, timeout=_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise SignatureError(f"signing with {key} took more than {_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0 or b"BEGIN SSH SIGNATURE" not in done.stdout:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SignatureError(f"cannot sign with the key {key}: "
                             f"{why[-1] if why else 'ssh-keygen failed'}")
    return done.stdout.decode("ascii")


def find_principals(signature: str, allowed_signers: Path) -> list[str]:
    """The principals ``allowed_signers`` lists for the key that made ``signature``.

    This only matches the key; :func:`verify` checks the signature itself.
    """
    with tempfile.TemporaryDirectory(prefix="postq-sig-") as tmp:
        sig = Path(tmp) / "message.sig"
        sig.write_text(signature, encoding="ascii")
        done = _run([_ssh_keygen(), "-Y", "find-principals", "-s", str(sig), "-f",
                     str(allowed_signers)])
    if done.returncode != 0:
        return []
    return [p for p in done.stdout.decode("utf-8", "replace").split() if p]


def verify(message: str, signature: str, principal: str, allowed_signers: Path,
           at: datetime | None = None) -> bool:
    """Whether ``principal``'s key, as ``allowed_signers`` lists it now (or, with ``at``,
    as it was valid at that moment), made ``signature`` over ``message``."""
    if not signature or not principal:
        return False
    with tempfile.TemporaryDirectory(prefix="postq-sig-") as tmp:
        sig = Path(tmp) / "message.sig"
        try:
            sig.write_text(signature, encoding="ascii")
        except UnicodeEncodeError:
            return False
        cmd = [_ssh_keygen(), "-Y", "verify", "-n", NAMESPACE, "-f", str(allowed_signers),
               "-I", principal, "-s", str(sig)]
        if at is not None:
            cmd += ["-O", f"verify-time={at.astimezone(UTC).strftime('%Y%m%d%H%M%SZ')}"]
        done = _run(cmd, message.encode("utf-8"))
    return done.returncode == 0


def _run(cmd: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``ssh-keygen`` for checks; a hang or a failure to start is one sentence."""
    try:
        return subprocess.run(cmd, input=data, capture_output=True, timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SignatureError(f"ssh-keygen took more than {_TIMEOUT_S:.0f} s to check a "
                             "signature") from None
    except OSError as exc:
        raise SignatureError(f"ssh-keygen could not be run: {exc.strerror or exc}") from None
