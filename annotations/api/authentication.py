"""Token authentication for scripts: DRF's, against the workbench's own tokens (stored as
digests, ``ApiToken``), with the token and its user read in one hand-composed query
(``annotations.access``), because every script request pays for it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from annotations.access import token_with_user
from annotations.models import ApiToken


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` with DRF's answers and messages; only the lookup
    differs from DRF's ``authenticate_credentials``."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, ApiToken]:
        token = token_with_user(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
