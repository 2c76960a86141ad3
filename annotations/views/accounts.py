"""Signing in: who the caller is on the network, and what a locked-out caller sees."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


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
