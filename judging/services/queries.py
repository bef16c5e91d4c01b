"""The questions several services (and the lookups views use) ask the database, each named once.

Each function returns a statement, not rows: a caller narrows it (`.where`, `.order_by`) and
runs it the way it needs (`scalar`, `scalars`, `execute`), so a shared question costs no
extra query. The model is pretalx's `domain/queries`.
"""

from sqlalchemy import ColumnElement, Select, select

from judging.models import Award, JuryMember, Nominee, Recusal, User


def recusal_is_active() -> ColumnElement[bool]:
    """A declared conflict of interest still in force: not lifted by an administrator."""
    return Recusal.lifted_at.is_(None)


def active_recusals(award: Award) -> Select[int, int]:
    """(juror id, nominee id) of every conflict of interest in force in the award."""
    return (
        select(Recusal.juror_id, Recusal.nominee_id)
        .join(Nominee, Nominee.id == Recusal.nominee_id)
        .where(Nominee.award_id == award.id, recusal_is_active())
    )


def active_recusal(nominee: Nominee, juror: User) -> Select[Recusal]:
    """The juror's conflict of interest with the nominee, if one is in force."""
    return select(Recusal).where(
        Recusal.nominee_id == nominee.id, Recusal.juror_id == juror.id, recusal_is_active()
    )


def jurors_of(award: Award) -> Select[User]:
    """The accounts on the award's jury (in no order: callers order as they show them)."""
    return (
        select(User)
        .join(JuryMember, JuryMember.user_id == User.id)
        .where(JuryMember.award_id == award.id)
    )


def jury_member_ids(award: Award) -> Select[int]:
    """The user ids on the award's jury, as a subquery for `User.id.in_(...)` and the like."""
    return select(JuryMember.user_id).where(JuryMember.award_id == award.id)


def jury_membership(award: Award, user: User) -> Select[int]:
    """The id of the user's seat on the award's jury, if they have one."""
    return select(JuryMember.id).where(
        JuryMember.award_id == award.id, JuryMember.user_id == user.id
    )


def award_by_slug(slug: str) -> Select[Award]:
    """The award with this slug (slugs are unique)."""
    return select(Award).where(Award.slug == slug)


def nominee_by_slug(award: Award, slug: str) -> Select[Nominee]:
    """The award's nominee with this slug (unique within an award)."""
    return select(Nominee).where(Nominee.award_id == award.id, Nominee.slug == slug)
