"""The Simplified Chinese catalogue is complete, consistent, compiled, and served by default."""

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
LC_MESSAGES = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def translations(self) -> list[str]:
        if self.msgid_plural is None:
            return [self.msgstr]
        return [self.msgstr_plural[k] for k in sorted(self.msgstr_plural)] or [""]

    def __str__(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: comments, flags, msgctxt, msgid(_plural), msgstr([n]), continuations."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None  # the keyword the next continuation extends

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            current, target = None, None
            continue
        if line.startswith("#~"):  # obsolete entry: not part of the catalogue
            continue
        if line.startswith("#,"):
            if current is None or target is not None:
                current, target = Entry(line=lineno), None
                entries.append(current)
            current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            assert current is not None and target is not None, f"stray string at line {lineno}"
            kind, index = target
            value = _unquote(line)
            if kind == "msgstr_plural":
                current.msgstr_plural[index] += value
            else:
                setattr(current, kind, (getattr(current, kind) or "") + value)
            continue
        keyword, _, rest = line.partition(" ")
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if keyword in ("msgctxt", "msgid"):
            if current is None or (target is not None and target[0].startswith("msgstr")):
                current = Entry(line=lineno)
                entries.append(current)
            setattr(current, keyword, _unquote(rest))
            target = (keyword, None)
        elif keyword in ("msgid_plural", "msgstr"):
            assert current is not None, f"{keyword} without msgid at line {lineno}"
            setattr(current, keyword, _unquote(rest))
            target = (keyword, None)
        elif match:
            assert current is not None, f"{keyword} without msgid at line {lineno}"
            current.msgstr_plural[int(match.group(1))] = _unquote(rest)
            target = ("msgstr_plural", int(match.group(1)))
        else:
            raise AssertionError(f"cannot parse line {lineno}: {raw!r}")
    return entries


def _catalogue() -> tuple[Entry, list[Entry]]:
    entries = parse_po(PO_FILE)
    header = entries[0]
    assert header.msgid == "" and header.msgctxt is None, "the .po file must start with a header"
    return header, entries[1:]


HEADER, ENTRIES = _catalogue()

_PLACEHOLDER = re.compile(
    r"%\((?P<named>[^)]+)\)[-#0 +]*\d*(?:\.\d+)?(?P<nconv>[sdifr])"
    r"|\{\{\s*(?P<var>[\w.]+)\s*\}\}"
    r"|%(?P<bare>[sdifr])"
)


def placeholders(text: str) -> set[str]:
    text = text.replace("%%", "")
    found = set()
    for m in _PLACEHOLDER.finditer(text):
        if m.group("named"):
            found.add(f"%({m.group('named')}){m.group('nconv')}")
        elif m.group("var"):
            found.add(f"{{{{ {m.group('var')} }}}}")
        else:
            found.add(f"%{m.group('bare')}")
    return found


def test_parser_reads_a_real_catalogue():
    assert len(ENTRIES) > 100
    assert len({(e.msgctxt, e.msgid) for e in ENTRIES}) == len(ENTRIES), "duplicate msgids"
    assert any(e.msgid_plural for e in ENTRIES), "plural entries were not parsed"
    by_id = {e.msgid: e for e in ENTRIES}
    assert by_id["Log in"].msgstr == "登录"
    assert by_id["Safe Campus"].msgstr == "平安校园"


def test_header_declares_language_charset_and_plural_forms():
    assert "fuzzy" not in HEADER.flags
    meta = dict(line.split(":", 1) for line in HEADER.msgstr.splitlines() if ":" in line)
    meta = {k.strip(): v.strip() for k, v in meta.items()}
    assert meta["Language"] == "zh_Hans"
    assert meta["Plural-Forms"] == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in meta["Content-Type"]


def test_every_entry_is_translated_and_none_is_fuzzy():
    fuzzy = [str(e) for e in ENTRIES if "fuzzy" in e.flags]
    empty = [str(e) for e in ENTRIES if not all(t.strip() for t in e.translations)]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not empty, f"untranslated entries: {empty}"


def test_plural_entries_have_exactly_one_form():
    bad = [str(e) for e in ENTRIES if e.msgid_plural is not None and set(e.msgstr_plural) != {0}]
    assert not bad, f"plural entries must have only msgstr[0] (nplurals=1): {bad}"


def test_placeholders_match():
    bad = []
    for e in ENTRIES:
        expected = placeholders(e.msgid)
        if e.msgid_plural is not None:
            expected |= placeholders(e.msgid_plural)
        bad.extend(
            f"{e}: {sorted(expected)} != {sorted(placeholders(t))}"
            for t in e.translations
            if placeholders(t) != expected
        )
    assert not bad, "placeholder mismatch:\n" + "\n".join(bad)


def test_placeholder_helper():
    assert placeholders("%(n)d entries, %(name)s and {{ x }} and %s, 100%%") == {
        "%(n)d",
        "%(name)s",
        "{{ x }}",
        "%s",
    }


def test_compiled_catalogue_matches_the_po_file():
    assert MO_FILE.exists(), "run: manage.py compilemessages -l zh_Hans"
    with MO_FILE.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    stale = []
    for e in ENTRIES:
        if e.msgid_plural is None:
            got = mo.pgettext(e.msgctxt, e.msgid) if e.msgctxt is not None else mo.gettext(e.msgid)
            if got != e.msgstr:
                stale.append(f"{e}: .mo has {got!r}, .po has {e.msgstr!r}")
        else:
            for n in (1, 2, 5):
                if e.msgctxt is not None:
                    got = mo.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
                else:
                    got = mo.ngettext(e.msgid, e.msgid_plural, n)
                if got != e.msgstr_plural[0]:
                    stale.append(f"{e} (n={n}): .mo has {got!r}, .po has {e.msgstr_plural[0]!r}")
    assert not stale, "the .mo is out of date; run compilemessages:\n" + "\n".join(stale)


@pytest.mark.django_db
def test_login_page_is_chinese_by_default():
    response = Client().get("/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "登录" in body
    assert "平安校园" in body
    assert '<html lang="zh-hans"' in body


@pytest.mark.django_db
def test_login_page_follows_accept_language():
    response = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Log in" in body
    assert "登录" not in body
    assert '<html lang="en"' in body


@pytest.mark.django_db
def test_switching_language_sticks_for_the_next_page():
    client = Client()
    assert "登录" in client.get("/login/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    body = client.get("/login/").content.decode()
    assert "Log in" in body
    assert "登录" not in body
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "登录" in client.get("/login/").content.decode()
