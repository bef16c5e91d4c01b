"""The vote: access codes for ceremony attendees, one ballot each, receipts, voiding, tallies.

A code is 16 characters from an alphabet without look-alikes (80 bits: not guessable), printed
as XXXX-XXXX-XXXX-XXXX. Only its keyed hash (HMAC-SHA256 with the app's secret key) is
stored. The database refuses a second ballot for one credential, so two phones racing with
one card cannot both vote.
"""

import hashlib
import hmac
import secrets
from collections import Counter
from collections.abc import Callable

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from judging.extensions import db
from judging.models import Award, Ballot, Nominee, User, VotingCredential, utcnow
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed safely
CODE_LENGTH = 16
MAX_CODES = 5000
_INSERT: dict[str, Callable[..., postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


class VoteError(ServiceError):
    """A refused ballot or voting action; `status` is the HTTP status that says why."""


def keyed_hash(value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def new_batch_seed() -> str:
    """A random seed for one batch of codes (128 bits)."""
    return secrets.token_urlsafe(16)


def batch_codes(award: Award, seed: str, count: int) -> list[str]:
    """The plain codes of one batch, derived from its seed with the app's secret key.

    80 bits of HMAC-SHA256 each: without the secret key, the seed says nothing about the codes.
    The seed is never stored in the database: only the administrator's session holds it, so
    that a reload of the codes page shows the same batch again instead of issuing a new one.
    """
    key = current_app.config["SECRET_KEY"].encode()
    codes = []
    for i in range(count):
        digest = hmac.new(key, f"codes:{award.id}:{seed}:{i}".encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest[:10], "big")  # 80 bits, 5 per character
        codes.append("".join(CODE_ALPHABET[(number >> (5 * k)) & 31] for k in range(CODE_LENGTH)))
    return codes


def generate_codes(
    award: Award, count: int, *, actor: User | None, seed: str | None = None
) -> list[str]:
    """`count` new one-time access codes for the award; the plain codes are returned once
    (or again from the same `seed`, which only the caller holds)."""
    if not 1 <= count <= MAX_CODES:
        raise VoteError(f"Ask for between 1 and {MAX_CODES} codes at a time.", field="count")
    codes = batch_codes(award, seed or new_batch_seed(), count)
    db.session.add_all(
        VotingCredential(award_id=award.id, kind="code", secret_hash=keyed_hash(code))
        for code in codes
    )
    db.session.flush()
    record_event("votes.codes_generated", f"award:{award.slug}", {"count": count}, actor=actor)
    return [format_code(code) for code in codes]


def voting_is_open(award: Award) -> bool:
    now = utcnow()
    if award.status != "voting":
        return False
    if award.voting_opens_at and now < award.voting_opens_at:
        return False
    return not (award.voting_closes_at and now >= award.voting_closes_at)


# Before voting opens the vote's rules may change; from then on they are fixed.
RULES_EDITABLE = ("draft", "scoring", "closed")


def set_rules(
    award: Award,
    *,
    vote_top_n: int | None,
    vote_weight: int,
    online_vote: bool,
    actor: User | None,
) -> bool:
    """Declare the vote's rules (the jury weight is the rest of 100); False if nothing changed.

    Refused once voting has opened, and for a top N larger than the nominees in the running.
    """
    if award.status not in RULES_EDITABLE:
        raise VoteError(
            "The vote's shortlist and weights are fixed once voting has opened: "
            "they were declared in advance.",
            status=409,
        )
    if not 0 <= vote_weight <= 100:
        raise VoteError("The vote weight is a percentage, from 0 to 100.", field="vote_weight")
    running = sum(1 for n in award.nominees if n.withdrawn_at is None)
    if vote_top_n is not None and not 1 <= vote_top_n <= running:
        raise VoteError(
            f"Top {vote_top_n}: the award has only {running} nominees in the running. "
            f"Choose N from 1 to {running}, or all nominees."
            if vote_top_n > running
            else "N is at least 1.",
            field="top_n",
        )
    before = {
        "vote_top_n": award.vote_top_n,
        "jury_weight": award.jury_weight,
        "vote_weight": award.vote_weight,
        "online_vote": award.online_vote,
    }
    after = {
        "vote_top_n": vote_top_n,
        "jury_weight": 100 - vote_weight,
        "vote_weight": vote_weight,
        "online_vote": bool(online_vote),
    }
    if before == after:
        return False
    award.vote_top_n = vote_top_n
    award.jury_weight, award.vote_weight = 100 - vote_weight, vote_weight
    award.online_vote = bool(online_vote)
    db.session.flush()
    record_event(
        "award.vote_settings_changed",
        f"award:{award.slug}",
        {"before": before, "after": after},
        actor=actor,
    )
    return True


def shortlist(award: Award) -> list[Nominee]:
    """The nominees one can vote for: all in the running, or the jury's top N (ties at the
    boundary all go through)."""
    nominees = [n for n in award.nominees if n.withdrawn_at is None]
    if not award.vote_top_n:
        return nominees
    from judging.services import results  # the jury's ranking, computed from the scores

    ranking = results.compute(award).result
    cut = [r for r in ranking.results if r.score is not None]
    if len(cut) > award.vote_top_n:
        boundary = cut[award.vote_top_n - 1].rank
        cut = [r for r in cut if r.rank <= boundary]
    chosen = {r.nominee for r in cut}
    return [n for n in nominees if n.slug in chosen]


# What a card's holder is told when it cannot vote. `check_ballot` makes the checks in this
# order, for the ballot page before a vote is confirmed and for `cast`, so the page, the API
# and a lost race all say the same thing. Lazy: each is said in the language of the request
# that raises it (str() at the raise; the API's is English).
NOT_OPEN = _l("Voting is not open for this award at the moment. Nothing was recorded.")
NO_CODE = _l("Enter the code printed on your card.")
UNKNOWN_CODE = _l(
    "This code is not valid for this award. Check it against your card and try again."
)
USED_CARD = _l(
    "This card has already been used to vote. Each card votes once; if you did not vote with "
    "it, please tell the organisers."
)
NO_CHOICE = _l("Choose one of the nominees, then press Vote.")


def check_ballot(
    award: Award, code: str, nominee_slug: str, nominees: list[Nominee] | None = None
) -> tuple[VotingCredential, Nominee]:
    """The card's credential and the chosen nominee, or the VoteError saying why this code
    and choice cannot vote now; writes nothing. `nominees`: the shortlist, if already known."""
    if not voting_is_open(award):
        raise VoteError(str(NOT_OPEN), status=409)
    if not normalise_code(code):
        raise VoteError(str(NO_CODE))
    found = db.session.execute(
        select(VotingCredential, Ballot.id)
        .outerjoin(Ballot, Ballot.credential_id == VotingCredential.id)
        .where(
            VotingCredential.award_id == award.id,
            VotingCredential.secret_hash == keyed_hash(normalise_code(code)),
        )
    ).first()
    if found is None:
        raise VoteError(str(UNKNOWN_CODE), status=403)
    credential, ballot_id = found
    if ballot_id is not None:
        raise VoteError(str(USED_CARD), status=409)
    if nominees is None:
        nominee = on_the_ballot(award, nominee_slug)
    else:
        nominee = next((n for n in nominees if n.slug == nominee_slug), None)
    if nominee is None:
        raise VoteError(str(NO_CHOICE))
    return credential, nominee


def on_the_ballot(award: Award, nominee_slug: str) -> Nominee | None:
    """The nominee with this slug, if one can vote for it: one row is read, unless the ballot
    is the jury's top N (then the ranking decides, see `shortlist`)."""
    if award.vote_top_n:
        return next((n for n in shortlist(award) if n.slug == nominee_slug), None)
    return db.session.scalar(
        queries.nominee_by_slug(award, nominee_slug).where(Nominee.withdrawn_at.is_(None))
    )


def cast(
    award: Award,
    *,
    code: str,
    nominee_slug: str,
    ip: str = "",
    user_agent: str = "",
    nominees: list[Nominee] | None = None,
) -> Ballot:
    """One ballot for one nominee with one code; the ballot's receipt lets the voter check it.
    `nominees`: the shortlist, if the caller has it already."""
    credential, nominee = check_ballot(award, code, nominee_slug, nominees)
    # Another phone with the same card may cast between the check and the insert: the
    # database refuses the second ballot, with the same words.
    return _record(award, nominee, credential, ip, user_agent, used=str(USED_CARD))


def _record(
    award: Award,
    nominee: Nominee,
    credential: VotingCredential,
    ip: str,
    user_agent: str,
    *,
    used: str,
) -> Ballot:
    """The ballot itself; a second one for the same credential is refused by the database.

    The INSERT returns the ballot's row (RETURNING): its receipt needs no second read."""
    receipt = keyed_hash(f"receipt:{credential.id}:{secrets.token_hex(8)}")[:12].upper()
    insert = _INSERT[db.session.get_bind().dialect.name]
    ballot = db.session.scalar(
        insert(Ballot)
        .values(
            award_id=award.id,
            nominee_id=nominee.id,
            credential_id=credential.id,
            receipt=receipt,
            cast_at=utcnow(),
            ip_hash=keyed_hash(f"ip:{ip}"),
            user_agent_hash=keyed_hash(f"ua:{user_agent}"),
            voided_reason="",
        )
        .on_conflict_do_nothing(index_elements=["credential_id"])
        .returning(Ballot)
    )
    if ballot is None:
        raise VoteError(used, status=409)
    return ballot


def ballot_of_credential(award: Award, secret_hash: str) -> Ballot | None:
    """The ballot cast with a credential (a code's or an address's keyed hash), if any."""
    return db.session.scalar(
        select(Ballot)
        .join(VotingCredential, VotingCredential.id == Ballot.credential_id)
        .where(VotingCredential.award_id == award.id, VotingCredential.secret_hash == secret_hash)
    )


def ballot_by_receipt(award: Award, receipt: str) -> Ballot | None:
    return db.session.scalar(
        select(Ballot).where(Ballot.award_id == award.id, Ballot.receipt == receipt.strip().upper())
    )


def void(ballot: Ballot, *, reason: str, actor: User) -> None:
    """Void a ballot with a reason: kept, audited, no longer counted."""
    if not reason.strip():
        raise VoteError("Give the reason for voiding the ballot.")
    if ballot.voided_at is not None:
        raise VoteError("This ballot is already void.")
    ballot.voided_at, ballot.voided_by_id, ballot.voided_reason = utcnow(), actor.id, reason
    record_event(
        "ballot.voided",
        f"ballot:{ballot.id}",
        {"receipt": ballot.receipt, "reason": reason},
        actor=actor,
    )


def tally(award: Award) -> dict:
    """Ballots cast, voided and counted, and the counted votes per nominee slug (two queries)."""
    rows = db.session.execute(
        select(Nominee.slug, Ballot.voided_at.is_(None), func.count())
        .join(Nominee, Nominee.id == Ballot.nominee_id)
        .where(Ballot.award_id == award.id)
        .group_by(Nominee.slug, Ballot.voided_at.is_(None))
    ).all()
    counted: Counter[str] = Counter()
    voided = 0
    for slug, valid, n in rows:
        if valid:
            counted[slug] += n
        else:
            voided += n
    total = sum(counted.values())
    return {"cast": total + voided, "voided": voided, "counted": total, "votes": dict(counted)}


# --- The online public vote: one ballot per verified email address ----------------------------

# One mailbox, many spellings. At every domain: the case of the whole address, and a +tag
# ("mallory+2@posteo.de" is "mallory@posteo.de"): nearly every provider delivers a +tag to the
# untagged mailbox, and a voter who really has separate mailboxes differing only by a +tag is
# far rarer than one who would use tags to vote twice. Dots are ignored at Gmail only: elsewhere
# "jo.smith" and "josmith" are often two people.
DOTLESS = {"gmail.com"}
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
VERIFICATION_SECONDS = 24 * 3600


def normalise_email(address: str) -> str:
    """One spelling per mailbox: lower case, +tags removed (every domain), Gmail's dots and
    alias domain removed. The voting credential is the keyed hash of this spelling."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local or "." not in domain:
        raise VoteError(gettext("Give a valid email address."))
    domain = DOMAIN_ALIASES.get(domain, domain)
    local = local.split("+", 1)[0]
    if not local:
        raise VoteError(gettext("Give a valid email address."))
    if domain in DOTLESS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def _serializer():
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="vote-email")


def verification_token(award: Award, address: str) -> str:
    """A signed, expiring link token naming the award and the address's keyed hash only: the
    address itself is never stored, and is not in the link."""
    return _serializer().dumps({"a": award.id, "h": address_hash(address)})


def address_hash(address: str) -> str:
    return keyed_hash(f"email:{normalise_email(address)}")


def verified_hash(award: Award, token: str) -> str:
    """The keyed hash of the address a link was sent to; a bad, expired or foreign link is
    refused with the reason."""
    from itsdangerous import BadSignature, SignatureExpired

    try:
        data = _serializer().loads(token, max_age=VERIFICATION_SECONDS)
    except SignatureExpired:
        raise VoteError(gettext("This link has expired. Ask for a new one."), status=403) from None
    except BadSignature:
        raise VoteError(
            gettext("This link is not valid. Check that you copied all of it."), status=403
        ) from None
    if not isinstance(data, dict) or data.get("a") != award.id or "h" not in data:
        raise VoteError(gettext("This link is for another award."), status=403)
    return data["h"]


def cast_verified(
    award: Award,
    *,
    token: str,
    nominee_slug: str,
    ip: str = "",
    user_agent: str = "",
    nominees: list[Nominee] | None = None,
) -> Ballot:
    """The ballot of a verified address; the link works for one ballot, within 24 hours.
    `nominees`: the shortlist, if the caller has it already."""
    if not (voting_is_open(award) and award.online_vote):
        raise VoteError(gettext("The online vote is not open for this award."), status=409)
    data = {"h": verified_hash(award, token)}
    if nominees is None:
        nominee = on_the_ballot(award, nominee_slug)
    else:
        nominee = next((n for n in nominees if n.slug == nominee_slug), None)
    if nominee is None:
        raise VoteError(str(NO_CHOICE))
    insert = _INSERT[db.session.get_bind().dialect.name]
    db.session.execute(
        insert(VotingCredential)
        .values(award_id=award.id, kind="email", secret_hash=data["h"], created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["award_id", "secret_hash"])
    )
    credential = db.session.execute(
        select(VotingCredential).where(
            VotingCredential.award_id == award.id, VotingCredential.secret_hash == data["h"]
        )
    ).scalar_one()
    return _record(
        award,
        nominee,
        credential,
        ip,
        user_agent,
        used=gettext("This email address has already voted in this award."),
    )
