"""The channels' providers: email through Django's email framework, SMS through one interface.

Every provider answers a send with a ``SendResult``: sent (with the provider's id), a temporary
failure (retried with backoff), a permanent one (the row fails, with the provider's answer for the
admins), or ``uncertain``: the request may have reached the provider but no answer came back (a
timeout, a dropped connection), so it may have been sent. An uncertain send is never repeated
blindly: the row stays "sending" and is resolved like a worker that died mid-send
(supervision.notifications.delivery), by asking the provider where it can say (``lookup``).

SMS backends (settings.SMS_BACKEND): ``aliyun`` (Alibaba Cloud SMS, dysmsapi 2017-05-25, the RPC
API signed with HMAC-SHA1), ``console`` (logs the text), ``file`` (appends JSON lines to
SMS_FILE_PATH; development and tests), ``none`` (no SMS at all).
"""

import base64
import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from http.client import HTTPException
from pathlib import Path
from urllib import error, parse, request
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, mailers
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_id: str = ""
    answer: str = ""
    permanent: bool = False
    uncertain: bool = False
    # A provider that throttles says how long to wait; None: the usual backoff.
    retry_after: timedelta | None = None


class Lookup(Enum):
    SENT = "sent"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


class Provider:
    """One channel's way out. ``can_lookup``: it can say whether a message with a given key was
    accepted, so that an in-doubt send is resolved instead of repeated or given up."""

    name = "provider"
    can_lookup = False

    def send(self, *, to: str, subject: str, text: str, language: str, key: str) -> SendResult:
        raise NotImplementedError

    def lookup(self, *, to: str, key: str, since: datetime) -> tuple[Lookup, str]:
        return Lookup.UNKNOWN, "this provider cannot be asked"


# --- email ---------------------------------------------------------------------------------------------


class Email(Provider):
    """Django's email framework: the default mailer (settings.MAILERS: SMTP, or django-anymail's
    backend for a provider's API, docs/DEPLOY.md). The Message-ID is the row's key, so that a copy
    that did go out twice would be recognised as one by mail clients; SMTP cannot be asked whether
    a message arrived."""

    name = "email"

    def send(self, *, to, subject, text, language, key) -> SendResult:
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
        message = EmailMessage(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={"Message-ID": f"<{key}@{domain}>", "Content-Language": language},
        )
        connection = mailers.default
        try:
            connection.open()
        except Exception as exc:
            # Nothing was sent on a connection that did not open: a plain retry.
            return SendResult(ok=False, answer=f"could not connect: {type(exc).__name__}: {exc}"[:2000])
        try:
            connection.send_messages([message])
        except TimeoutError as exc:
            # The message may have been accepted before the answer was lost.
            return SendResult(ok=False, answer=f"timeout: {exc}", uncertain=True)
        except Exception as exc:
            answer = f"{type(exc).__name__}: {exc}"
            # Refused recipients (5xx for this address) will be refused again.
            permanent = type(exc).__name__ in {"SMTPRecipientsRefused", "AnymailRecipientsRefused"}
            return SendResult(ok=False, answer=answer[:2000], permanent=permanent)
        finally:
            connection.close()
        anymail = getattr(message, "anymail_status", None)
        provider_id = (getattr(anymail, "message_id", None) or "") if anymail else ""
        return SendResult(ok=True, provider_id=str(provider_id)[:100], answer="accepted")


# --- SMS ------------------------------------------------------------------------------------------------


class ConsoleSms(Provider):
    name = "console"

    def send(self, *, to, subject, text, language, key) -> SendResult:
        logger.info("SMS to %s (%s): %s", to, key, text)
        return SendResult(ok=True, provider_id=key, answer="logged")


class FileSms(Provider):
    """One JSON line per message in SMS_FILE_PATH: what a phone would have received."""

    name = "file"
    can_lookup = True

    def __init__(self, path: Path):
        self.path = Path(path)

    def send(self, *, to, subject, text, language, key) -> SendResult:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = {"to": to, "text": text, "language": language, "key": key, "at": timezone.now().isoformat()}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return SendResult(ok=True, provider_id=key, answer="written")

    def lookup(self, *, to, key, since) -> tuple[Lookup, str]:
        if not self.path.exists():
            return Lookup.NOT_SENT, "no file"
        with self.path.open(encoding="utf-8") as lines:
            found = any(json.loads(line).get("key") == key for line in lines if line.strip())
        return (Lookup.SENT, "found in file") if found else (Lookup.NOT_SENT, "not in file")


def _percent(value: str) -> str:
    # RFC 3986, as Alibaba Cloud's signature version 1.0 requires: "~" stays, space is %20.
    return parse.quote(str(value), safe="~")


def aliyun_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Signature version 1.0 of Alibaba Cloud's RPC APIs: HMAC-SHA1 with key ``secret + "&"`` over
    METHOD & %2F & the percent-encoded, sorted, percent-encoded query; base64."""
    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{_percent('/')}&{_percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Codes of Alibaba Cloud SMS worth trying again later: throttling (per number: 1 a minute, 5 an
# hour, 10 a day by default) and the service's own trouble. Anything else not "OK" (a bad number, a
# template or signature not approved, bad credentials) will be refused again: permanent.
ALIYUN_RETRY = {
    "isv.BUSINESS_LIMIT_CONTROL": timedelta(hours=1),
    "Throttling.User": None,
    "Throttling.Api": None,
    "Throttling": None,
    "ServiceUnavailable": None,
    "InternalError": None,
    "isp.SYSTEM_ERROR": None,
    "isp.GATEWAY_ERROR": None,
}
BEIJING = ZoneInfo("Asia/Shanghai")


class AliyunSms(Provider):
    """Alibaba Cloud SMS (短信服务): SendSms with one approved template per language whose one
    variable takes our short text (SMS_ALIYUN_TEMPLATES, SMS_ALIYUN_TEMPLATE_PARAM), and the row's
    key as OutId; QuerySendDetails finds a message by that OutId when a send was in doubt."""

    name = "aliyun"
    can_lookup = True
    VERSION = "2017-05-25"

    def __init__(self, *, endpoint, access_key_id, access_key_secret, sign_name, templates, param, timeout):
        if not (access_key_id and access_key_secret and sign_name and templates):
            raise ImproperlyConfigured(
                "SMS_BACKEND=aliyun needs SMS_ALIYUN_ACCESS_KEY_ID, SMS_ALIYUN_ACCESS_KEY_SECRET, "
                "SMS_ALIYUN_SIGN_NAME and SMS_ALIYUN_TEMPLATES"
            )
        self.endpoint = endpoint
        self.key_id, self.secret = access_key_id, access_key_secret
        self.sign_name, self.templates, self.param = sign_name, templates, param
        self.timeout = timeout

    def _call(self, action: str, params: dict[str, str]) -> tuple[int | None, dict, str]:
        """POST one signed request. Returns (HTTP status or None when no answer came, JSON, raw text)."""
        signed = {
            "AccessKeyId": self.key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(tz=ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": self.VERSION,
            **params,
        }
        signed["Signature"] = aliyun_signature("POST", signed, self.secret)
        body = parse.urlencode(signed, quote_via=parse.quote).encode()
        req = request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with request.urlopen(req, timeout=self.timeout) as response:
                status, raw = response.status, response.read().decode("utf-8", "replace")
        except error.HTTPError as exc:
            status, raw = exc.code, exc.read().decode("utf-8", "replace")
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        return status, data if isinstance(data, dict) else {}, raw[:2000]

    def send(self, *, to, subject, text, language, key) -> SendResult:
        template = self.templates.get(language) or self.templates.get(language.split("-")[0])
        template = template or next(iter(self.templates.values()))
        params = {
            "PhoneNumbers": to,
            "SignName": self.sign_name,
            "TemplateCode": template,
            "TemplateParam": json.dumps({self.param: text}, ensure_ascii=False),
            "OutId": key,
        }
        try:
            status, data, raw = self._call("SendSms", params)
        except error.URLError as exc:
            # urllib wraps what fails while connecting and sending the request: nothing was accepted.
            return SendResult(ok=False, answer=f"could not send: {exc.reason}")
        except (TimeoutError, ConnectionError, HTTPException) as exc:
            # The request went out and its answer did not come back: perhaps sent.
            return SendResult(ok=False, answer=f"no answer: {type(exc).__name__}: {exc}", uncertain=True)
        code = str(data.get("Code", ""))
        if status == 200 and code == "OK":
            return SendResult(ok=True, provider_id=str(data.get("BizId", ""))[:100], answer=raw)
        answer = f"HTTP {status}: {raw}"
        if status >= 500 or status == 429 or code in ALIYUN_RETRY:
            return SendResult(ok=False, answer=answer, retry_after=ALIYUN_RETRY.get(code))
        return SendResult(ok=False, answer=answer, permanent=True)

    def lookup(self, *, to, key, since) -> tuple[Lookup, str]:
        """Was a message with OutId ``key`` accepted for ``to`` since ``since``? QuerySendDetails
        lists one number's messages of one day (Beijing time), 50 a page."""
        days = {timezone.localtime(since, BEIJING).date(), timezone.localtime(timezone.now(), BEIJING).date()}
        for day in sorted(days):
            page = 1
            while True:
                params = {
                    "PhoneNumber": to,
                    "SendDate": f"{day:%Y%m%d}",
                    "PageSize": "50",
                    "CurrentPage": str(page),
                }
                try:
                    status, data, raw = self._call("QuerySendDetails", params)
                except (OSError, HTTPException) as exc:
                    return Lookup.UNKNOWN, f"lookup failed: {exc}"
                if status != 200 or data.get("Code") != "OK":
                    return Lookup.UNKNOWN, f"lookup HTTP {status}: {raw}"
                details = (data.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
                for detail in details:
                    if detail.get("OutId") == key:
                        return Lookup.SENT, json.dumps(detail, ensure_ascii=False)[:2000]
                if len(details) < 50 or page >= 20:
                    break
                page += 1
        return Lookup.NOT_SENT, "no message with this OutId"


def _templates(raw: str) -> dict[str, str]:
    """ "zh-hans=SMS_1,en=SMS_2" -> {"zh-hans": "SMS_1", "en": "SMS_2"}."""
    pairs = [part.split("=", 1) for part in raw.split(",") if part.strip()]
    if any(len(pair) != 2 or not pair[1].strip() for pair in pairs):
        raise ImproperlyConfigured(f"SMS_ALIYUN_TEMPLATES: expected language=TemplateCode,..., got {raw!r}")
    return {language.strip(): code.strip() for language, code in pairs}


def sms_provider() -> Provider | None:
    """The SMS provider settings.SMS_BACKEND names; None when SMS is off."""
    backend = settings.SMS_BACKEND
    if backend == "none":
        return None
    if backend == "console":
        return ConsoleSms()
    if backend == "file":
        return FileSms(settings.SMS_FILE_PATH)
    if backend == "aliyun":
        return AliyunSms(
            endpoint=settings.SMS_ALIYUN_ENDPOINT,
            access_key_id=settings.SMS_ALIYUN_ACCESS_KEY_ID,
            access_key_secret=settings.SMS_ALIYUN_ACCESS_KEY_SECRET,
            sign_name=settings.SMS_ALIYUN_SIGN_NAME,
            templates=_templates(settings.SMS_ALIYUN_TEMPLATES),
            param=settings.SMS_ALIYUN_TEMPLATE_PARAM,
            timeout=settings.SMS_TIMEOUT,
        )
    raise ImproperlyConfigured(f"SMS_BACKEND: expected none, console, file or aliyun, got {backend!r}")


def provider_for(channel: str) -> Provider | None:
    return Email() if channel == "email" else sms_provider()
