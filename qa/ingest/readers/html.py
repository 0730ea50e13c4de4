"""HTML with selectolax (lexbor): the page's <main> (else its one <article>), chrome removed.

Chosen over trafilatura 2.3.1 by eval/bench_html.py on 30 Rust doc pages / 34 Node, npm,
valgrind, libxslt and Sphinx pages: content lines kept 99.3% / 98.9% against 90.1% / 92.7%,
chrome leaked 0% / 7.6% against 10.1% / 10.6%, table rows as one line 100% / 99.9% against
100% / 11%, 8-16x faster (1.0 / 7.1 ms a page vs 10.6 / 55.1 ms); both deterministic.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from typing import TYPE_CHECKING

from ...types import Row
from . import View
from ._lines import CONTROL, numbered_display_lines
from ._skip import Skip
from .grid import Grid, GridCell, grid_rows, lines_above

VERSION = "2"  # of the display lines read here: a change makes ingest read web pages again

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

NO_TEXT = "no text: the page holds only scripts or markup"

# -- decoding ------------------------------------------------------------------------------
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)"""
                           rb"""|<\?xml[^>]+encoding\s*=\s*["']([a-z0-9_.:-]+)""", re.I)
# WHATWG: these labels mean windows-1252, a superset of what the page was written in
_AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "ascii", "us-ascii",
              "iso_8859-1", "cp819", "ibm819", "windows-1252", "cp1252", "x-cp1252"}


def decode(raw: bytes) -> str:
    """The page's text: by its byte-order mark, else as UTF-8 when the bytes are valid UTF-8
    (a page saved as UTF-8 that still declares latin-1 is common; legacy text is almost never
    valid UTF-8), else by its declared charset (<meta>, <?xml?>), else as windows-1252 (the
    web's default); undecodable bytes become U+FFFD."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom):].decode(encoding, "replace")
    head = raw[:4096]
    if b"\0" in head:
        # UTF-16 or UTF-32 without a mark: the ASCII markup has its NULs at fixed places
        for width, encoding, text_at in ((4, "utf-32-le", 0), (4, "utf-32-be", 3),
                                         (2, "utf-16-le", 0), (2, "utf-16-be", 1)):
            columns = [head[i::width] for i in range(width)]
            if all((c.count(0) < len(c) // 8) == (i == text_at) for i, c in enumerate(columns)):
                return raw.decode(encoding, "replace")
        raise Skip("binary file (contains NUL bytes), not an HTML page")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    match = _META_CHARSET.search(head)
    if match:
        label = (match.group(1) or match.group(2)).decode("ascii").lower()
        if label in _AS_CP1252:
            label = "cp1252"
        elif label.startswith(("utf-16", "utf-32", "unicode")):
            label = "utf-8"  # bytes without NULs cannot be UTF-16: the declaration is wrong
        probe = b"<meta charset=utf-8>"
        try:
            # the declaration was read as ASCII: an encoding that reads ASCII otherwise
            # (EBCDIC, UTF-7) cannot be the page's, as browsers also rule
            utf7 = codecs.lookup(label).name == "utf-7"
            if probe.decode(label) == probe.decode("ascii") and not utf7:
                return raw.decode(label, "replace")
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass  # an unknown name, or a codec that is not a text encoding ("base64")
    return raw.decode("cp1252", "replace")


# -- what is not text ----------------------------------------------------------------------
_DROP = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "base",
    "svg", "math", "canvas", "iframe", "frame", "frameset", "object", "embed", "applet",
    "video", "audio", "picture", "source", "track", "map", "img", "input", "button", "select",
    "option", "optgroup", "datalist", "textarea", "output", "progress", "meter", "dialog",
    "nav", "menu", "-comment", "-doctype",
})
# sectioning elements: a header or footer inside one (or inside <main>) belongs to it, not to
# the page; an aside inside one is a note of its text, not a sidebar (as ARIA maps them)
_SECTIONS = frozenset({"article", "section", "aside"})
_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "menubar",
                    "toolbar", "dialog", "alertdialog", "tablist", "tooltip"})
_HIDDEN_CLASSES = frozenset({"hidden", "d-none", "sr-only", "visually-hidden",
                             "screen-reader-text", "visuallyhidden", "hide"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# class or id words of navigation, menus, banners and pop-ups
_CHROME_NAME = re.compile(
    r"(?:^|[-_\s])(?:nav|menu|sidebar|breadcrumb|cookie|consent|gdpr|banner|popup|modal"
    r"|search|shar(?:e|ing)(?:$|[-_\s])|social|newsletter|subscribe|advert|skip"
    r"|toc(?:$|[-_\s])|table[-_]of[-_]contents|related(?:$|[-_\s])"
    r"|ads(?:$|[-_\s])|pagination|pager(?:$|[-_\s]))", re.I)

_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li", "listing",
    "main", "ol", "p", "plaintext", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul", "xmp", "search",
})
_HEADINGS = "h1, h2, h3, h4, h5, h6"
_TITLED = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "section", "article"})
_LISTS = frozenset({"ul", "ol", "dir"})
_PRE = frozenset({"pre", "listing", "xmp", "plaintext"})
_CELLS = frozenset({"td", "th"})
_LINK_LISTS = frozenset({"ul", "ol", "dl", "table", "td", "th"})


def _collapse(text: str) -> str:
    return " ".join(CONTROL.sub(" ", text).split())


class _Lines:
    """Display lines built block by block: a block (paragraph, heading, list, table, code)
    is one or more lines, and blocks are separated by one blank line."""

    def __init__(self) -> None:
        self.blocks: list[list[str]] = []
        self.block: list[str] = []
        self.text: list[str] = []
        self.prefix = ""
        self.term = ""  # a definition list's term, said before its definition on one line
        # data tables: each row's cells, and where its line is (block, line in block)
        self.tables: list[tuple[list[list[GridCell]], list[tuple[int, int] | None]]] = []
        self.starts: list[int] = []  # each block's first line in ``lines()``

    def row(self, cells: list[GridCell]) -> None:
        """A data table's row: one line of its cells (none when all are empty)."""
        text = " | ".join(c.text for c in cells if c.text)
        if text:
            self.block.append(text)
        rows, at = self.tables[-1]
        rows.append(cells)
        at.append((len(self.blocks), len(self.block) - 1) if text else None)

    def grids(self, lines: list[str]) -> list[tuple[list[list[GridCell]], list[int], int]]:
        """Each data table after ``lines()``: its rows, each row's index in the lines (-1: no
        line), and the index of the table's first line."""
        out = []
        for rows, at in self.tables:
            index = [self.starts[b] + i if (b, i) != (-1, -1) else -1
                     for b, i in (a or (-1, -1) for a in at)]
            shown = [i for i in index if i >= 0]
            if shown:
                out.append((rows, index, shown[0]))
        return out

    def line(self) -> None:
        text = _collapse("".join(self.text))
        if text:
            if self.term:
                text, self.term = f"{self.term}: {text}", ""
            self.block.append(self.prefix + text)
            self.prefix = ""
        self.text = []

    def defines(self) -> None:
        """A term (``<dt>``) ends: held for its definition's line ("Base fare: $2.25"), as a
        form writes a field; a term before it that got none is a line of its own."""
        self.held()
        self.term = _collapse("".join(self.text))
        self.text = []

    def held(self) -> None:
        """A term that no definition followed is a line of its own."""
        if self.term:
            self.block.append(self.term)
            self.term = ""

    def end(self) -> None:
        self.line()
        if self.block:
            self.blocks.append(self.block)
        self.block = []
        self.prefix = ""

    def code(self, raw: str) -> None:
        self.line()
        self.prefix = ""
        for line in raw.split("\n"):
            line = CONTROL.sub("", line).rstrip()
            if line.strip():
                self.block.append(line)

    def lines(self) -> list[str]:
        self.end()
        out: list[str] = []
        self.starts = []
        for block in self.blocks:
            if out:
                out.append("")
            self.starts.append(len(out))
            out += block
        return out


def _is_chrome(node: LexborNode, attrs: dict[str, str | None], scope: int, page_chars: int,
               menus: bool) -> bool:
    """Navigation, hidden elements, the page's header, footer and sidebars, and page chrome
    named by its class or id; with ``menus``, also lists and table cells of links. ``scope``:
    0 at page level, 1 inside <main>, 2 inside a sectioning element."""
    tag = node.tag
    if (tag in ("header", "footer") and scope == 0) or (tag == "aside" and scope < 2):
        return True
    if menus and tag in _LINK_LISTS and _is_menu(node, page_chars):
        return True
    if not attrs:
        return False
    if attrs.get("aria-hidden") == "true" or ("hidden" in attrs
                                               and attrs["hidden"] != "until-found"):
        return True
    if tag == "a" and (attrs.get("href") or "").startswith("#"):
        # a permalink or back-reference mark: "#", "¶", "§", "↩"
        mark = node.text(deep=True).strip()
        return 0 < len(mark) <= 2 and not any(c.isalnum() for c in mark)
    role = (attrs.get("role") or "").strip().lower()
    if role in _ROLES or (role == "complementary" and scope < 2):
        return True
    style = attrs.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    classes = attrs.get("class") or ""
    if classes and not _HIDDEN_CLASSES.isdisjoint(classes.lower().split()):
        return True
    if classes and _CHROME_NAME.search(classes):
        return _minor(node, page_chars)
    ident = attrs.get("id")
    if ident and _CHROME_NAME.search(ident) and tag not in _TITLED:
        # an id is often the slug of a title ("custom-search-engines"): a titled part is text
        return node.css_first(_HEADINGS) is None and _minor(node, page_chars)
    return False


def _minor(node: LexborNode, page_chars: int) -> bool:
    """Less than half the page's text: a class like "has-sidebar" can sit on the wrapper of
    the whole page, and chrome by name is never most of the page."""
    return len(_collapse(node.text(deep=True))) * 2 < page_chars


def _is_menu(node: LexborNode, page_chars: int) -> bool:
    """Three links or more that are nearly all of the element's text, and not most of the
    page (a page that is a list of links keeps it)."""
    links = node.css("a[href]")
    if len(links) < 3:
        return False
    chars = len(_collapse(node.text(deep=True)))
    if not chars or chars * 2 >= page_chars:
        return False
    return sum(len(_collapse(a.text(deep=True))) for a in links) >= 0.8 * chars


def _table_is_layout(table: LexborNode) -> bool:
    """A table used for page layout (a cell holds a table, a heading or a long text) is read
    as blocks; a data table gives one line per row."""
    for cell in table.css("td, th"):
        if cell.css_first("table, h1, h2, h3, h4, h5, h6, pre") is not None:
            return True
        if len(cell.text(deep=True)) > 1000:
            return True
    return False


def _span(value: str | None) -> int:
    """A colspan or rowspan as a count of 1 to ``MAX_SPAN`` (a page's "0" or "999" is 1)."""
    return int(value) if value and value.strip().isdigit() and 0 < int(value) <= MAX_SPAN else 1


MAX_SPAN = 64


def _walk(root: LexborNode, menus: bool) -> _Lines:
    """The display lines of ``root`` (``.lines()``); ``menus``: leave out lists and cells of
    links."""
    out = _Lines()
    root_id = root.mem_id
    page_chars = len(_collapse(root.text(deep=True)))
    # (node, entering); the exit event of an element follows its children
    stack: list[tuple[LexborNode, bool]] = [(root, True)]
    groups = 0          # open lists, tables and definition lists: one block, many lines
    mains = sections = 0  # open <main> and sectioning elements
    lists: list[list[int]] = []  # [ordered, next number] of the open lists
    cells: list[GridCell] | None = None  # the cells of the open table row
    cell: list[str] | None = None
    opened: GridCell | None = None  # the open cell's kind and spans
    layout: list[bool] = []  # open tables: read as layout (True) or as data (False)
    heads: list[bool] = []  # open tables: inside their <thead>, where every cell is head
    pre: list[str] | None = None
    pre_depth = 0
    while stack:
        node, entering = stack.pop()
        tag = node.tag or ""  # lexbor names every node ("-text" for text)
        if tag == "-text":
            text = node.text_content or ""
            if pre is not None:
                pre.append(text)
            elif cell is not None:
                cell.append(text)
            else:
                out.text.append(text)
            continue
        if not entering:
            # leaving an element
            if tag in _PRE and pre is not None:
                pre_depth -= 1
                if pre_depth == 0:
                    out.code("".join(pre))
                    pre = None
                    if groups == 0:
                        out.end()
                continue
            if pre is not None:
                if tag in _BLOCK:
                    pre.append("\n")
                continue
            if tag == "thead" and heads:
                heads[-1] = False
            if tag == "table":
                heads.pop()
                if not layout.pop():
                    groups -= 1
                    out.line() if groups else out.end()
                    continue
            if layout and not layout[-1] and cells is not None:
                if tag in _CELLS and cell is not None:
                    kind = opened or GridCell("")
                    cells.append(dataclasses.replace(kind, text=_collapse("".join(cell))))
                    cell = None
                    continue
                if tag == "tr":
                    out.row(cells)
                    cells = None
                    continue
                if cell is not None:
                    if tag in _BLOCK or tag == "br":
                        cell.append(" ")
                    continue
            if tag == "dt":
                out.defines()
                continue
            if tag in _LISTS or tag == "dl":
                if tag in _LISTS:
                    lists.pop()
                else:
                    out.held()
                groups -= 1
                out.line() if groups else out.end()
                continue
            if tag == "li":
                out.line()
                out.prefix = ""  # an empty item
                continue
            if tag == "main":
                mains -= 1
            elif tag in _SECTIONS:
                sections -= 1
            if tag in _BLOCK:
                out.line() if groups else out.end()
            continue
        # entering an element
        if tag in _DROP or tag.startswith("-"):
            continue
        attrs = node.attributes
        scope = 2 if sections else 1 if mains else 0
        if node.mem_id != root_id and _is_chrome(node, attrs, scope, page_chars, menus):
            continue
        stack.append((node, False))
        children = list(node.iter(include_text=True))
        stack.extend((child, True) for child in reversed(children))
        if pre is not None:
            if tag in _PRE:
                pre_depth += 1
            elif tag == "br" or tag in _BLOCK:
                pre.append("\n")
            continue
        if cell is not None:
            if tag in _BLOCK or tag == "br":
                cell.append(" ")
            continue
        if tag == "br":
            out.line()
            continue
        if tag in _PRE:
            out.line() if groups else out.end()
            pre, pre_depth = [], 1
            continue
        if tag == "table":
            layout.append(_table_is_layout(node))
            heads.append(False)
            out.line() if groups else out.end()
            groups += not layout[-1]
            if not layout[-1]:
                out.tables.append(([], []))
            continue
        if layout and not layout[-1]:
            if tag == "thead":
                heads[-1] = True
            if tag == "tr":
                out.line()
                cells = []
                continue
            if tag in _CELLS:
                if cells is None:
                    cells = []
                cell = []
                opened = GridCell("", tag == "th" or heads[-1], _span(attrs.get("colspan")),
                                  _span(attrs.get("rowspan")))
                continue
        if tag in _LISTS or tag == "dl":
            out.line() if groups else out.end()
            groups += 1
            if tag in _LISTS:
                start = attrs.get("start") or "1"
                lists.append([tag == "ol", int(start) if start.strip().isdigit() else 1])
            continue
        if tag == "li":
            out.line()
            indent = "  " * max(len(lists) - 1, 0)
            if lists and lists[-1][0]:
                out.prefix = f"{indent}{lists[-1][1]}. "
                lists[-1][1] += 1
            else:
                out.prefix = f"{indent}- "
            continue
        if tag == "main":
            mains += 1
        elif tag in _SECTIONS:
            sections += 1
        if tag in _BLOCK:
            out.line() if groups else out.end()
    return out


def _content_root(tree: LexborHTMLParser) -> LexborNode | None:
    """The element holding the page's content: its <main>, else its one <article>, else the
    target of its "skip to content" link, else the body."""
    body = tree.body if tree.body is not None else tree.root
    if body is None:
        return None
    for selector in ("main", "[role=main]"):
        found = [n for n in tree.css(selector) if n.text(deep=True).strip()]
        if found:
            return max(found, key=lambda n: len(n.text(deep=True)))
    articles = tree.css("article")
    if len(articles) == 1 and len(articles[0].text(deep=True)) * 3 >= len(body.text(deep=True)):
        return articles[0]
    for link in tree.css('a[href^="#"]'):
        names = f"{link.attributes.get('class') or ''} {link.text(deep=True)}".lower()
        if "skip" in names:
            target = (link.attributes.get("href") or "#")[1:]
            if target and re.fullmatch(r"[\w:.-]+", target):
                node = tree.css_first(f'[id="{target}"]')
                if node is not None and node.text(deep=True).strip():
                    return node
            break
    return body


def extract_lines(html: str) -> list[str]:
    """The display lines of a page's main text (before cutting long lines)."""
    return _extract(html)[0]


def _extract(html: str) -> tuple[list[str], _Lines | None]:
    """The lines of a page's main text and the walk that found them (its tables)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    root = _content_root(tree)
    if root is None:
        return [], None
    body = tree.body
    if body is not None and root.mem_id != body.mem_id:
        walk = _walk(root, menus=False)
        if lines := walk.lines():
            return lines, walk
        root = body
    # no content element: menus (lists of links) are left out, unless they are nearly all
    # of the page's text (a table of contents, an index)
    walk = _walk(root, menus=True)
    lines = walk.lines()
    every_walk = _walk(root, menus=False)
    every = every_walk.lines()
    if _chars(lines) * 4 < _chars(every):
        return every, every_walk
    return lines, walk


def _chars(lines: list[str]) -> int:
    return sum(len(line) for line in lines)


def read_html(raw: bytes) -> View:
    try:
        lines, walk = _extract(decode(raw))
    except Skip:
        raise
    except Exception as exc:  # whatever the parser or a codec raises on malformed input
        detail = " ".join(str(exc).split())[:200]
        raise Skip(f"not readable HTML: {type(exc).__name__}: {detail}") from None
    if not lines:
        raise Skip(NO_TEXT)
    shown, starts = numbered_display_lines(lines)
    rows: list[Row] = []
    for cells, index, first in walk.grids(lines) if walk else []:
        # a caption is the table block's lines before its first row; else the lines before
        rows += grid_rows(Grid(cells, [starts[i] if i >= 0 else 0 for i in index],
                               lines_above(lines, starts, first)))
    return View(shown, rows=tuple(rows))
