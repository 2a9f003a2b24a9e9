from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.orgs import access

from .models import AuditEntry
from .services import audit_record, audit_verify


@login_required
def trail(request: HttpRequest) -> HttpResponse:
    if not access.can_read_audit(request.user):
        raise PermissionDenied
    entries = AuditEntry.objects.order_by("-seq")
    model = request.GET.get("model", "").strip()[:64]
    object_id = request.GET.get("object", "").strip()[:64]
    actor = request.GET.get("actor", "").strip()[:150]
    if model:
        entries = entries.filter(model=model)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if actor:
        entries = entries.filter(actor_label=actor)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/trail.html",
        {
            "page": page,
            "model": model,
            "object": object_id,
            "actor": actor,
        },
    )


@login_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    if not access.can_read_audit(request.user):
        raise PermissionDenied
    result = audit_verify()
    if result.ok:
        messages.success(
            request, _("The audit chain is intact: %(n)d entries.") % {"n": result.checked}
        )
    else:
        messages.error(
            request,
            _("The audit chain is broken at entry %(seq)s: %(reason)s")
            % {"seq": result.broken_seq, "reason": result.reason},
        )
    audit_record(
        action="audit_verify",
        changes={"ok": result.ok, "checked": result.checked, "broken_seq": result.broken_seq},
    )
    return redirect("audit:trail")
