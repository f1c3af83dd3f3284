from flask import Blueprint, render_template
from flask_login import current_user

from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.audit import filters, queries, sentences
from casemgmt.core.pagination import Page

bp = Blueprint("audit", __name__, url_prefix="/audit")

PER_PAGE = 50


@bp.get("/")
@requires(Action.AUDIT_VIEW)
def index():
    chosen = filters.from_request(current_user)
    if chosen.nothing_matches:  # a filter that cannot be read lists nothing, rather than everything
        page = Page(items=[], page=1, per_page=PER_PAGE, total=0)
    else:
        page = queries.events_page(current_user, per_page=PER_PAGE, **chosen.query_args())
    kinds = sentences.kind_choices()
    if chosen.action and chosen.action not in sentences.KINDS:
        kinds.append((chosen.action, chosen.action))  # a kind with no name yet still shows as chosen
    return render_template(
        "audit/list.html", page=page, lines=queries.describe(current_user, page.items), filters=chosen,
        users=queries.organisation_users(current_user), kinds=kinds,
        denied_recently=queries.denied_attempts_on_organisation(current_user), signal_days=queries.SIGNAL_DAYS,
    )
