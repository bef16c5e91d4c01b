"""The audit ledger: every state change, filterable, with the state of the hash chain."""

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from judging.admin import blueprint
from judging.extensions import db
from judging.forms import EmptyForm
from judging.models import AuditEvent, User
from judging.services import audit_verification as verification

PAGE_SIZE = 50


@blueprint.get("/audit")
def audit():
    """Events newest first, filtered by action, actor or subject; and whether the chain holds:
    verified now when it is short, else as the last verification found it."""
    filters = {key: request.args.get(key, "").strip() for key in ("action", "actor", "subject")}
    query = select(AuditEvent)
    if filters["action"]:
        query = query.where(AuditEvent.action.startswith(filters["action"], autoescape=True))
    if filters["actor"]:
        # Events name people by a pseudonym (older ones by email): match the current names too.
        named = select(User.id).where(
            User.name.contains(filters["actor"], autoescape=True)
            | User.email.contains(filters["actor"].lower(), autoescape=True)
        )
        query = query.where(
            AuditEvent.actor.contains(filters["actor"], autoescape=True)
            | AuditEvent.actor_id.in_(named)
        )
    if filters["subject"]:
        query = query.where(AuditEvent.subject.contains(filters["subject"], autoescape=True))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    # Any page number is answered: one past the end shows the last page, not a database error.
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    events = db.session.scalars(
        query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    size = verification.ledger_size()
    fresh = size <= verification.VERIFY_ON_VIEW
    chain = verification.verify_ledger() if fresh else verification.last_verification()
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    # Who acted, by their current name: after an anonymisation, the anonymised one.
    ids = {e.actor_id for e in events if e.actor_id is not None}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    return render_template(
        "admin/audit.html",
        events=events,
        filters=filters,
        page=page,
        total=total,
        pages=pages,
        chain=chain,
        fresh=fresh,
        size=size,
        broken=chain.broken if chain else None,
        verify_form=EmptyForm(),
        actions=list(actions),
        names=names,
    )


@blueprint.post("/audit/verify")
def audit_verify():
    """Verify the whole chain now, however long it is, and show what that found."""
    if EmptyForm().validate_on_submit():
        chain = verification.verify_ledger()
        if chain.ok:
            flash(f"The chain is intact: all {chain.count} events verified just now.", "success")
        else:
            flash("The chain does not verify: see below.", "error")
    return redirect(url_for("admin.audit"))
