"""Bare WeasyPrint: N A4 pages of Chinese paragraphs with a QR code on page 1 (issue 17's baseline).

What the platform's documents are compared with (bench/record_pdf.py runs it in the same process,
for the same page counts). Nothing of the project but its font setup: the CJK font family that
core.pdf puts on ``@page`` and ``body`` (read from core/pdf.py, so the baseline follows it), a QR
code as the documents print it (level Q, 10 px per module, a PNG data: URI), and about as much
text per page as the on-site record holds (~800 CJK characters in plain paragraphs). No
templates, no URL fetcher of our own, no Django.

    .venv/bin/python bench/pdf_baseline.py [--pages 5] [--repeat 7]

Not a test: it prints numbers to compare.
"""

import argparse
import base64
import gc
import io
import ssl
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPHS_PER_PAGE = 8
SENTENCE = "经营者应当建立食品安全自查制度，定期对食品安全状况进行检查评价，发现问题及时整改。"


def cjk_fonts() -> str:
    """The project's CJK font list (core.pdf.CJK_FONTS), read without importing Django."""
    source = (ROOT / "core" / "pdf.py").read_text(encoding="utf-8")
    for line in source.splitlines():
        if line.startswith("CJK_FONTS = "):
            return eval(line.removeprefix("CJK_FONTS = "), {})  # a string literal, our own file
    raise SystemExit("core/pdf.py defines no CJK_FONTS")


def qr_data_uri(data: str = "https://example.gov.cn/v/ABCD2345EFGH6789") -> str:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_Q

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=10, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(out)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def baseline_html(pages: int) -> str:
    paragraph = SENTENCE * 3  # ~100 characters
    body = []
    for page in range(1, pages + 1):
        qr = f'<img class="qr" src="{qr_data_uri()}" alt="">' if page == 1 else ""
        numbers = range(1, PARAGRAPHS_PER_PAGE + 1)
        paragraphs = "".join(f"<p>第{page}页第{n}段：{paragraph}</p>" for n in numbers)
        body.append(f"<section>{qr}<h1>第{page}页</h1>{paragraphs}</section>")
    return (
        '<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8"><title>基准</title><style>'
        "@page { size: A4; margin: 16mm 15mm 18mm; }"
        "body { font-size: 9.5pt; } section { break-after: page; } section:last-child { break-after: auto; }"
        ".qr { float: right; width: 28mm; height: 28mm; }"
        f"</style></head><body>{''.join(body)}</body></html>"
    )


def font_css() -> str:
    """The project's font setup: its CJK font list on @page (margin boxes) and on the body."""
    fonts = cjk_fonts()
    return f"@page {{ font-family: {fonts}; }} html, body {{ font-family: {fonts}; }}"


def render_baseline(html: str, *, load_ca: bool = True) -> bytes:
    """WeasyPrint as its documentation shows it. ``load_ca=False``: with one fetcher whose TLS context
    is made without the system's CA bundle (bare WeasyPrint reads it twice per render, for the
    HTML's fetcher and the style sheet's), a stricter baseline for what core.pdf does."""
    import weasyprint

    if load_ca:
        return weasyprint.HTML(string=html).write_pdf(stylesheets=[weasyprint.CSS(string=font_css())])
    fetcher = weasyprint.URLFetcher(ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[weasyprint.CSS(string=font_css(), url_fetcher=fetcher)]
    )


def measure(pages: int, repeat: int, *, load_ca: bool = True) -> tuple[float, float, int]:
    """(median wall ms, median CPU ms, page count) of ``repeat`` renders of a ``pages``-page baseline,
    after one warm-up render (fonts loaded, caches filled, as in a running server)."""
    from pypdf import PdfReader

    html = baseline_html(pages)
    pdf = render_baseline(html, load_ca=load_ca)
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()  # as bench/record_pdf.py: no render pays for another's garbage
        wall, cpu = time.perf_counter(), time.process_time()
        render_baseline(html, load_ca=load_ca)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    count = len(PdfReader(io.BytesIO(pdf)).pages)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for load_ca in (True, False):
        wall, cpu, pages = measure(args.pages, args.repeat, load_ca=load_ca)
        print(
            f"bare WeasyPrint{'' if load_ca else ' (no CA bundle)'}, {pages} pages: {wall:.0f} ms "
            f"({wall / pages:.1f} ms/page), CPU {cpu / pages:.1f} ms/page"
        )


if __name__ == "__main__":
    sys.exit(main())
