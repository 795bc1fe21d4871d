"""Apprise plugins for Zalo: OA consultation messages (`zalo://`) and ZNS templates (`zns://`).

URL shapes::

    zalo://APP_ID/USER_ID[/USER_ID…][?secret=…&refresh_token=…&oa=LABEL&openapi=BASE&oauth=BASE]
    zns://APP_ID/PHONE[/PHONE…]?template=TEMPLATE_ID[&secret=…&refresh_token=…&oa=LABEL&business=BASE&oauth=BASE]

Secrets (prefer the environment; URL values override it and are masked in every URL we print):

    DONDOC_ZALO_APP_SECRET       app secret key (header `secret_key` of the OAuth refresh)
    DONDOC_ZALO_REFRESH_TOKEN    initial refresh token, used once; later ones come from the token store
    DONDOC_ZALO_TOKEN_FILE       token store file (default $DONDOC_HOME/zalo_tokens.json)

Base URLs (production defaults; tests point them at a local fake). `?openapi=`, `?business=`,
`?oauth=` in the URL win over the environment. Plain http is accepted for loopback hosts only,
so a token never travels in clear over a network:

    DONDOC_ZALO_OPENAPI_URL      https://openapi.zalo.me           (/v3.0/oa/message/cs)
    DONDOC_ZALO_BUSINESS_URL     https://business.openapi.zalo.me  (/message/template)
    DONDOC_ZALO_OAUTH_URL        https://oauth.zaloapp.com         (/v4/oa/access_token)

Zalo answers HTTP 200 with a non-zero "error" on failure. −216/−220 (and ZNS −124) mean the
access token is bad: we refresh it (rotating the single-use refresh token, stored atomically)
and retry ONCE. The access token is also refreshed proactively when its stored expiry is near.
For ZNS the message body is a JSON object: the template_data.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from apprise.common import NotifyFormat, NotifyType
from apprise.exception import AppriseImproperlyConfigured
from apprise.locale import gettext_lazy as _
from apprise.plugins.base import NotifyBase
from apprise.url import PrivacyMode

from notifications.delivery import SendResult, register_secret
from notifications.plugins.base import DondocPlugin
from notifications.zalo_tokens import FileZaloTokenStore, ZaloTokens, ZaloTokenStore, expiry_from

OPENAPI_URL = "https://openapi.zalo.me"
BUSINESS_URL = "https://business.openapi.zalo.me"
OAUTH_URL = "https://oauth.zaloapp.com"
OA_MESSAGE_PATH = "/v3.0/oa/message/cs"
ZNS_MESSAGE_PATH = "/message/template"
OAUTH_PATH = "/v4/oa/access_token"

ENV_APP_SECRET = "DONDOC_ZALO_APP_SECRET"
ENV_REFRESH_TOKEN = "DONDOC_ZALO_REFRESH_TOKEN"
ENV_TOKEN_FILE = "DONDOC_ZALO_TOKEN_FILE"
ENV_OPENAPI_URL = "DONDOC_ZALO_OPENAPI_URL"
ENV_BUSINESS_URL = "DONDOC_ZALO_BUSINESS_URL"
ENV_OAUTH_URL = "DONDOC_ZALO_OAUTH_URL"

#: Zalo OA consultation text limit, in characters.
OA_TEXT_LIMIT = 2000
ELLIPSIS = "…"

# −124 is what the ZNS error table uses for an invalid access token.
TOKEN_ERRORS = {-216: "access token is invalid", -220: "access token has expired", -124: "access token is invalid"}
PERMANENT_ERRORS = {
    -213: "user is not following the OA",
    -230: "user has not interacted with the OA in the last 7 days",
    -108: "phone number is invalid",
}
RETRYABLE_ERRORS = {
    -211: "out of quota",
    -218: "OA reached its sending limit",
    -32: "rate limited",
    -100: "unknown error at Zalo",
}

_APP_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_USER_ID_RE = re.compile(r"^\d{1,32}$")
_TEMPLATE_ID_RE = re.compile(r"^\d{1,20}$")
_PHONE_SEPARATORS_RE = re.compile(r"[\s.\-()]")
_VN_MOBILE_RE = re.compile(r"^84[35789]\d{8}$")
_LOOPBACK_NAMES = {"localhost"}


class _Abort(Exception):
    """Internal: stop this send with the given result."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.error)
        self.result = result


def normalize_vn_phone(raw: str) -> str | None:
    """Return a Vietnamese mobile number as 84XXXXXXXXX, or None when it is not one."""
    digits = _PHONE_SEPARATORS_RE.sub("", raw or "")
    if digits.startswith("+84"):
        digits = "84" + digits[3:]
    elif digits.startswith("0084"):
        digits = "84" + digits[4:]
    elif digits.startswith("0"):
        digits = "84" + digits[1:]
    elif re.fullmatch(r"[35789]\d{8}", digits):  # leading 0 lost in a spreadsheet
        digits = "84" + digits
    return digits if _VN_MOBILE_RE.match(digits) else None


def _joins_previous(char: str) -> bool:
    """True for code points that belong to the preceding character (marks, ZWJ, selectors)."""
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in {"Mn", "Mc", "Me"}
        or char == "\u200d"
        or "\ufe00" <= char <= "\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin-tone modifiers
    )


def truncate_text(text: str, limit: int = OA_TEXT_LIMIT, ellipsis: str = ELLIPSIS) -> str:
    """NFC-normalise, then cut to at most `limit` characters ending in `ellipsis`, never mid-character."""
    text = unicodedata.normalize("NFC", text)
    if len(text) <= limit:
        return text
    cut = limit - len(ellipsis)
    while cut > 0 and (_joins_previous(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    return text[:cut].rstrip() + ellipsis


def _checked_base_url(value: str, what: str) -> str:
    """Accept https URLs, or http only towards a loopback host; strip the trailing slash."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return value.rstrip("/")
    if parts.scheme == "http" and host:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host in _LOOPBACK_NAMES
        if loopback:
            return value.rstrip("/")
    raise AppriseImproperlyConfigured(f"{what} must be https:// (http:// only for loopback): {value!r}")


def _fingerprint(secret: str) -> str:
    """A short, non-reversible tag for a seed token, to know whether it was already used."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


class _ZaloBase(DondocPlugin, NotifyBase):
    """Token handling, HTTP and error classification shared by zalo:// and zns://."""

    service_url = "https://developers.zalo.me/"
    request_rate_per_sec = 0  # a refresh + retry must not wait Apprise's default 5.5 s
    socket_read_timeout = 15.0
    title_maxlen = 0
    notify_format = NotifyFormat.TEXT
    message_path = ""
    api_env = ""
    api_default = ""
    api_param = ""

    template_tokens = dict(
        NotifyBase.template_tokens,
        **{
            "app_id": {"name": _("App ID"), "type": "string", "required": True},
            "targets": {"name": _("Targets"), "type": "list:string", "required": True},
        },
    )
    template_args = dict(
        NotifyBase.template_args,
        **{
            "to": {"alias_of": "targets"},
            "secret": {"name": _("App Secret"), "type": "string", "private": True},
            "refresh_token": {"name": _("Refresh Token"), "type": "string", "private": True},
            "oa": {"name": _("OA label"), "type": "string"},
            "oauth": {"name": _("OAuth base URL"), "type": "string"},
        },
    )

    def __init__(
        self,
        app_id: str,
        targets: list[str] | None = None,
        secret: str | None = None,
        refresh_token: str | None = None,
        oa: str | None = None,
        api_url: str | None = None,
        oauth_url: str | None = None,
        token_store: ZaloTokenStore | None = None,
        **kwargs: Any,
    ) -> None:
        """Validate ids and base URLs; secrets may come from the environment."""
        super().__init__(**kwargs)
        if not app_id or not _APP_ID_RE.match(app_id):
            raise AppriseImproperlyConfigured("an invalid Zalo app id was given")
        self.app_id_value = app_id
        self.oa = oa or None
        self.url_secret = secret or None
        self.url_refresh_token = refresh_token or None
        self.secret = self.url_secret or os.environ.get(ENV_APP_SECRET) or None
        self.seed_refresh_token = self.url_refresh_token or os.environ.get(ENV_REFRESH_TOKEN) or None
        register_secret(self.secret)
        register_secret(self.seed_refresh_token)
        self.url_api = api_url or None
        self.url_oauth = oauth_url or None
        self.api_base = _checked_base_url(
            api_url or os.environ.get(self.api_env) or self.api_default, f"Zalo {self.api_param} URL"
        )
        self.oauth_base = _checked_base_url(oauth_url or os.environ.get(ENV_OAUTH_URL) or OAUTH_URL, "Zalo OAuth URL")
        if token_store is None:
            token_file = os.environ.get(ENV_TOKEN_FILE)
            token_store = FileZaloTokenStore(Path(token_file) if token_file else None)
        self.token_store = token_store
        self.targets = self._validated_targets(targets or [])
        if not self.targets:
            given = ", ".join(repr(t) for t in targets or []) or "none"
            raise AppriseImproperlyConfigured(f"no valid {self.service_name} recipient (given: {given})")

    # --- subclass hooks -------------------------------------------------------------
    def _validated_targets(self, targets: list[str]) -> list[str]:
        """Return the usable targets (subclasses validate/normalise)."""
        raise NotImplementedError

    def _payload(self, target: str, body: str) -> dict[str, Any]:
        """Return the JSON request body for one target."""
        raise NotImplementedError

    def _message_id(self, data: Mapping[str, Any]) -> str | None:
        """Extract the provider message id from a success answer's `data`."""
        raise NotImplementedError

    # --- tokens ---------------------------------------------------------------------
    @property
    def store_key(self) -> str:
        """Token store key: one entry per app (and OA label)."""
        return f"{self.app_id_value}:{self.oa}" if self.oa else self.app_id_value

    def _current_access_token(self) -> str:
        """Return a usable access token, refreshing first when none is stored or it has expired."""
        try:
            tokens = self.token_store.load(self.store_key)
        except (OSError, ValueError) as exc:
            raise _Abort(SendResult.retry_later(f"Zalo token store unreadable: {exc}")) from None
        if tokens is not None:
            register_secret(tokens.access_token)
            register_secret(tokens.refresh_token)
            if tokens.is_fresh(datetime.now(UTC)):
                return tokens.access_token  # type: ignore[return-value]  # a refresh always stores a token or raises  # _valid() just checked it is set
        return self._refresh(stale_access_token=tokens.access_token if tokens else None)

    def _refresh(self, stale_access_token: str | None) -> str:
        """Refresh under the store lock unless another process already did; return the new token."""

        def change(current: ZaloTokens | None) -> ZaloTokens:
            now = datetime.now(UTC)
            if (
                current is not None
                and current.access_token
                and current.access_token != stale_access_token
                and current.is_fresh(now)
            ):
                return current  # someone refreshed while we waited for the lock
            seed = self.seed_refresh_token
            consumed = current.consumed_seed if current else None
            if seed and _fingerprint(seed) != consumed:
                refresh_token, consumed = seed, _fingerprint(seed)
            elif current is not None and current.refresh_token:
                refresh_token = current.refresh_token
            else:
                raise _Abort(
                    SendResult.retry_later(
                        f"no Zalo refresh token available: set {ENV_REFRESH_TOKEN} (re-authorise the OA app)"
                    )
                )
            answer = self._call_oauth(refresh_token)
            try:
                expires_at = expiry_from(answer.get("expires_in"), now)
            except (TypeError, ValueError):
                expires_at = None  # unknown lifetime: used until Zalo answers −220
            return ZaloTokens(
                access_token=answer["access_token"],
                refresh_token=answer["refresh_token"],
                expires_at=expires_at,
                consumed_seed=consumed,
            )

        try:
            tokens = self.token_store.update(self.store_key, change)
        except (OSError, ValueError) as exc:
            raise _Abort(SendResult.retry_later(f"Zalo token store unusable: {exc}")) from None
        return tokens.access_token  # type: ignore[return-value]  # a refresh always stores a token or raises

    def _call_oauth(self, refresh_token: str) -> dict[str, str]:
        """POST the refresh request; return {access_token, refresh_token, expires_in} or abort."""
        if not self.secret:
            raise _Abort(SendResult.permanent(f"Zalo app secret not configured ({ENV_APP_SECRET})"))
        self.logger.info("Refreshing the Zalo access token for app %s", self.app_id_value)
        try:
            response = requests.post(
                self.oauth_base + OAUTH_PATH,
                headers={"secret_key": self.secret},
                data={"refresh_token": refresh_token, "app_id": self.app_id_value, "grant_type": "refresh_token"},
                timeout=self.request_timeout,
                verify=self.verify_certificate,
                allow_redirects=False,
            )
            answer = response.json()
        except requests.RequestException as exc:
            raise _Abort(SendResult.retry_later(f"Zalo token refresh failed: {type(exc).__name__}")) from None
        except ValueError:
            raise _Abort(SendResult.retry_later(f"Zalo token refresh: HTTP {response.status_code}, not JSON")) from None
        if not isinstance(answer, dict) or not answer.get("access_token") or not answer.get("refresh_token"):
            reason = ""
            if isinstance(answer, dict):
                reason = str(answer.get("error_description") or answer.get("error_name") or answer.get("error") or "")
            # Retryable: once ops re-seed DONDOC_ZALO_REFRESH_TOKEN, pending messages go out by themselves.
            raise _Abort(
                SendResult.retry_later(
                    f"Zalo token refresh rejected ({reason or 'no token in answer'}); "
                    f"re-authorise the OA app and set {ENV_REFRESH_TOKEN}"
                )
            )
        register_secret(answer["access_token"])
        register_secret(answer["refresh_token"])
        return answer

    # --- sending --------------------------------------------------------------------
    def _post(self, access_token: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST one message; return (Zalo error code, answer) or abort on HTTP/transport trouble."""
        try:
            response = requests.post(
                self.api_base + self.message_path,
                headers={"access_token": access_token, "Content-Type": "application/json"},
                data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                timeout=self.request_timeout,
                verify=self.verify_certificate,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise _Abort(SendResult.retry_later("Zalo request timed out")) from None
        except requests.RequestException as exc:
            raise _Abort(SendResult.retry_later(f"Zalo connection failed: {type(exc).__name__}")) from None
        if response.status_code != 200:
            detail = f"Zalo answered HTTP {response.status_code}"
            if response.status_code == 429 or response.status_code >= 500:
                raise _Abort(SendResult.retry_later(detail))
            raise _Abort(SendResult.permanent(f"{detail} (check the API base URL)"))
        try:
            answer = response.json()
        except ValueError:
            raise _Abort(SendResult.retry_later("Zalo answer is not JSON")) from None
        if not isinstance(answer, dict):
            raise _Abort(SendResult.retry_later("Zalo answer is not a JSON object"))
        try:
            code = int(answer.get("error", -100))
        except (TypeError, ValueError):
            code = -100
        return code, answer

    def _classify(self, code: int, answer: Mapping[str, Any]) -> SendResult:
        """Turn a Zalo answer into a SendResult."""
        message = str(answer.get("message") or "")
        if code == 0:
            data = answer.get("data")
            return SendResult.delivered(self._message_id(data if isinstance(data, Mapping) else {}))
        label = f"Zalo error {code}: {message}".rstrip(": ")
        if code in PERMANENT_ERRORS:
            return SendResult.permanent(f"{label} ({PERMANENT_ERRORS[code]})")
        if code in RETRYABLE_ERRORS:
            return SendResult.retry_later(f"{label} ({RETRYABLE_ERRORS[code]})")
        if code in TOKEN_ERRORS:
            return SendResult.retry_later(f"{label} ({TOKEN_ERRORS[code]}, even after a refresh)")
        # Unlisted codes are request/permission problems (bad template, params, OA setup).
        return SendResult.permanent(label)

    def _send_one(self, target: str, body: str) -> SendResult:
        """Send to one target, refreshing the token and retrying once on a token error."""
        try:
            payload = self._payload(target, body)
            token = self._current_access_token()
            code, answer = self._post(token, payload)
            if code in TOKEN_ERRORS:
                self.logger.info("Zalo error %s: refreshing the access token and retrying once", code)
                token = self._refresh(stale_access_token=token)
                code, answer = self._post(token, payload)
            return self._classify(code, answer)
        except _Abort as abort:
            return abort.result

    def send(
        self,
        body: str,
        title: str = "",
        notify_type: NotifyType = NotifyType.INFO,
        **kwargs: Any,
    ) -> bool:
        """Send to every target; record one combined SendResult."""
        results = [(target, self._send_one(target, body)) for target in self.targets]
        failures = [(t, r) for t, r in results if not r.ok]
        for target, result in failures:
            self.logger.warning("%s to %s failed: %s", self.service_name, target, result.error)
        if not failures:
            ids = [r.provider_message_id for _, r in results if r.provider_message_id]
            return self.record_result(SendResult.delivered(",".join(ids) or None))
        error = "; ".join(f"{t}: {r.error}" for t, r in failures) if len(results) > 1 else failures[0][1].error
        retryable = all(r.retryable for _, r in failures)
        combined = SendResult.retry_later(error or "") if retryable else SendResult.permanent(error or "")
        return self.record_result(combined)

    # --- URL round trip ---------------------------------------------------------------
    @property
    def url_identifier(self) -> tuple[str, str, str | None]:
        """Identify by app and OA label, never by recipient."""
        return (self.protocol, self.app_id_value, self.oa)  # type: ignore[return-value]  # Apprise declares a narrower tuple than it accepts

    def _url_params(self, privacy: bool) -> dict[str, str]:
        """Common query parameters (secrets masked when privacy is on)."""
        params: dict[str, str] = {}
        if self.url_secret:
            params["secret"] = self.pprint(self.url_secret, privacy, mode=PrivacyMode.Secret, safe="")
        if self.url_refresh_token:
            params["refresh_token"] = self.pprint(self.url_refresh_token, privacy, mode=PrivacyMode.Secret, safe="")
        if self.oa:
            params["oa"] = self.oa
        if self.url_api:
            params[self.api_param] = self.url_api
        if self.url_oauth:
            params["oauth"] = self.url_oauth
        return params

    def __len__(self) -> int:
        """Number of recipients."""
        return len(self.targets)

    @classmethod
    def _parse_common(cls, url: str) -> dict[str, Any] | None:
        """Parse the parts shared by both schemas."""
        results = NotifyBase.parse_url(url, verify_host=False)
        if not results:
            return results
        qsd = results["qsd"]
        results["app_id"] = cls.unquote(results["host"] or "")
        targets = cls.split_path(results["fullpath"])
        if qsd.get("to"):
            targets += [t for t in re.split(r"[\s,]+", qsd["to"]) if t]
        results["targets"] = targets
        results["secret"] = qsd.get("secret")
        results["refresh_token"] = qsd.get("refresh_token") or qsd.get("refresh")
        results["oa"] = qsd.get("oa")
        results["api_url"] = qsd.get(cls.api_param)
        results["oauth_url"] = qsd.get("oauth")
        return results


class NotifyZaloOA(_ZaloBase):
    """Zalo Official Account consultation (customer-service) text messages."""

    service_name = _("Zalo OA")
    protocol = "zalo"
    setup_url = "https://developers.zalo.me/docs/official-account/tin-nhan/tin-tu-van"
    message_path = OA_MESSAGE_PATH
    api_env = ENV_OPENAPI_URL
    api_default = OPENAPI_URL
    api_param = "openapi"
    templates = ("{schema}://{app_id}/{targets}",)
    template_args = dict(_ZaloBase.template_args, openapi={"name": _("Open API base URL"), "type": "string"})

    def _validated_targets(self, targets: list[str]) -> list[str]:
        """Keep numeric Zalo user ids (as followed by the OA)."""
        valid = [t for t in targets if _USER_ID_RE.match(t)]
        for dropped in set(targets) - set(valid):
            self.logger.warning("Dropped invalid Zalo user id %r", dropped)
        return valid

    def _payload(self, target: str, body: str) -> dict[str, Any]:
        """Consultation message body; text cut to Zalo's 2000-character limit."""
        return {"recipient": {"user_id": target}, "message": {"text": truncate_text(body)}}

    def _message_id(self, data: Mapping[str, Any]) -> str | None:
        """OA answers carry data.message_id."""
        value = data.get("message_id")
        return str(value) if value is not None else None

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        """Rebuild the URL with secrets masked under privacy."""
        params = self._url_params(privacy)
        params.update(self.url_parameters(privacy=privacy, *args, **kwargs))
        query = f"?{self.urlencode(params)}" if params else ""
        return f"{self.protocol}://{self.app_id_value}/{'/'.join(self.targets)}{query}"

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        """Parse zalo://APP_ID/USER_ID…"""
        return NotifyZaloOA._parse_common(url)


class NotifyZaloZNS(_ZaloBase):
    """Zalo Notification Service template messages, addressed by phone number."""

    service_name = _("Zalo ZNS")
    protocol = "zns"
    setup_url = "https://developers.zalo.me/docs/zalo-notification-service"
    message_path = ZNS_MESSAGE_PATH
    api_env = ENV_BUSINESS_URL
    api_default = BUSINESS_URL
    api_param = "business"
    # The body is JSON template_data: keep Apprise from prepending a title to it (the title is ignored).
    title_maxlen = 250
    templates = ("{schema}://{app_id}/{targets}",)
    template_args = dict(
        _ZaloBase.template_args,
        business={"name": _("Business API base URL"), "type": "string"},
        template={"name": _("Template ID"), "type": "string", "map_to": "template_id", "required": True},
    )

    def __init__(self, app_id: str, template_id: str | None = None, **kwargs: Any) -> None:
        """Also require a numeric ZNS template id."""
        super().__init__(app_id, **kwargs)
        if not template_id or not _TEMPLATE_ID_RE.match(str(template_id)):
            raise AppriseImproperlyConfigured("a ZNS URL needs template=NUMERIC_TEMPLATE_ID")
        self.template_id = str(template_id)

    def _validated_targets(self, targets: list[str]) -> list[str]:
        """Normalise Vietnamese mobile numbers to 84XXXXXXXXX; refuse the rest."""
        valid: list[str] = []
        for raw in targets:
            phone = normalize_vn_phone(raw)
            if phone is None:
                self.logger.warning("Dropped invalid Vietnamese mobile number %r", raw)
            elif phone not in valid:
                valid.append(phone)
        return valid

    def _payload(self, target: str, body: str) -> dict[str, Any]:
        """ZNS body: the message body must be a JSON object of template_data."""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _Abort(SendResult.permanent("ZNS message body must be a JSON object of template_data"))
        payload: dict[str, Any] = {"phone": target, "template_id": self.template_id, "template_data": data}
        if self.delivery_context is not None:
            payload["tracking_id"] = self.delivery_context.idempotency_key
        return payload

    def _message_id(self, data: Mapping[str, Any]) -> str | None:
        """ZNS answers carry data.msg_id."""
        value = data.get("msg_id")
        return str(value) if value is not None else None

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        """Rebuild the URL with secrets masked under privacy."""
        params = {"template": self.template_id}
        params.update(self._url_params(privacy))
        params.update(self.url_parameters(privacy=privacy, *args, **kwargs))
        return f"{self.protocol}://{self.app_id_value}/{'/'.join(self.targets)}?{self.urlencode(params)}"

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        """Parse zns://APP_ID/PHONE…?template=ID"""
        results = NotifyZaloZNS._parse_common(url)
        if results:
            results["template_id"] = results["qsd"].get("template")
        return results
