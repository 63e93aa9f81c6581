"""Workbook helpers shared by the key-account workbooks: formats in the user's language, sheet names.

Excel stores number formats with its own placeholders (``,`` groups thousands, ``.`` marks the
decimals) and shows them with the separators of the reader's Excel; what a workbook can carry of
the user's language is the grouping (or not), the currency symbol and its side, the number of
decimals and the date format, which Excel does not translate. Those come from ``res.lang`` and
``res.currency`` here.
"""

import re

from odoo.tools.misc import get_lang

# Column widths, in Excel characters.
MIN_WIDTH = 6
MAX_WIDTH = 60
# Excel limits on sheet names.
SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

# strftime directive -> Excel date code.  %M (minutes) follows an hour, so Excel reads "mm" as minutes.
_DATE_CODES = {
    "d": "dd",
    "e": "d",
    "m": "mm",
    "y": "yy",
    "Y": "yyyy",
    "b": "mmm",
    "h": "mmm",
    "B": "mmmm",
    "a": "ddd",
    "A": "dddd",
    "H": "hh",
    "I": "hh",
    "M": "mm",
    "S": "ss",
    "p": "AM/PM",
}


def excel_date_format(strftime_format):
    """The Excel number format showing dates as ``strftime_format`` does (``%d/%m/%Y`` -> ``dd/mm/yyyy``)."""
    out = []
    index = 0
    while index < len(strftime_format):
        char = strftime_format[index]
        if char == "%" and index + 1 < len(strftime_format):
            code = _DATE_CODES.get(strftime_format[index + 1])
            if code:
                out.append(code)
            index += 2
            continue
        out.append(char if char in " /-.,:" else "\\" + char)
        index += 1
    return "".join(out) or "yyyy-mm-dd"


def sheet_name(name, used):
    """A valid, unique sheet name from ``name``: no ``[]:*?/\\``, 31 characters at most.

    ``used`` is the set of names taken so far (compared without case, as Excel does); the new
    name is added to it.
    """
    base = SHEET_NAME_FORBIDDEN.sub(" ", name or "").strip().strip("'").strip() or "Sheet"
    if base.lower() == "history":  # reserved by Excel
        base = f"{base} 1"
    candidate = base[:SHEET_NAME_MAX]
    counter = 2
    while candidate.lower() in used:
        suffix = f" ({counter})"
        candidate = base[: SHEET_NAME_MAX - len(suffix)].rstrip() + suffix
        counter += 1
    used.add(candidate.lower())
    return candidate


class WorkbookFormats:
    """The cell formats of one workbook, built once, in the language of ``env``."""

    def __init__(self, workbook, env):
        self.workbook = workbook
        lang = get_lang(env)
        self.grouping = bool(lang.thousands_sep)
        self.date_code = excel_date_format(lang.date_format or "%m/%d/%Y")
        self._cache = {}
        self.header = workbook.add_format(
            {"bold": True, "bottom": 2, "text_wrap": True, "valign": "top", "bg_color": "#D9D9D9"}
        )
        self.text = workbook.add_format({"valign": "top"})
        self.bold = workbook.add_format({"bold": True})
        self.date = workbook.add_format({"num_format": self.date_code, "align": "left"})
        self.integer = workbook.add_format({"num_format": self._number_code(0)})
        self.decimal = workbook.add_format({"num_format": self._number_code(1)})
        self.percent = workbook.add_format({"num_format": "0.0%"})
        self.percent_bold = workbook.add_format({"num_format": "0.0%", "bold": True, "top": 1})

    def _number_code(self, digits):
        integer = "#,##0" if self.grouping else "0"
        return integer + ("." + "0" * digits if digits else "")

    def money_code(self, currency):
        code = self._number_code(currency.decimal_places)
        symbol = '"{}"'.format((currency.symbol or currency.name or "").replace('"', ""))
        positive = f"{symbol}\u00a0{code}" if currency.position == "before" else f"{code}\u00a0{symbol}"
        return f"{positive};-{positive}"

    def money(self, currency, bold=False):
        """The format of an amount in ``currency``: its symbol on its side, its decimals."""
        key = ("money", currency.id, bold)
        if key not in self._cache:
            props = {"num_format": self.money_code(currency)}
            if bold:
                props.update(bold=True, top=1)
            self._cache[key] = self.workbook.add_format(props)
        return self._cache[key]


class ColumnWidths:
    """The widest content of each column, to size the columns once the sheet is written."""

    def __init__(self, headers):
        self.widths = [min(max(len(header) + 2, MIN_WIDTH), MAX_WIDTH) for header in headers]

    def see(self, column, value, extra=0):
        if value is None or value is False:
            return
        if isinstance(value, float):
            length = len(f"{value:,.2f}") + extra
        else:
            length = len(str(value)) + extra
        if length + 1 > self.widths[column]:
            self.widths[column] = min(length + 1, MAX_WIDTH)

    def apply(self, sheet, first_column=0):
        for index, width in enumerate(self.widths):
            sheet.set_column(first_column + index, first_column + index, width)
