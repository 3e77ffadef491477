"""What the faster record PDF still prints (issue 17): signatures and the QR code reach the renderer
as one opaque gray channel at their printed size, colour and unreadable files as they were, an
opaque pad's pixels as they were flattened before; the rows' English, basis and code lines still
stand below their Chinese, where they stood as blocks, and a newline typed into them prints as the
space it printed before.

The pixels are read back from the stored PDF, so these hold whatever the renderer does with them.
"""

import base64
import io

import pytest
import zxingcpp
from django.core.files.storage import default_storage
from PIL import Image, ImageChops, ImageDraw
from pypdf import PdfReader

from checklists.models import ChecklistItem
from supervision.inspections import documents
from supervision.inspections import services as workflow
from supervision.inspections.documents import SIGNATURE_PRINT_PIXELS, document_for, verify_url
from supervision.models import Document, Result, Signature
from tests.factories import answer_all, make_task, submit

pytestmark = pytest.mark.django_db

RECORD = Document.Kind.INSPECTION_RECORD


def pad_png(size=(1500, 500), *, ink=(17, 17, 17, 255), background=(0, 0, 0, 0)) -> bytes:
    """A signature as a canvas exports it: RGBA, strokes on a (by default transparent) background."""
    image = Image.new("RGBA", size, background)
    width, height = size
    ImageDraw.Draw(image).line(
        [
            (width // 10, height // 2),
            (width // 3, height // 5),
            (width // 2, height * 4 // 5),
            (width * 9 // 10, height // 3),
        ],
        fill=ink,
        width=max(4, width // 150),
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def signed_record(enterprise, team, regulator_user, loop_checklist):
    """A submitted inspection (one finding), signed with these PNGs by the inspectors and the
    representative."""

    def build(inspector_png: bytes, representative_png: bytes):
        return _signed(enterprise, team, regulator_user, inspector_png, representative_png)

    return build


def _signed(enterprise, team, regulator_user, inspector_png: bytes, representative_png: bytes):
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    answer_all(inspection, team[0].user, {"mar-3": Result.NON_COMPLIANT})
    for inspector in team:
        workflow.inspection_sign(
            inspection=inspection,
            actor=team[0].user,
            role=Signature.Role.INSPECTOR,
            image=inspector_png,
            inspector=inspector,
        )
    workflow.inspection_sign(
        inspection=inspection,
        actor=team[0].user,
        role=Signature.Role.REPRESENTATIVE,
        image=representative_png,
    )
    return submit(inspection, team[0].user)


def pdf_of(document: Document) -> bytes:
    with default_storage.open(document.file.name, "rb") as stored:
        return stored.read()


def images_of(pdf: bytes) -> list[Image.Image]:
    reader = PdfReader(io.BytesIO(pdf))
    # Pages may share one resource dictionary: the same image can be listed on every page.
    return list({image.data: image.image for page in reader.pages for image in page.images}.values())


def test_a_tablet_signature_prints_at_300_dpi_of_its_box_in_one_gray_channel(signed_record):
    inspection = signed_record(pad_png(), pad_png())
    pdf = pdf_of(document_for(inspection=inspection, kind=RECORD))
    signatures = [image for image in images_of(pdf) if image.size != (410, 410)]
    assert signatures
    for image in signatures:
        # 1500 x 500 px for a box of 52 x 18 mm: 614 px across is 300 dpi, the proportions kept.
        assert image.size == (614, 205)
        assert image.size[0] <= SIGNATURE_PRINT_PIXELS[0] and image.size[1] <= SIGNATURE_PRINT_PIXELS[1]
        assert image.mode == "L"
        # The transparent pad is white paper, and the strokes are still there, dark.
        assert image.getpixel((0, 0)) == 255
        assert image.getextrema()[0] < 64


def test_a_signature_in_colour_keeps_its_colour_and_a_small_one_its_pixels(signed_record):
    blue = pad_png((300, 100), ink=(0, 0, 200, 255), background=(255, 255, 255, 255))
    inspection = signed_record(blue, blue)
    pdf = pdf_of(document_for(inspection=inspection, kind=RECORD))
    (signature,) = [image for image in images_of(pdf) if image.size != (410, 410)]
    assert signature.size == (300, 100)
    assert signature.mode == "RGB"
    pixels = signature.tobytes()
    assert any(pixels[i] < 80 and pixels[i + 2] > 150 for i in range(0, len(pixels), 3))


def test_the_qr_code_is_one_gray_channel_of_its_own_size_and_still_decodes(signed_record):
    inspection = signed_record(pad_png(), pad_png())
    record = document_for(inspection=inspection, kind=RECORD)
    (qr,) = [image for image in images_of(pdf_of(record)) if image.size == (410, 410)]
    assert qr.mode == "L"
    assert [barcode.text for barcode in zxingcpp.read_barcodes(qr)] == [verify_url(record.public_id)]


def test_a_png_that_pillow_cannot_read_is_handed_to_the_renderer_as_it_was(signed_record):
    inspection = signed_record(pad_png(), pad_png())
    damaged = b"\x89PNG\r\n\x1a\n" + b"not the rest of a PNG" * 10
    signature = inspection.signatures.get(role=Signature.Role.REPRESENTATIVE)
    with default_storage.open(signature.image.name, "wb") as stored:
        stored.write(damaged)
    html = documents.document_html(inspection=inspection, kind=RECORD, public_id="X" * 22)
    assert f"data:image/png;base64,{base64.b64encode(damaged).decode('ascii')}" in html


def test_each_rows_english_line_still_stands_below_its_chinese(signed_record):
    inspection = signed_record(pad_png(), pad_png())
    pdf = pdf_of(document_for(inspection=inspection, kind=RECORD))
    text = "\n".join(
        line.strip() for page in PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()
    )
    assert "检查项3是否符合要求？\nIs item 3 compliant?\n依据：" in text
    assert "\n不符合\nnot" in text  # "not compliant" then wraps in its narrow column
    assert "\n符合\ncompliant\n" in text


def flattened_by_hand(png: bytes) -> Image.Image:
    """What _print_png made of any pad before issue 17's second pass: laid on white through its
    alpha, one channel when gray, shrunk by area averaging to the printed box."""
    rgba = Image.open(io.BytesIO(png)).convert("RGBA")
    picture = Image.new("RGB", rgba.size, "white")
    picture.paste(rgba, (0, 0), rgba)
    red, green, blue = picture.split()
    assert (
        not ImageChops.difference(red, green).getbbox() and not ImageChops.difference(green, blue).getbbox()
    )
    red.thumbnail(SIGNATURE_PRINT_PIXELS, Image.Resampling.BOX)
    return red


def test_an_opaque_pad_as_the_tablet_exports_it_prints_the_pixels_it_printed_before(signed_record):
    # signature_pad.js fills its canvas white: every pixel opaque, which skips laying it on white.
    pad = pad_png(background=(255, 255, 255, 255))
    assert Image.open(io.BytesIO(pad)).getchannel("A").getextrema() == (255, 255)
    inspection = signed_record(pad, pad)
    pdf = pdf_of(document_for(inspection=inspection, kind=RECORD))
    (signature,) = [image for image in images_of(pdf) if image.size != (410, 410)]
    assert signature.mode == "L"
    assert signature.tobytes() == flattened_by_hand(pad).tobytes()


def test_a_half_transparent_pad_is_still_laid_on_white(signed_record):
    pad = pad_png(ink=(17, 17, 17, 128), background=(255, 255, 255, 200))
    inspection = signed_record(pad, pad)
    pdf = pdf_of(document_for(inspection=inspection, kind=RECORD))
    (signature,) = [image for image in images_of(pdf) if image.size != (410, 410)]
    assert signature.tobytes() == flattened_by_hand(pad).tobytes()


def record_lines(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text, baseline from the page's top, font size) of each text run on the record's pages, in
    CSS px (WeasyPrint's unit: 0.75 pt)."""
    runs = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):

        def visit(text, cm, tm, font, size, number=number):
            if text.strip():
                runs.append((text.strip(), number * 10_000 + tm[5], round(size * tm[0], 2)))

        page.extract_text(visitor_text=visit)
    return runs


def test_an_items_lines_stand_where_they_stood_as_blocks(signed_record):
    pdf = pdf_of(document_for(inspection=signed_record(pad_png(), pad_png()), kind=RECORD))
    runs = record_lines(pdf)
    # The row's runs come first; the question and its code are printed again among the findings.
    question = next(run for run in runs if "检查项3是否符合要求？" in run[0])
    [english] = [run for run in runs if run[0] == "Is item 3 compliant?"]
    code = next(run for run in runs if run[0] == "mar-3")
    basis = next(run for run in runs if run[0].startswith("依据：") and run[1] > english[1])
    # The sizes of the question (8.5pt), its English (.82em), the basis (7.5pt) and the code (7pt).
    assert [question[2], english[2], basis[2], code[2]] == [11.33, 9.29, 10.0, 9.33]
    # Baseline to baseline, as the template printed them before the item cell became one run of lines
    # (the English in the question's line height, the basis and the code as blocks of their own):
    # measured on that template. A taller line here would move every row below it.
    gaps = [english[1] - question[1], basis[1] - english[1], code[1] - basis[1]]
    assert gaps == pytest.approx([14.73, 13.40, 12.33], abs=0.01)


def test_a_newline_typed_into_an_items_english_or_basis_prints_as_a_space(signed_record):
    ChecklistItem.objects.filter(code="mar-3").update(
        question_en="Is item 3\ncompliant?", article="第五十五条\r\n第二款"
    )
    pdf = pdf_of(document_for(inspection=signed_record(pad_png(), pad_png()), kind=RECORD))
    text = "\n".join(
        line.strip() for page in PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()
    )
    lines = [
        "检查项3是否符合要求？",
        "Is item 3 compliant?",
        "依据：《中华人民共和国食品安全法》第五十五条 第二款",
        "mar-3",
    ]
    assert "\n".join(lines) in text
