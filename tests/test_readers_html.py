"""The HTML reader: a page's main text as display lines, its navigation and chrome left out."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from qa.ingest.readers import MAX_LINE_CHARS, Skip, View, read_view
from qa.ingest.readers.html import read_html


def page(body: str, head: str = "<title>T</title>") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


def lines_of(raw: bytes) -> list[str]:
    return read_html(raw).lines


BLOG = page("""
<header class="site-header">
  <a href="/" class="logo">Kestrel Weekly</a>
  <nav><ul><li><a href="/">Home</a></li><li><a href="/archive">Archive</a></li>
  <li><a href="/about">About us</a></li></ul></nav>
</header>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept</button></div>
<main>
  <article>
    <h1>Migration of the common kestrel</h1>
    <p>Kestrels in the north of the range
       migrate south in <em>late September</em>.</p>
    <h2>Numbers counted</h2>
    <p>Volunteers counted birds at three sites.</p>
    <table>
      <thead><tr><th>Site</th><th>Birds</th><th>Days</th></tr></thead>
      <tbody>
        <tr><td>Falsterbo</td><td>1,204</td><td>31</td></tr>
        <tr><td>Tarifa</td><td>877</td><td>28</td></tr>
      </tbody>
    </table>
    <ul><li>Most birds flew before noon.</li><li>Few flew in rain.</li></ul>
    <pre>count = 1204 + 877
print(count)</pre>
  </article>
</main>
<aside class="sidebar"><h3>Popular posts</h3><p>Ten owls you should know</p></aside>
<footer><p>Copyright 2024 Kestrel Weekly. All rights reserved.</p>
  <a href="/privacy">Privacy policy</a></footer>
<script>track("pageview");</script>
""")

BLOG_LINES = [
    "Migration of the common kestrel",
    "",
    "Kestrels in the north of the range migrate south in late September.",
    "",
    "Numbers counted",
    "",
    "Volunteers counted birds at three sites.",
    "",
    "Site | Birds | Days",
    "Falsterbo | 1,204 | 31",
    "Tarifa | 877 | 28",
    "",
    "- Most birds flew before noon.",
    "- Few flew in rain.",
    "",
    "count = 1204 + 877",
    "print(count)",
]


def test_a_realistic_page_gives_its_article_as_lines():
    view = read_html(BLOG)
    assert isinstance(view, View) and view.pages == []
    assert view.lines == BLOG_LINES
    assert read_view("kestrels.html", BLOG).lines == BLOG_LINES
    assert read_view("kestrels.HTM", BLOG).lines == BLOG_LINES


def test_navigation_header_footer_sidebar_and_banners_are_left_out_article_kept():
    raw = page("""
      <div id="top-menu"><a href="/">Home</a> <a href="/shop">Shop</a></div>
      <header><p>Site slogan: birds every day</p></header>
      <nav aria-label="breadcrumb">Home / Birds / Owls</nav>
      <div role="navigation"><p>Jump to section</p></div>
      <div id="consent-popup"><p>Accept all cookies?</p></div>
      <div style="display: none"><p>Hidden promotional text</p></div>
      <article>
        <p>The barn owl hunts at night.</p>
        <p>It nests in old barns and hollow trees.</p>
      </article>
      <aside><p>Subscribe to our newsletter</p></aside>
      <footer><p>Contact: owls@example.org</p></footer>
    """)
    text = "\n".join(lines_of(raw))
    assert lines_of(raw) == ["The barn owl hunts at night.", "",
                             "It nests in old barns and hollow trees."]
    for chrome in ("Home", "Shop", "slogan", "Birds / Owls", "Jump to section", "cookies",
                   "promotional", "newsletter", "owls@example.org"):
        assert chrome not in text


def test_without_main_or_article_the_body_is_read_without_its_chrome():
    raw = page("""
      <header><h1>Falcon Club</h1></header>
      <nav><a href="/a">Events</a></nav>
      <h2>Spring meeting</h2>
      <p>The club meets on the first Sunday of April.</p>
      <ul class="links"><li><a href="/1">Join the club</a></li><li><a href="/2">Gallery</a></li>
        <li><a href="/3">Shop</a></li><li><a href="/4">Contact</a></li></ul>
      <p>Bring binoculars and warm clothes.</p>
      <footer>Falcon Club 2024</footer>
    """)
    assert lines_of(raw) == ["Spring meeting", "",
                             "The club meets on the first Sunday of April.", "",
                             "Bring binoculars and warm clothes."]


def test_a_header_inside_the_article_is_its_title_and_kept():
    raw = page("<main><article><header><h1>Owl pellets</h1><p>By A. Writer</p></header>"
               "<p>Pellets hold bones.</p><footer>Filed under: owls</footer></article></main>")
    assert lines_of(raw) == ["Owl pellets", "", "By A. Writer", "", "Pellets hold bones.", "",
                             "Filed under: owls"]


def test_titles_whose_ids_look_like_chrome_are_kept():
    # ids are slugs of titles: "custom-search-engines" is a section, not a search box
    raw = page("""<main><h2 id="custom-search-engines">Custom search engines</h2>
      <p>Add one in the browser settings.</p>
      <div class="section" id="related-work"><h2>Related work</h2><p>Earlier studies.</p></div>
      <div id="search-box"><p>Search this site</p></div></main>""")
    assert lines_of(raw) == ["Custom search engines", "", "Add one in the browser settings.",
                             "", "Related work", "", "Earlier studies."]


def test_a_table_row_is_one_line_with_its_cells():
    raw = page("""<main><p>Prices:</p><table>
      <tr><th>Item</th><th>Price</th><th>Note</th></tr>
      <tr><td>Seed <b>mix</b></td><td>4.50</td><td><p>per kilo,</p><p>organic</p></td></tr>
      <tr><td>Feeder</td><td>12.00</td><td></td></tr>
      </table><p>After the table.</p></main>""")
    assert lines_of(raw) == ["Prices:", "",
                             "Item | Price | Note",
                             "Seed mix | 4.50 | per kilo, organic",
                             "Feeder | 12.00",
                             "", "After the table."]


def test_headings_paragraphs_and_lists_are_blocks_separated_by_one_blank_line():
    raw = page("""<main>
      <h1>Title</h1><p>First paragraph
      spans two source lines.</p>
      <h2>Section</h2><p>Second.</p><div>Third,<br>with a line break.</div>
      <ol start="3"><li>three</li><li>four<ul><li>nested</li></ul></li></ol>
      <dl><dt>Term</dt><dd>Definition</dd></dl></main>""")
    assert lines_of(raw) == [
        "Title", "",
        "First paragraph spans two source lines.", "",
        "Section", "",
        "Second.", "",
        "Third,", "with a line break.", "",
        "3. three", "4. four", "  - nested", "",
        "Term: Definition",
    ]


def test_a_definition_list_reads_each_term_with_its_definition_as_a_field():
    """A fact sheet's terms and values are fields ("Base fare: $2.25"), so the line that
    states a value also says what it is; a term no definition follows stays a line."""
    raw = page("""<main><dl>
      <dt>Base fare</dt><dd>$2.25</dd>
      <dt>Day pass</dt><dd>$6.00</dd><dd>free for under-fives</dd>
      <dt>Night bus</dt><dt>Ferry</dt><dd>$3.10</dd>
      <dt>Season ticket</dt></dl><p>After.</p></main>""")
    assert lines_of(raw) == ["Base fare: $2.25", "Day pass: $6.00", "free for under-fives",
                             "Night bus", "Ferry: $3.10", "Season ticket", "", "After."]


def test_code_keeps_its_lines_and_indentation():
    raw = page("<main><p>Run:</p><pre><code>def f():\n    return 1\n\n\nf()\n</code></pre></main>")
    assert lines_of(raw) == ["Run:", "", "def f():", "    return 1", "f()"]


def test_the_same_bytes_give_the_same_lines_in_another_process():
    first, second = lines_of(BLOG), lines_of(BLOG)
    assert first == second
    code = ("import json, sys; from qa.ingest.readers.html import read_html; "
            "print(json.dumps(read_html(sys.stdin.buffer.read()).lines))")
    out = subprocess.run([sys.executable, "-c", code], input=BLOG, capture_output=True,
                         check=True, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert json.loads(out.stdout) == first


def test_a_page_of_scripts_only_is_skipped_with_a_clear_reason():
    raw = page("<script>app.boot()</script><noscript></noscript><style>p{}</style>",
               head="<title>App</title><script>var x = 1;</script>")
    with pytest.raises(Skip) as caught:
        read_html(raw)
    reason = str(caught.value)
    assert "no text" in reason and "script" in reason
    assert "\n" not in reason
    with pytest.raises(Skip, match="no text"):
        read_html(b"")


def test_latin1_page_with_a_meta_charset_decodes():
    body = "<main><p>Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e co\u00fbte 5 \u00a3</p></main>"
    for head in ('<meta charset="ISO-8859-1">',
                 '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'):
        raw = f"<html><head>{head}</head><body>{body}</body></html>".encode("latin-1")
        assert lines_of(raw) == ["Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e co\u00fbte 5 \u00a3"]


def test_other_encodings_decode():
    text = "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440"
    cp1251 = f'<meta charset="windows-1251"><p>{text}</p>'.encode("cp1251")
    assert lines_of(cp1251) == [text]
    assert lines_of(("\ufeff<p>" + text + "</p>").encode("utf-16-le")) == [text]
    assert lines_of(f"<html><body><p>{text}</p></body></html>".encode("utf-16-be")) == [text]
    # saved as UTF-8 but still declaring latin-1 (common): the bytes are read as UTF-8
    mislabeled = f'<meta charset="iso-8859-1"><p>{text}, caf\u00e9</p>'.encode()
    assert lines_of(mislabeled) == [f"{text}, caf\u00e9"]
    # no declaration and not UTF-8: windows-1252, as browsers do
    assert lines_of("<p>na\u00efve</p>".encode("cp1252")) == ["na\u00efve"]
    # a wrong declaration does not crash
    assert lines_of(b'<meta charset="no-such-charset"><p>caf\xc3\xa9</p>') == ["caf\u00e9"]


@pytest.mark.parametrize("seed", range(6))
def test_garbage_bytes_give_a_view_or_a_skip_never_a_crash(seed):
    rng = random.Random(seed)
    alphabet = [bytes([b]) for b in range(256)] + [b"<", b">", b"</", b"<p>", b"<table>",
                                                    b"<td>", b"<!--", b"<pre>", b"&#"]
    raw = b"".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 20_000)))
    if seed % 2:
        raw = raw.replace(b"\0", b"")
    try:
        view = read_html(raw)
    except Skip as why:
        assert str(why) and "\n" not in str(why)
    else:
        assert view.lines and all(isinstance(line, str) for line in view.lines)
        assert all("\n" not in line and len(line) <= MAX_LINE_CHARS for line in view.lines)
        assert read_html(raw).lines == view.lines


def test_binary_content_is_skipped():
    with pytest.raises(Skip, match="binary"):
        read_html(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 4)


def test_a_parser_failure_is_a_skip(monkeypatch):
    import selectolax.lexbor

    def broken(*args, **kwargs):
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(selectolax.lexbor, "LexborHTMLParser", broken)
    with pytest.raises(Skip, match="not readable HTML: RuntimeError: parser exploded"):
        read_html(BLOG)


def test_a_long_paragraph_is_cut_into_display_lines():
    raw = page("<main><p>" + "word " * 1000 + "</p></main>")
    lines = lines_of(raw)
    assert len(lines) > 1 and all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert " ".join(lines).split() == ["word"] * 1000
