"""Tables and their constraints. Plain SQLAlchemy: nothing here knows of Flask.

One module per area; every public name is re-exported here, so code imports from
`judging.models` whatever module a table lives in (and importing this package is what puts
every table in `Base.metadata`, which Alembic compares against).

- `base`: the declarative base, constraint naming, `utcnow`
- `awards`: awards, nominees, criteria
- `accounts`: users, one-time links, recovery codes, settings
- `jury`: jury members, assignments, evaluations, scores, recusals
- `voting`: voting credentials, ballots
- `results`: casting decisions, published snapshots
- `audit`: the audit ledger
- `mail`: outgoing mail (the outbox)
"""

from judging.models.accounts import (
    ROLES,
    TOKEN_PURPOSES,
    AccountToken,
    RecoveryCode,
    Setting,
    User,
)
from judging.models.audit import AuditEvent
from judging.models.awards import (
    AGGREGATION_METHODS,
    AWARD_STATUSES,
    SCALE_CEILING,
    SCALE_FLOOR,
    Award,
    Criterion,
    Nominee,
)
from judging.models.base import NAMING_CONVENTION, Base, utcnow
from judging.models.jury import Assignment, Evaluation, JuryMember, Recusal, Score
from judging.models.mail import MAIL_KINDS, MAIL_STATUSES, OutgoingMail
from judging.models.results import CastingDecision, ResultSnapshot
from judging.models.voting import Ballot, VotingCredential

__all__ = [
    "AGGREGATION_METHODS",
    "AWARD_STATUSES",
    "MAIL_KINDS",
    "MAIL_STATUSES",
    "NAMING_CONVENTION",
    "ROLES",
    "SCALE_CEILING",
    "SCALE_FLOOR",
    "TOKEN_PURPOSES",
    "AccountToken",
    "Assignment",
    "AuditEvent",
    "Award",
    "Ballot",
    "Base",
    "CastingDecision",
    "Criterion",
    "Evaluation",
    "JuryMember",
    "Nominee",
    "OutgoingMail",
    "RecoveryCode",
    "Recusal",
    "ResultSnapshot",
    "Score",
    "Setting",
    "User",
    "VotingCredential",
    "utcnow",
]
