"""A team, not a login name: who acts is the principal of the SSH key that signed.

``[team] allowed_signers`` names an OpenSSH allowed-signers file; every decision a person
makes (queueing, approving, rejecting, cancelling, pausing, resuming, retrying,
rescheduling) is signed with ``ssh-keygen -Y sign`` and checked with ``ssh-keygen -Y
verify`` — the mechanism git uses for signed commits — so the four-eyes rule rests on keys
people hold, not on a name anyone can type. The publisher checks the signatures again at
claim time (:mod:`scheduler.team.gate`), and the audit trail is a hash chain
(:mod:`scheduler.team.chain`).
"""

from scheduler.team.identity import Signed, Team, load_team

__all__ = ["Signed", "Team", "load_team"]
