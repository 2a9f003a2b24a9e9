"""Notification pages: inbox, what I sent and how it was delivered, robots, my channels."""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors

from . import selectors, services
from .forms import ChannelForm, PreferenceForm
from .models import Channel, Delivery, Notification


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.inbox(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "notify/inbox.html", {"page": page})


@login_required
def inbox_item(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(selectors.inbox(request.user), pk=pk)
    if request.method == "POST":
        services.delivery_acknowledge(delivery=delivery)
        messages.success(request, _("Acknowledged."))
        return redirect("notify:inbox-item", pk=pk)
    services.delivery_read(delivery=delivery)
    return render(request, "notify/inbox_item.html", {"d": delivery, "n": delivery.notification})


@login_required
def sent(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_sent(request.user), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "notify/sent.html", {"page": page})


@login_required
def notification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification.objects.select_related("unit", "sender"), pk=pk)
    if not selectors.notification_visible(request.user, notification):
        raise Http404
    deliveries = selectors.notification_deliveries(notification)
    if not (
        notification.sender_id == request.user.pk
        or (notification.unit and access.can_manage(request.user, notification.unit))
    ):
        deliveries = deliveries.filter(person=request.user)
    template = "notify/deliveries.html" if request.htmx else "notify/notification.html"
    return render(request, template, {"n": notification, "deliveries": deliveries})


# --- Acknowledging from the link in a message (no login) ---------------------------


def ack(request: HttpRequest, token: str) -> HttpResponse:
    delivery = Delivery.objects.select_related("notification").filter(ack_token=token).first()
    if delivery is None or not delivery.notification.requires_ack:
        raise Http404
    context = {"d": delivery, "n": delivery.notification}
    age = timezone.now() - delivery.notification.created_at
    if age > dt.timedelta(days=settings.NOTIFY_ACK_LINK_DAYS) and delivery.acknowledged_at is None:
        return render(request, "notify/ack.html", context | {"expired": True}, status=410)
    if request.method == "POST":
        services.delivery_acknowledge(delivery=delivery)
    return render(request, "notify/ack.html", context)


# --- A unit's robots ---------------------------------------------------------------------


@login_required
def channels(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_connect_robots(request.user, unit))
    return render(
        request, "notify/channels.html", {"unit": unit, "channels": selectors.unit_channels(unit)}
    )


@login_required
def channel_new(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_connect_robots(request.user, unit))
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_create(
                by=request.user,
                unit=unit,
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                config=form.config(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Channel saved. Send a test message to check it."))
            return redirect("notify:channels", pk=unit.pk)
    return render(request, "notify/channel_form.html", {"form": form, "unit": unit})


@login_required
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel.objects.select_related("unit"), pk=pk)
    if not access.unit_visible(request.user, channel.unit):
        raise Http404
    access.require(access.can_connect_robots(request.user, channel.unit))
    form = ChannelForm(
        request.POST or None,
        editing=True,
        initial={
            "kind": channel.kind,
            "name": channel.name,
            "enabled": channel.enabled,
            **{k: v for k, v in channel.config.items() if k != "secret"},
        },
    )
    if request.method == "POST" and form.is_valid():
        config = form.config()
        if "secret" not in config and channel.config.get("secret"):
            config["secret"] = channel.config["secret"]  # left empty: keep the stored one
        try:
            services.channel_update(
                by=request.user,
                channel=channel,
                name=form.cleaned_data["name"],
                config=config,
                enabled=form.cleaned_data["enabled"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("notify:channels", pk=channel.unit_id)
    return render(
        request,
        "notify/channel_form.html",
        {"form": form, "unit": channel.unit, "channel": channel},
    )


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel.objects.select_related("unit"), pk=pk)
    if not access.unit_visible(request.user, channel.unit):
        raise Http404
    access.require(access.can_connect_robots(request.user, channel.unit))
    delivery = services.channel_test(by=request.user, channel=channel)
    messages.info(request, _("Test message queued; this page shows whether it arrived."))
    return redirect("notify:notification", pk=delivery.notification_id)


# --- My channels ----------------------------------------------------------------------------


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    pref = services.preference_of(request.user)
    order = pref.transports
    form = PreferenceForm(
        request.POST or None,
        initial={
            "first": order[0] if order else "",
            "second": order[1] if len(order) > 1 else "",
            "quiet_start": pref.quiet_start,
            "quiet_end": pref.quiet_end,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_update(
                by=request.user,
                person=request.user,
                order=form.order(),
                quiet_start=form.cleaned_data["quiet_start"],
                quiet_end=form.cleaned_data["quiet_end"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("notify:preferences")
    return render(request, "notify/preferences.html", {"form": form})


# --- The system administrator's settings -----------------------------------------------------


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    from .forms import AllowedNetworkForm, DeliverySettingsForm, SmsTemplateForm
    from .models import AllowedNetwork, SmsTemplate

    access.require(access.can_manage_accounts(request.user))
    which = request.POST.get("form")
    sms_form = SmsTemplateForm(request.POST if which == "sms" else None, prefix="sms")
    net_form = AllowedNetworkForm(request.POST if which == "net" else None, prefix="net")
    retry_form = DeliverySettingsForm(
        request.POST if which == "retry" else None,
        prefix="retry",
        initial={"give_up_after_hours": services.give_up_after() // dt.timedelta(hours=1)},
    )
    if request.method == "POST":
        try:
            if which == "sms" and sms_form.is_valid():
                services.sms_template_set(by=request.user, **sms_form.cleaned_data)
                return redirect("notify:settings")
            if which == "net" and net_form.is_valid():
                services.allowed_network_add(by=request.user, **net_form.cleaned_data)
                return redirect("notify:settings")
            if which == "retry" and retry_form.is_valid():
                services.delivery_settings_set(by=request.user, **retry_form.cleaned_data)
                return redirect("notify:settings")
            if which == "net-remove":
                services.allowed_network_remove(
                    by=request.user, pk=int(request.POST.get("pk", "0") or 0)
                )
                return redirect("notify:settings")
        except ValidationError as exc:
            failed = {"net": net_form, "retry": retry_form}.get(which or "", sms_form)
            apply_errors(failed, exc)
        except ValueError:
            raise Http404 from None
    return render(
        request,
        "notify/settings.html",
        {
            "sms_form": sms_form,
            "net_form": net_form,
            "retry_form": retry_form,
            "templates": SmsTemplate.objects.order_by("event"),
            "networks": AllowedNetwork.objects.order_by("cidr"),
        },
    )
