"""Signing in (who the caller is on the network, what a locked-out caller sees) and the
account page, where people manage their own API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from annotations.models import ApiToken
from annotations.services import tokens as token_service
from annotations.services.seeds import DEMO_ACCOUNTS


class WorkbenchLoginView(LoginView):
    """Django's sign-in page; in the demo it also says where its passwords were printed."""

    template_name = "annotations/login.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["demo"] = (
            settings.DEBUG
            and User.objects.filter(username__in=[name for name, _ in DEMO_ACCOUNTS]).exists()
        )
        return context


def client_address(request: HttpRequest) -> str:
    """The caller's IP address, for counting failed sign-ins per address.

    Behind ``PROXY_COUNT`` proxies that each append to X-Forwarded-For, it is the entry
    the outermost of them wrote (entries further left come from the client and can be
    made up); with no proxy, the peer's address.
    """
    proxies = settings.PROXY_COUNT
    if proxies:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        hops = [hop.strip() for hop in forwarded if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """Too many failed sign-ins for this account or from this address: 429, when to retry."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request,
        "annotations/login.html",
        {"locked_out_minutes": max(1, seconds // 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """The caller's API tokens: make one, rotate one, revoke one. A new key is shown in
    the answer to the POST that made it, and never again."""
    user = request.user
    assert isinstance(user, User)  # login_required
    new_key = ""
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "create":
                _, new_key = token_service.create_token(
                    user=user, name=request.POST.get("name", "")
                )
            elif action in ("rotate", "revoke"):
                token_id = int(request.POST.get("token", ""))
                if action == "rotate":
                    _, new_key = token_service.rotate_token(user=user, token_id=token_id)
                else:
                    token_service.revoke_token(user=user, token_id=token_id)
                    messages.success(request, "The token is revoked: its key no longer works.")
                    return redirect("account")
            else:
                errors.append("Unknown action.")
        except ValidationError as exc:
            errors.extend(exc.messages)
        except (ValueError, ApiToken.DoesNotExist):
            raise Http404("No such token.") from None
    return render(
        request,
        "annotations/account.html",
        {
            "tokens": ApiToken.objects.filter(user=user),
            "new_key": new_key,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


urlpatterns = [path("account/", account, name="account")]
