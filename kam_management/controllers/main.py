from werkzeug.exceptions import BadRequest, NotFound

from odoo import fields, http
from odoo.http import content_disposition, request

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIER_CODES = ("a", "b", "c")


def _ids(value):
    """``"1,2,3"`` -> ``[1, 2, 3]``; anything else is a bad request."""
    if not value:
        return []
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as error:
        raise BadRequest("Ids are integers separated by commas.") from error


def _date(value):
    if not value:
        return None
    try:
        return fields.Date.to_date(value)
    except ValueError as error:
        raise BadRequest("Dates are written YYYY-MM-DD.") from error


class KamReportController(http.Controller):
    """Downloads of the key-account workbooks.

    ``/kam_management/xlsx/pareto`` and ``/kam_management/xlsx/portfolio`` take the scope as
    query parameters (``company_ids``, ``manager_ids``, ``partner_ids``: ids separated by
    commas; ``tiers``: ``a,b,c``; ``date_from``, ``date_to``). The workbooks check the user's
    access themselves: a Key Account Manager asking for another KAM's accounts gets a 403.
    """

    @http.route("/kam_management/xlsx/<string:kind>", type="http", auth="user", methods=["GET"])
    def kam_xlsx(self, kind, company_ids=None, manager_ids=None, partner_ids=None, tiers=None, **params):
        env = request.env
        companies = env["res.company"].browse(_ids(company_ids)) or env.company
        managers = env["res.users"].browse(_ids(manager_ids))
        partners = env["res.partner"].browse(_ids(partner_ids))
        tier_list = [tier for tier in (tiers or "").split(",") if tier]
        if any(tier not in TIER_CODES for tier in tier_list):
            raise BadRequest("Tiers are a, b and c, separated by commas.")
        if kind == "pareto":
            name, content = env["kam.pareto.xlsx"]._generate(
                companies, tiers=tier_list, managers=managers, partners=partners
            )
        elif kind == "portfolio":
            name, content = env["kam.portfolio.xlsx"]._generate(
                companies,
                managers=managers,
                tiers=tier_list,
                partners=partners,
                date_from=_date(params.get("date_from")),
                date_to=_date(params.get("date_to")),
            )
        else:
            raise NotFound()
        return request.make_response(
            content,
            headers=[
                ("Content-Type", XLSX_MIMETYPE),
                ("Content-Length", len(content)),
                ("Content-Disposition", content_disposition(name)),
            ],
        )
