"""Render time of the compliance manual PDF (pages per second), for the shipped content.

Loads checklists/content/*.yaml into a throw-away SQLite database and renders each published
manual several times (without the stored-file cache), printing pages, seconds and pages/s.

    .venv/bin/python bench/manual_pdf.py [--repeat 3]

Not a test: it prints numbers to compare.
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-manual-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        VAR_DIR=workdir,
        DATABASE_URL=f"sqlite:///{workdir}/bench.sqlite3",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from pypdf import PdfReader

    from checklists.documents import manual_html
    from checklists.models import Manual
    from core.pdf import render_pdf

    call_command("migrate", verbosity=0)
    call_command("load_content", stdout=io.StringIO())
    print(f"{'scene':<20} {'pages':>5} {'ms/render':>10} {'pages/s':>8}")
    total_pages, total_seconds = 0, 0.0
    for manual in Manual.objects.filter(status="published").select_related("scene").order_by("scene__code"):
        html = manual_html(manual)
        render_pdf(html)  # warm fonts and caches
        started = time.perf_counter()
        for _ in range(args.repeat):
            pdf = render_pdf(html)
        seconds = (time.perf_counter() - started) / args.repeat
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        total_pages, total_seconds = total_pages + pages, total_seconds + seconds
        print(f"{manual.scene.code:<20} {pages:>5} {seconds * 1000:>10.0f} {pages / seconds:>8.1f}")
    print(f"{'all':<20} {total_pages:>5} {total_seconds * 1000:>10.0f} {total_pages / total_seconds:>8.1f}")


if __name__ == "__main__":
    main()
