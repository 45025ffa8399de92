"""Chinese and English for the web pages: Babel catalogs, the language choice, and Jinja2's i18n extension.

The catalogs are the ``.po`` files under ``api/locale/<locale>/LC_MESSAGES/messages.po``, read once at
startup into in-memory :class:`babel.support.Translations` (no compiled ``.mo`` is committed, so none goes
stale). The language of a request: the ``lang`` cookie (set by ``/lang/{code}``), else the
``Accept-Language`` header (Babel's ``negotiate_locale``), else the page's default (Chinese for leaders and
the portal, English for the rest). Templates mark text with ``{% trans %}`` / ``_()``; scripts with ``t()``,
their translations embedded in the page as JSON (:func:`js_messages`).

Catalog upkeep (the ``pybabel`` command line, from the repository root)::

    pybabel extract -F babel.cfg -k N_ -k t --no-location --sort-output -o api/locale/messages.pot .
    pybabel update -i api/locale/messages.pot -d api/locale -D messages --no-location --width 120

then translate the new entries of ``api/locale/zh_CN/LC_MESSAGES/messages.po`` (clear any ``fuzzy`` flag);
``tests/api/i18n`` fails while a string has no Chinese.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import negotiate_locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from jinja2 import Environment
from starlette.requests import Request

LOCALE_DIR = Path(__file__).parent / "locale"
STATIC_DIR = Path(__file__).parent / "static"
DOMAIN = "messages"
ENGLISH = "en"
CHINESE = "zh_CN"
SUPPORTED = (CHINESE, ENGLISH)
LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
#: ``<html lang>`` values (BCP 47) of the supported locales
HTML_LANG = {CHINESE: "zh-CN", ENGLISH: "en"}
#: what a ``lang`` cookie or ``/lang/{code}`` may say, folded to lower case with ``-``
ALIASES = {"zh-cn": CHINESE, "zh": CHINESE, "zh-hans": CHINESE, "zh-hans-cn": CHINESE, "en": ENGLISH}
DATETIME_PATTERN = "yyyy-MM-dd HH:mm:ss"

_current: ContextVar[str] = ContextVar("liveslice_locale", default=ENGLISH)


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated later, where it is shown."""
    return message


# --- catalogs -------------------------------------------------------------------------------


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog of ``locale`` read from its ``.po`` file (cached); English is the msgids themselves."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale not in SUPPORTED or not po.is_file():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # fuzzy entries stay untranslated
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(message: str) -> str:
    """``message`` in the current request's language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Render (and translate) in ``locale`` inside the block."""
    token = _current.set(locale if locale in SUPPORTED else ENGLISH)
    try:
        yield
    finally:
        _current.reset(token)


# --- choosing the language ------------------------------------------------------------------


def parse_code(code: str | None) -> str | None:
    """``zh-CN``, ``zh_cn``, ``zh``, ``en``, ``en-US`` ... as a supported locale; anything else None."""
    if not code:
        return None
    folded = code.strip().lower().replace("_", "-")
    if folded in ALIASES:
        return ALIASES[folded]
    return ENGLISH if folded.startswith("en-") else None


def accept_language(header: str) -> list[str]:
    """The tags of an ``Accept-Language`` header, best first (``q=0`` dropped), as ``ll_CC``."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag.strip().replace("-", "_")))
    return [tag for _q, _i, tag in sorted(ranked)]


def choose_locale(request: Request, default: str = ENGLISH) -> str:
    """The ``lang`` cookie, else the best ``Accept-Language`` match, else ``default``."""
    chosen = parse_code(request.cookies.get(LANG_COOKIE))
    if chosen:
        return chosen
    header = request.headers.get("accept-language", "")
    if header:
        preferred = accept_language(header)
        got = negotiate_locale(preferred, list(SUPPORTED), sep="_")
        if got in SUPPORTED:
            return got
        if any(tag.lower().startswith("zh") for tag in preferred[:1]):
            return CHINESE  # zh-TW, zh-HK: Chinese characters read better than English
    return default if default in SUPPORTED else ENGLISH


# --- status words -----------------------------------------------------------------------------

#: the words the pages show for stored status and kind codes (the codes stay in class names and the API)
STATUS_LABELS = {
    "probing": N_("probing"),
    "ready": N_("ready"),
    "failed": N_("failed"),
    "queued": N_("queued"),
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "cancelled": N_("cancelled"),
    "pending": N_("pending"),
    "skipped": N_("skipped"),
    "lost": N_("lost"),
    "rendering": N_("rendering"),
    "process": N_("process"),
    "product": N_("product"),
    "render": N_("render"),
    "analyze": N_("analyze"),
    "probe": N_("probe"),
    # publications, reviews and channel targets
    "scheduled": N_("scheduled"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "retrying": N_("retrying"),
    "unknown": N_("unknown"),
    "draft": N_("draft"),
    "approved": N_("approved"),
    "active": N_("active"),
    "disabled": N_("disabled"),
}


def status_label(code: str | None) -> str:
    """A status or kind code in the current language (unknown codes as they are)."""
    if not code:
        return "—"
    label = STATUS_LABELS.get(code)
    return gettext(label) if label else code


def fmt_eta(seconds: float | None) -> str:
    """Time left as people say it: ``under a minute``, ``about 4 min``, ``about 1 h 05 min``; unknown: —."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 60:
        return gettext("under a minute")
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return gettext("about %(minutes)s min") % {"minutes": minutes}
    return gettext("about %(hours)s h %(minutes)s min") % {"hours": minutes // 60, "minutes": f"{minutes % 60:02d}"}


# --- formatting (Jinja filters; the current locale, the settings' time zone) ----------------


def fmt_datetime(value: datetime | None, tz: str = "UTC") -> str:
    """A stored time (naive: UTC) in ``tz``, e.g. ``2024-05-01 20:00:00``, in the current locale's digits."""
    if value is None:
        return "—"
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware, DATETIME_PATTERN, tzinfo=zone, locale=_current.get())


def fmt_number(value: float | int | None, places: int | None = None) -> str:
    """A number with the locale's grouping (``12,345``); ``places`` fixes the decimals."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(value, format=pattern, locale=_current.get())


# --- scripts ----------------------------------------------------------------------------------


@cache
def script_msgids() -> tuple[str, ...]:
    """Every ``t("...")`` string of the pages' scripts, extracted with Babel's JavaScript extractor."""
    from babel.messages.extract import extract_from_file

    found: dict[str, None] = {}
    for script in sorted(STATIC_DIR.glob("*.js")):
        for _line, message, _comments, _context in extract_from_file("javascript", script, keywords={"t": None}):
            if isinstance(message, str):
                found[message] = None
    return tuple(found)


@cache
def _script_catalog(locale: str) -> dict[str, str]:
    catalog = translations(locale)
    msgids = [*script_msgids(), *STATUS_LABELS]  # the job page's script shows status words too
    return {msgid: text for msgid in msgids if (text := catalog.gettext(msgid)) != msgid}


def js_messages() -> dict[str, str]:
    """The scripts' strings in the current language (only those that differ from the English msgid)."""
    return _script_catalog(_current.get())


# --- Jinja ------------------------------------------------------------------------------------


def install(env: Environment) -> None:
    """Add ``jinja2.ext.i18n`` (new-style gettext: autoescaped, ``%(name)s`` placeholders) and the filters."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(localtime=fmt_datetime, number=fmt_number, status=status_label)
    env.globals.update(js_messages=js_messages, current_locale=current_locale, html_lang=html_lang)


def html_lang() -> str:
    return HTML_LANG.get(_current.get(), "en")
