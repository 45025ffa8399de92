"""The catalogs: every string the templates, page code and scripts mark has a Chinese translation, none
fuzzy, and the placeholders of each translation are the msgid's own."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api import i18n

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted() -> set[str | tuple[str, ...]]:
    """What ``pybabel extract -F babel.cfg -k N_ -k t`` finds, as msgids (plurals as tuples)."""
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "t": None}
    found: set[str | tuple[str, ...]] = set()
    with (ROOT / "babel.cfg").open() as cfg:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(cfg)
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def catalog(locale: str):
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def test_every_marked_string_has_a_chinese_translation_none_fuzzy() -> None:
    zh = catalog("zh_CN")
    ids = extracted()
    assert len(ids) > 200  # templates, scripts and status words were all read
    known = {m.id for m in zh if m.id}
    assert not ids - known, (
        f"not in the catalog (run the pybabel commands in api/i18n.py): {sorted(map(str, ids - known))}"
    )
    untranslated = [m.id for m in zh if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
    assert not untranslated
    assert not [m.id for m in zh if m.id and m.fuzzy]
    assert not zh.fuzzy


def test_translations_keep_the_placeholders_and_are_chinese() -> None:
    for message in catalog("zh_CN"):
        if not message.id:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(source)), message.id
            assert re.search(r"[\u4e00-\u9fff]", text) or text == source or "/" in text, (message.id, text)


def test_the_catalogs_are_read_from_the_po_files() -> None:
    assert i18n.translations("zh_CN").gettext("Sign in") == "登录"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
    assert i18n.translations("xx").gettext("Sign in") == "Sign in"
    with i18n.use_locale("zh_CN"):
        assert i18n.gettext("Copied") == "已复制"
        assert i18n.js_messages()["Pause"] == "暂停"
        assert i18n.status_label("ready") == "已就绪"
    with i18n.use_locale("en"):
        assert i18n.js_messages() == {}
        assert i18n.status_label("ready") == "ready"
