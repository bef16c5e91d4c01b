"""People: creating accounts, invitation and reset links, passwords, roles, jury membership."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from judging import inputs
from judging.extensions import db
from judging.models import ROLES, AccountToken, Award, JuryMember, User, utcnow
from judging.passwords import Passwords, password_problems
from judging.services.audit import record_event
from judging.services.errors import ServiceError


class AccountError(ServiceError):
    """A request about an account that cannot be carried out; the message says why."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_user(
    email: str, name: str, role: str, *, actor: User | None, award_slugs: tuple[str, ...] = ()
) -> User:
    """A new account, not yet usable: it needs an invitation accepted (or a password set)."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"Role must be one of {', '.join(ROLES)}.", field="role")
    if problem := inputs.text_problem(name):
        raise AccountError(f"The name {problem}", field="name")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(f"There is already an account for {email}.", field="email")
    user = User(email=email, name=name.strip(), role=role)
    db.session.add(user)
    db.session.flush()
    record_event("user.created", f"user:{user.id}", {"role": role}, actor=actor)
    if award_slugs:
        set_jury_awards(user, _awards_by_slug(award_slugs), actor=actor)
    return user


def _awards_by_slug(slugs) -> list[Award]:
    awards = list(db.session.scalars(select(Award).where(Award.slug.in_(slugs))))
    if missing := set(slugs) - {a.slug for a in awards}:
        raise AccountError(f"No award with slug {', '.join(sorted(missing))}.", field="award")
    return awards


def issue_token(user: User, purpose: str, lifetime: timedelta) -> str:
    """A new single-use link secret for `purpose`; earlier unused ones of that purpose die."""
    now = utcnow()
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    raw = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_token_hash(raw),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.flush()
    return raw


def usable_token(raw: str, purpose: str) -> AccountToken:
    """The token behind a link, if it is still good for `purpose`; else AccountError."""
    token = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == _token_hash(raw)).with_for_update()
    )
    if token is None or token.purpose != purpose:
        raise AccountError("This link is not valid. Check that you copied all of it.")
    if token.used_at is not None:
        raise AccountError("This link has already been used or was replaced by a newer one.")
    if token.expires_at <= utcnow():
        raise AccountError("This link has expired.")
    if not token.user.active:
        raise AccountError("This account has been deactivated.")
    return token


def invitation_already_accepted(raw: str) -> bool:
    """True when this is an invitation link whose account has since been set up (a password
    chosen) and is active: its holder only needs to log in. Says nothing else about it."""
    token = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == _token_hash(raw))
    )
    return (
        token is not None
        and token.purpose == "invitation"
        and token.user.active
        and token.user.password_hash is not None
    )


def redeem_token(raw: str, purpose: str, password: str, passwords: Passwords) -> User:
    """Set the password through an invitation or reset link, and burn the link."""
    token = usable_token(raw, purpose)
    user = token.user
    token.used_at = utcnow()
    set_password(user, password, passwords, actor=user)
    return user


def set_password(user: User, password: str, passwords: Passwords, *, actor: User | None) -> None:
    """Check the password against the policy, store its hash, and end every other session."""
    if problems := password_problems(password, email=user.email, name=user.name):
        raise AccountError(" ".join(problems), field="password")
    first = user.password_hash is None
    user.password_hash = passwords.hash(password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    action = "user.invitation_accepted" if first else "user.password_changed"
    record_event(action, f"user:{user.id}", {}, actor=actor)


def authenticate(email: str, password: str, passwords: Passwords) -> User | None:
    """The active user with this email and password, or None, taking as long either way."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    ok = passwords.verify(user.password_hash if user else None, password)
    if not (ok and user and user.active and user.password_hash):  # verify: never without one
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Every session of this user stops at its next request."""
    user.session_version += 1


def deactivate(user: User, *, actor: User) -> None:
    if user.id == actor.id:
        raise AccountError("You cannot deactivate your own account.")
    if user.is_admin and _active_admins() == 1:
        raise AccountError("The last active administrator cannot be deactivated.")
    user.active = False
    end_sessions(user)
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    record_event("user.deactivated", f"user:{user.id}", {}, actor=actor)


def _refuse_if_anonymised(user: User) -> None:
    if user.anonymised_at is not None:
        raise AccountError("This account was anonymised: it stays closed, as it was.")


def reactivate(user: User, *, actor: User) -> None:
    _refuse_if_anonymised(user)
    user.active = True
    record_event("user.reactivated", f"user:{user.id}", {}, actor=actor)


def _active_admins() -> int:
    return db.session.execute(
        select(func.count()).select_from(User).where(User.role == "admin", User.active)
    ).scalar_one()


def change_role(user: User, role: str, *, actor: User) -> None:
    if role not in ROLES:
        raise AccountError(f"Role must be one of {', '.join(ROLES)}.", field="role")
    if role == user.role:
        return
    _refuse_if_anonymised(user)
    if user.id == actor.id:
        raise AccountError("You cannot change your own role.")
    record_event(
        "user.role_changed", f"user:{user.id}", {"before": user.role, "after": role}, actor=actor
    )
    user.role = role
    end_sessions(user)


def set_jury_awards(user: User, awards: list[Award], *, actor: User | None) -> None:
    """Make the user a juror of exactly these awards."""
    current = set(
        db.session.scalars(select(JuryMember.award_id).where(JuryMember.user_id == user.id))
    )
    wanted = {a.id for a in awards}
    if wanted - current:
        _refuse_if_anonymised(user)
    if added := wanted - current:
        db.session.add_all(JuryMember(award_id=a, user_id=user.id) for a in sorted(added))
    if removed := current - wanted:
        db.session.execute(
            delete(JuryMember).where(
                JuryMember.user_id == user.id, JuryMember.award_id.in_(removed)
            )
        )
    if added or removed:
        slugs = {a.id: a.slug for a in db.session.scalars(select(Award))}
        record_event(
            "jury.membership_changed",
            f"user:{user.id}",
            {
                "added": sorted(slugs[a] for a in added),
                "removed": sorted(slugs[a] for a in removed),
            },
            actor=actor,
        )
    db.session.flush()
