"""How long code stickers and posters take to render, without a database.

Prints the time of one sticker and one poster PDF (median of --repeat runs), and the
throughput of batch rendering: --pages stickers rendered PAGES_PER_RENDER at a time
and concatenated, as core.code_documents does for a CodeBatch.

    DEBUG=1 .venv/bin/python bench/pdf_codes.py --repeat 5 --pages 500

Not a test: it prints numbers to compare.
"""

import argparse
import io
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # WeasyPrint logs every step at INFO


def _cards(n: int):
    from core.code_documents import CodeCard
    from core.codes import code_url, new_token
    from core.qr import png_data_uri, qr_png

    names = [
        "北京市朝阳区老王家常菜馆",
        "Beijing Sunrise Dental Clinic Co., Ltd.",
        "北京康宁养老服务有限公司第二分公司",
    ]
    cards = []
    for i in range(n):
        token = new_token()
        cards.append(
            CodeCard(
                name=f"{names[i % len(names)]}{i}",
                uscc=f"91110105{secrets.randbelow(10**9):09d}X",
                scene="餐饮服务",
                scene_en="Catering",
                token=token,
                url=code_url(token),
                qr=png_data_uri(qr_png(code_url(token))),
            )
        )
    return cards


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pages", type=int, default=500)
    args = parser.parse_args()
    django.setup()

    from core.code_documents import PAGES_PER_RENDER, _render
    from core.pdf import concatenate_pdfs

    one = _cards(1)
    _render("sticker", one)  # warm-up: fonts, templates
    sticker = _render("sticker", one)
    print(f"sticker: {_median_ms(lambda: _render('sticker', one), args.repeat):.0f} ms, {len(sticker)} bytes")
    poster = _render("poster", one)
    print(f"poster:  {_median_ms(lambda: _render('poster', one), args.repeat):.0f} ms, {len(poster)} bytes")

    cards = _cards(args.pages)
    started = time.perf_counter()
    parts = [
        _render("sticker", cards[start : start + PAGES_PER_RENDER])
        for start in range(0, len(cards), PAGES_PER_RENDER)
    ]
    rendered = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as workdir:
        paths = []
        for number, part in enumerate(parts):
            paths.append(Path(workdir) / f"{number}.pdf")
            paths[-1].write_bytes(part)
        out = io.BytesIO()
        concatenate_pdfs(paths, out)
    total = time.perf_counter() - started
    print(
        f"batch:   {args.pages} stickers in {total:.1f} s ({args.pages / total:.0f} pages/s; "
        f"merge {total - rendered:.1f} s), {out.tell() / args.pages / 1024:.1f} KiB/page"
    )


if __name__ == "__main__":
    main()
