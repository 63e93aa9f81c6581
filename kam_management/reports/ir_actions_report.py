import functools
import io
import logging
import subprocess

import lxml.html
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from odoo import api, models
from odoo.tools.misc import file_path
from odoo.tools.pdf import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    PdfFileReader,
    PdfFileWriter,
)

from odoo.addons.base.models.ir_actions_report import _get_wkhtmltopdf_bin

_logger = logging.getLogger(__name__)

KAM_REPORTS = {
    "kam_management.report_kam_account_review",
    "kam_management.report_kam_account_review_plan",
    "kam_management.report_kam_portfolio",
}
# Font of the stamped header and footer: Latin, Greek and Cyrillic; shipped with Odoo's web client.
STAMP_FONT = ("KamNotoSans", "web/static/fonts/sign/NotoSans-Reg.ttf")
STAMP_SIZE = 8  # points
STAMP_MARGIN = 8 * mm  # from the page's left, right, top and bottom edges
_CLASS_XPATH = "//div[contains(concat(' ', normalize-space(@class), ' '), ' %s ')]"


@functools.cache
def wkhtmltopdf_has_patched_qt():
    """Whether wkhtmltopdf was built with its patched Qt, the only one that prints headers and footers.

    Builds with an unpatched Qt (those of most Linux distributions) ignore ``--header-html``
    and ``--footer-html``: the company header, footer and page numbers would be lost.
    """
    try:
        version = subprocess.run(
            [_get_wkhtmltopdf_bin(), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # Unknown: leave Odoo's own path alone.
    return "patched qt" in version.lower()


@functools.cache
def _stamp_font():
    name, path = STAMP_FONT
    try:
        pdfmetrics.registerFont(TTFont(name, file_path(path)))
    except (OSError, FileNotFoundError):
        return "Helvetica"
    return name


def _section_texts(html, kind):
    """The text of each header (or footer) of a rendered report, one per document, lines kept."""
    if not html:
        return []
    root = lxml.html.fromstring(html)
    texts = []
    for node in root.xpath(_CLASS_XPATH % kind):
        for span in node.xpath(".//span[contains(concat(' ', normalize-space(@class), ' '), ' page ')]"):
            span.text = "{page}"
        for span in node.xpath(".//span[contains(concat(' ', normalize-space(@class), ' '), ' topage ')]"):
            span.text = "{topage}"
        for img in node.xpath(".//img"):
            img.drop_tree()
        for block in node.xpath(".//div|.//p|.//li|.//br"):
            block.tail = "\n" + (block.tail or "")
        lines = [" ".join(line.split()) for line in node.text_content().split("\n")]
        texts.append([line for line in lines if line])
    return texts


def _overlay(writer, page, stamp):
    """Lay ``stamp`` over ``page`` without parsing the page's content.

    A merge in Python parses the page's content stream, and wkhtmltopdf writes several MB of
    it per page of table: seconds per page. Here the page's own content is kept as it is,
    wrapped in ``q`` / ``Q`` so that its graphics state does not leak, and the stamp's content
    (a few lines of text) follows it, its fonts renamed so as not to clash with the page's.
    """
    resources = page[NameObject("/Resources")].get_object()
    fonts = resources.get(NameObject("/Font"))
    if fonts is None:
        fonts = DictionaryObject()
        resources[NameObject("/Font")] = fonts
    else:
        fonts = fonts.get_object()
    content = stamp.get_contents().get_data()
    stamp_fonts = stamp[NameObject("/Resources")].get_object().get(NameObject("/Font"))
    for name, font in (stamp_fonts.get_object() if stamp_fonts else {}).items():
        renamed = NameObject(f"/KamStamp{name[1:]}")
        fonts[renamed] = font
        content = content.replace(f"{name} ".encode(), f"{renamed} ".encode())

    def stream(data):
        obj = DecodedStreamObject()
        obj.set_data(data)
        return writer._addObject(obj)

    own = page[NameObject("/Contents")]
    own_list = list(own.get_object()) if isinstance(own.get_object(), ArrayObject) else [own]
    page[NameObject("/Contents")] = ArrayObject([stream(b"q\n"), *own_list, stream(b"\nQ\n"), stream(content)])


class IrActionsReport(models.Model):
    """Company header, footer and page numbers of the key-account reports on any wkhtmltopdf.

    With an unpatched wkhtmltopdf each document of the report is printed on its own and its
    header and footer texts (company, address, footer, "Page x / y") are stamped on every page.
    """

    _inherit = "ir.actions.report"

    @api.model
    def _run_wkhtmltopdf(
        self,
        bodies,
        report_ref=False,
        header=None,
        footer=None,
        landscape=False,
        specific_paperformat_args=None,
        set_viewport_size=False,
    ):
        if not report_ref or not (header or footer) or wkhtmltopdf_has_patched_qt():
            return super()._run_wkhtmltopdf(
                bodies, report_ref, header, footer, landscape, specific_paperformat_args, set_viewport_size
            )
        if self._get_report(report_ref).report_name not in KAM_REPORTS:
            return super()._run_wkhtmltopdf(
                bodies, report_ref, header, footer, landscape, specific_paperformat_args, set_viewport_size
            )
        headers = _section_texts(header, "header")
        footers = _section_texts(footer, "footer")
        writer = PdfFileWriter()
        for index, body in enumerate(bodies):
            pdf = super()._run_wkhtmltopdf(
                [body], report_ref, None, None, landscape, specific_paperformat_args, set_viewport_size
            )
            reader = PdfFileReader(io.BytesIO(pdf), strict=False, overwriteWarnings=False)
            pages = [reader.getPage(number) for number in range(reader.getNumPages())]
            stamps = self._kam_stamps(
                pages,
                headers[index] if index < len(headers) else [],
                footers[index] if index < len(footers) else [],
            )
            for page, stamp in zip(pages, stamps, strict=True):
                _overlay(writer, page, stamp)
                writer.addPage(page)
        output = io.BytesIO()
        writer.write(output)
        return output.getvalue()

    @api.model
    def _kam_stamps(self, pages, header_lines, footer_lines):
        """One page of header and footer text per page of ``pages``, to lay over them."""
        font = _stamp_font()
        packet = io.BytesIO()
        can = canvas.Canvas(packet)
        total = len(pages)
        for number, page in enumerate(pages, start=1):
            width = float(abs(page.mediaBox.getWidth()))
            height = float(abs(page.mediaBox.getHeight()))
            can.setPageSize((width, height))
            can.setFont(font, STAMP_SIZE)
            y = height - STAMP_MARGIN
            for line in header_lines[:4]:
                can.drawString(STAMP_MARGIN, y, line)
                y -= STAMP_SIZE + 2
            if header_lines:
                can.setLineWidth(0.5)
                can.line(STAMP_MARGIN, y + 2, width - STAMP_MARGIN, y + 2)
            lines = footer_lines[-3:]
            y = STAMP_MARGIN + (len(lines) - 1) * (STAMP_SIZE + 2)
            if lines:
                can.setLineWidth(0.5)
                can.line(STAMP_MARGIN, y + STAMP_SIZE + 2, width - STAMP_MARGIN, y + STAMP_SIZE + 2)
            for line in lines:
                if "{page}" in line:
                    text = line.replace("{page}", str(number)).replace("{topage}", str(total))
                    can.drawRightString(width - STAMP_MARGIN, y, text)
                else:
                    can.drawString(STAMP_MARGIN, y, line)
                y -= STAMP_SIZE + 2
            can.showPage()
        can.save()
        packet.seek(0)
        stamps = PdfFileReader(packet, overwriteWarnings=False)
        return [stamps.getPage(number) for number in range(total)]
