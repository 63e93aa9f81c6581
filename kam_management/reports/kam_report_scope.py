from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..const import DIRECTOR_GROUP, KAM_GROUP

# Accounts named in an access error before "and N more".
ACCESS_ERROR_NAMES = 5


class KamReportScope(models.AbstractModel):
    """Who may print which key-account report, over which companies, accounts and period.

    Shared by the PDFs and both workbooks, so that every way of printing decides the same:
    a Key Account Manager prints the accounts they manage, a director every account (the
    accounts without KAM included), both in their own companies only. An *account* is a
    ``(company id, commercial partner id)`` key. Once checked, the records are read with
    ``sudo()``, so that a report shows the same thing to everyone allowed to print it.
    """

    _name = "kam.report.scope"
    _description = "Key account report scope"

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------
    @api.model
    def _is_director(self):
        return self.env.user.has_group(DIRECTOR_GROUP)

    @api.model
    def _check_can_print(self):
        if not self.env.user.has_group(KAM_GROUP):
            raise AccessError(_("Only Key Account Managers and Directors can print key account reports."))

    @api.model
    def _check_companies(self, companies):
        foreign = companies - self.env.user.company_ids
        if foreign:
            raise AccessError(
                _(
                    "You cannot print key account reports of %(companies)s: you do not work for it.",
                    companies=", ".join(foreign.sudo().mapped("name")),
                )
            )

    @api.model
    def _check_account_access(self, keys):
        """Raise ``AccessError`` unless the user may print every account of ``keys``."""
        self._check_can_print()
        Company = self.env["res.company"]
        self._check_companies(Company.browse({company_id for company_id, _partner_id in keys}))
        if self._is_director() or not keys:
            return
        managed = self._classifications(keys).filtered(lambda row: row.manager_id == self.env.user)
        allowed = {(row.company_id.id, row.partner_id.id) for row in managed}
        refused = [key for key in keys if key not in allowed]
        if refused:
            names = self.env["res.partner"].sudo().browse([partner_id for _c, partner_id in refused]).mapped("name")
            shown = ", ".join(names[:ACCESS_ERROR_NAMES])
            if len(names) > ACCESS_ERROR_NAMES:
                shown = _("%(names)s and %(count)s more", names=shown, count=len(names) - ACCESS_ERROR_NAMES)
            raise AccessError(
                _(
                    "You can only print the accounts you manage as Key Account Manager; "
                    "these are not yours: %(accounts)s.",
                    accounts=shown,
                )
            )

    @api.model
    def _check_managers(self, managers):
        """A Key Account Manager prints their own portfolio only."""
        self._check_can_print()
        if not self._is_director() and managers - self.env.user:
            raise AccessError(_("You can only print your own portfolio; a Key Account Director prints everyone's."))

    @api.model
    def _scope_managers(self, companies, managers=None, include_unassigned=False):
        """The KAMs whose accounts the user may print in ``companies``, checked.

        A director gets ``managers`` as asked (none: every KAM); a Key Account Manager always
        gets themselves, and asking for another KAM's accounts, or for the accounts nobody
        manages, raises ``AccessError``.
        """
        self._check_can_print()
        self._check_companies(companies)
        managers = managers or self.env["res.users"]
        if self._is_director():
            return managers
        self._check_managers(managers)
        if include_unassigned:
            raise AccessError(_("Only a Key Account Director can print the accounts without KAM."))
        return self.env.user

    # ------------------------------------------------------------------
    # Scope
    # ------------------------------------------------------------------
    @api.model
    def _classifications(self, keys):
        """The classification rows of ``keys``, with ``sudo()``, in one search."""
        if not keys:
            return self.env["kam.classification"].sudo()
        rows = (
            self.env["kam.classification"]
            .sudo()
            .search(
                [
                    ("company_id", "in", list({c for c, _p in keys})),
                    ("partner_id", "in", list({p for _c, p in keys})),
                ]
            )
        )
        wanted = set(keys)
        return rows.filtered(lambda row: (row.company_id.id, row.partner_id.id) in wanted)

    @api.model
    def _scope_domain(self, companies, managers=None, tiers=None, partners=None, include_unassigned=False):
        """The ``kam.classification`` domain of the accounts a report covers, checked.

        Without KAMs, the accounts of every KAM; ``include_unassigned`` adds (or, without KAMs,
        keeps only) the accounts nobody manages.
        """
        managers = self._scope_managers(companies, managers, include_unassigned)
        domain = [("company_id", "in", companies.ids)]
        if managers and include_unassigned:
            domain += ["|", ("manager_id", "in", managers.ids), ("manager_id", "=", False)]
        elif managers:
            domain.append(("manager_id", "in", managers.ids))
        elif include_unassigned:
            domain.append(("manager_id", "=", False))
        else:
            domain.append(("manager_id", "!=", False))
        domain.append(("tier", "in", list(tiers)) if tiers else ("tier", "!=", False))
        if partners:
            domain.append(("partner_id", "in", partners.commercial_partner_id.ids))
        return domain

    @api.model
    def _scope_classifications(self, companies, managers=None, tiers=None, partners=None, include_unassigned=False):
        """The classified accounts a report covers, checked (see ``_scope_domain``), in print order."""
        domain = self._scope_domain(companies, managers, tiers, partners, include_unassigned)
        return self.env["kam.classification"].sudo().search(domain, order="company_id, manager_id, rank, id")

    # ------------------------------------------------------------------
    # Period
    # ------------------------------------------------------------------
    @api.model
    def _last_run_date(self, company):
        """The date of the company's last classification run, or ``None`` before the first."""
        run = (
            self.env["kam.classification.run"]
            .sudo()
            .search([("company_id", "=", company.id)], order="date desc, id desc", limit=1)
        )
        return run.date or None

    @api.model
    def _default_period(self, company, date_to=None):
        """The company's classification window ending on ``date_to``.

        Without ``date_to``, the window of the last classification run, the one the tiers,
        ranks and cost figures of the screens are computed over (today before the first run).
        """
        date_to = date_to or self._last_run_date(company) or fields.Date.context_today(self)
        return self.env["kam.classification"]._window(company, date_to)

    @api.model
    def _parse_period(self, company, data):
        date_to = fields.Date.to_date(data.get("date_to")) if data.get("date_to") else None
        date_from, date_to = self._default_period(company, date_to)
        if data.get("date_from"):
            date_from = fields.Date.to_date(data["date_from"])
        if date_from > date_to:
            raise UserError(_("The period of the report ends before it starts: choose an end on or after the start."))
        return date_from, date_to
