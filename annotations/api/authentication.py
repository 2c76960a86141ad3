"""Token authentication for scripts, in one query composed once per process."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from annotations import sql


@cache
def _token_sql() -> str:
    user = get_user_model()
    return (
        f"SELECT {sql.columns(Token, 't')}, {sql.columns(user, 'u')} "
        f"FROM {sql.table(Token)} t JOIN {sql.table(user)} u "
        f"ON u.{sql.quote('id')} = t.{sql.quote('user_id')} "
        f"WHERE t.{sql.quote('key')} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>`` with the same answers and messages; the user
    is read with hand-composed SQL because every script request pays for it."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        row = sql.fetch_one(_token_sql(), [key])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = sql.model_from_row(Token, row[: sql.width(Token)])
        user = sql.model_from_row(get_user_model(), row[sql.width(Token) :])
        token.user = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (user, token)
