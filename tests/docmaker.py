"""Test documents made on the fly (no binary fixtures): PDFs, Word files and their broken kin."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

SEC10Q = Path("/work/shared/benchmarks/sec10q/docs")
AAPL = SEC10Q / "2022 Q3 AAPL.pdf"  # 28 pages; page 4 holds the line below
AAPL_NET_SALES = "Total net sales 82,959 81,434 304,182 282,457"


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with a text layer: one page per list, one text line per string (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    # a fixed date keeps the bytes of the same pages the same
    with PdfPages(buf, metadata={"CreationDate": None}) as pdf:
        for lines in pages:
            fig = plt.figure(figsize=(8.5, 11))
            for i, line in enumerate(lines):
                fig.text(0.06, 0.94 - i * 0.03, line, fontsize=10)
            pdf.savefig(fig)
            plt.close(fig)
    return buf.getvalue()


def scanned_pdf() -> bytes:
    """An image-only PDF, as a scanner writes it: pixels, no text layer."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(image).text((20, 80), "Scanned invoice total 1,234.56", fill="black")
    buf = io.BytesIO()
    image.save(buf, "PDF")
    return buf.getvalue()


def encrypted_pdf(raw: bytes, password: str = "secret") -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(raw))
    writer.encrypt(password, algorithm="RC4-128")  # RC4 needs no crypto library
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def empty_pages_pdf(count: int) -> bytes:
    """``count`` blank pages made with PDFium itself."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    try:
        for _ in range(count):
            pdf.new_page(200, 200).close()
        buf = io.BytesIO()
        pdf.save(buf)
    finally:
        pdf.close()
    return buf.getvalue()


def pdf_text_layer(raw: bytes) -> list[str]:
    """Each page's text as PDFium extracts it (to check a made PDF really has text)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(raw)
    try:
        out = []
        for i in range(len(pdf)):
            page = pdf[i]
            text = page.get_textpage()
            out.append(text.get_text_range())
            text.close()
            page.close()
        return out
    finally:
        pdf.close()


def word_docx(blocks: list) -> bytes:
    """A .docx from blocks in order: ("h1", text), ("p", text) or ("table", [[cell, ...], ...])."""
    from docx import Document

    doc = Document()
    for kind, value in blocks:
        if kind == "table":
            table = doc.add_table(rows=len(value), cols=len(value[0]))
            for r, row in enumerate(value):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        elif kind.startswith("h"):
            doc.add_heading(value, level=int(kind[1:]))
        else:
            doc.add_paragraph(value)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def fake_docx() -> bytes:
    """A zip archive named .docx that holds something else."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "just a text file in a zip")
    return buf.getvalue()


SCRIPT_ONLY_HTML = (
    "<!doctype html><html><head><title>App</title>"
    "<script>window.app = {boot: function () { return 42; }};</script></head>"
    "<body><script src='bundle.js'></script><script>app.boot();</script></body></html>"
)
