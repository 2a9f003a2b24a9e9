"""Log-ins, log-outs and failed log-ins go into the audit trail (等保: who, when, from where)."""

from typing import Any

from .services import Actor, audit_record, client_ip


def logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    ip = client_ip(request) if request is not None else ""
    audit_record(
        action="login",
        model="orgs.person",
        object_id=user.pk,
        object_repr=str(user),
        actor=Actor(id=user.pk, label=user.get_username(), ip=ip),
    )


def logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    ip = client_ip(request) if request is not None else ""
    audit_record(
        action="logout",
        model="orgs.person",
        object_id=user.pk,
        object_repr=str(user),
        actor=Actor(id=user.pk, label=user.get_username(), ip=ip),
    )


def login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    ip = client_ip(request) if request is not None else ""
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action="login_failed",
        changes={"username": username},
        actor=Actor(id=None, label="anonymous", ip=ip),
    )
