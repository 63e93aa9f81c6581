from odoo import _, api, models
from odoo.tools import format_amount, format_date, formatLang


class KamReportFormat(models.AbstractModel):
    """How the key-account reports write numbers, dates and labels: in the reader's language.

    Every method formats with ``self.env``'s language, so a report rendered for a Spanish
    reader says "10.000,00 €", "ene 26" and "Proteger".
    """

    _name = "kam.report.format"
    _description = "Key account report formatting"

    @api.model
    def _selection_labels(self, model, field):
        """``{code: label}`` of a selection field, translated in the report's language.

        ``dict(TIERS)`` would give the English source strings whatever the reader's language.
        """
        return dict(self.env[model]._fields[field]._description_selection(self.env))

    # ------------------------------------------------------------------
    # Numbers and dates
    # ------------------------------------------------------------------
    @api.model
    def _fmt_amount(self, value, currency):
        return format_amount(self.env, value or 0.0, currency)

    @api.model
    def _fmt_number(self, value, digits=0):
        if value is None:
            return "–"
        return formatLang(self.env, value, digits=digits)

    @api.model
    def _fmt_percent(self, value, digits=0):
        if value is None:
            return "–"
        return f"{formatLang(self.env, value, digits=digits)} %"

    @api.model
    def _fmt_change(self, value, unit="%", digits=1):
        """A change with an arrow, readable in black and white: ``▲ +12.5 %``, ``▼ −3.0 pts``."""
        if value is None:
            return "–"
        if round(value, digits) == 0:
            return f"= {formatLang(self.env, 0.0, digits=digits)} {unit}"
        arrow, sign = ("▲", "+") if value > 0 else ("▼", "−")
        return f"{arrow} {sign}{formatLang(self.env, abs(value), digits=digits)} {unit}"

    @api.model
    def _fmt_compact(self, value):
        """An amount in few characters for chart axes and month columns: ``12.3k``, ``1.2M``."""
        value = value or 0.0
        for unit in ("", "k", "M", "G"):
            if abs(value) < 1000.0:
                digits = 0 if unit == "" or abs(value) >= 100 else 1
                text = formatLang(self.env, value, digits=digits)
                return f"{text}{unit}"
            value /= 1000.0
        return f"{formatLang(self.env, value, digits=0)}T"

    @api.model
    def _fmt_date(self, value, pattern=False):
        if not value:
            return ""
        return format_date(self.env, value, date_format=pattern) if pattern else format_date(self.env, value)

    @api.model
    def _fmt_period(self, date_from, date_to):
        return _("%(start)s to %(end)s", start=self._fmt_date(date_from), end=self._fmt_date(date_to))
