"""The audit administrator's pages: the trail, and its verification against the heads
recorded outside it. Who may read them is orgs.access's to say, asked here, above
audit (which knows nothing of roles)."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from safecampus.audit import selectors
from safecampus.audit.forms import VerifyForm
from safecampus.audit.services import VerifyResult, audit_record, audit_verify
from safecampus.orgs import access

from .audit_heads import last_sent_heads, sent_heads


def _page(request: HttpRequest, form: VerifyForm, result: VerifyResult | None) -> HttpResponse:
    filters = {
        "model": request.GET.get("model", "").strip()[:64],
        "object_id": request.GET.get("object", "").strip()[:64],
        "actor": request.GET.get("actor", "").strip()[:150],
        "action": request.GET.get("action", "").strip()[:32],
    }
    page = Paginator(selectors.trail_entries(**filters), 50).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "page": page,
        "rows": selectors.trail_rows(page.object_list),
        "model": filters["model"],
        "object": filters["object_id"],
        "actor": filters["actor"],
        "action": filters["action"],
        "model_choices": selectors.model_choices(),
        "action_choices": selectors.action_choices(),
        "sent_heads": last_sent_heads(),
        "form": form,
        "result": result,
    }
    return render(request, "audit/trail.html", context)


@login_required
def trail(request: HttpRequest) -> HttpResponse:
    if not access.can_read_audit(request.user):
        raise PermissionDenied
    return _page(request, VerifyForm(), None)


@login_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    if not access.can_read_audit(request.user):
        raise PermissionDenied
    form = VerifyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, None)
    result = audit_verify([*form.cleaned_data["heads"], *sent_heads()])
    audit_record(
        action="audit_verify",
        changes={
            "ok": result.ok,
            "checked": result.checked,
            "broken_seq": result.broken_seq,
            "heads_checked": result.heads_checked,
            "heads_missing": [p.head.seq for p in result.head_problems],
        },
    )
    return _page(request, form, result)
