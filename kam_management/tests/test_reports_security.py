import json
from urllib.parse import quote

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .reports_common import ReportsCommon

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@tagged("post_install", "-at_install")
class TestReportsSecurity(ReportsCommon, HttpCase):
    """Who prints which account, through the report URLs and through RPC.

    Mario (``kam``) manages Anchor Industries, Olga the Greek and Cyrillic account; Dora is a
    director; Sam a salesman. A KAM prints the accounts they manage, a director every account.
    """

    def _get(self, login, url):
        self.authenticate(login, login)
        return self.url_open(url, allow_redirects=False)

    def _review_url(self, partners):
        return f"/report/pdf/kam_management.report_kam_account_review/{','.join(map(str, partners.ids))}"

    def _portfolio_url(self, data):
        return f"/report/pdf/kam_management.report_kam_portfolio?options={quote(json.dumps(data))}"

    def test_account_review_url(self):
        self.assertEqual(self._get("kam_manager", self._review_url(self.anchor)).status_code, 200)
        self.assertEqual(self._get("kam_manager", self._review_url(self.exotic)).status_code, 403)
        self.assertEqual(self._get("kam_manager", self._review_url(self.anchor | self.exotic)).status_code, 403)
        self.assertEqual(self._get("kam_director", self._review_url(self.anchor | self.exotic)).status_code, 200)
        self.assertEqual(self._get("kam_salesman", self._review_url(self.anchor)).status_code, 403)

    def test_account_review_of_a_plan_url(self):
        url = f"/report/pdf/kam_management.report_kam_account_review_plan/{self.exotic_plan.id}"
        self.assertEqual(self._get("kam_manager", url).status_code, 403)
        self.assertEqual(self._get("kam_other_reports", url).status_code, 200)

    def test_account_keys_in_the_url_are_checked(self):
        """The dialog's ``account_keys`` cannot be used to print another KAM's account."""
        data = {"account_keys": [[self.company.id, self.exotic.id]]}
        url = f"/report/pdf/kam_management.report_kam_account_review?options={quote(json.dumps(data))}"
        self.assertEqual(self._get("kam_manager", url).status_code, 403)

    def test_portfolio_url(self):
        own = {"company_ids": self.company.ids, "manager_ids": self.kam.ids}
        other = {"company_ids": self.company.ids, "manager_ids": self.other_kam.ids}
        self.assertEqual(self._get("kam_manager", self._portfolio_url(own)).status_code, 200)
        self.assertEqual(self._get("kam_manager", self._portfolio_url(other)).status_code, 403)
        self.assertEqual(self._get("kam_director", self._portfolio_url(other)).status_code, 200)
        olga_row = self.env["kam.portfolio"].search([("user_id", "=", self.other_kam.id)])
        url = f"/report/pdf/kam_management.report_kam_portfolio/{olga_row.id}"
        self.assertEqual(self._get("kam_manager", url).status_code, 403)

    def test_xlsx_urls(self):
        company = self.company.id
        response = self._get("kam_manager", f"/kam_management/xlsx/pareto?company_ids={company}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], XLSX_MIMETYPE)
        sheet = self.open_workbook(response.content).worksheets[0]
        self.assertEqual([row[1] for row in sheet.iter_rows(min_row=2, values_only=True)], ["Anchor Industries"])
        url = f"/kam_management/xlsx/portfolio?company_ids={company}&manager_ids={self.other_kam.id}"
        self.assertEqual(self._get("kam_manager", url).status_code, 403)
        self.assertEqual(self._get("kam_director", url).status_code, 200)
        self.assertEqual(
            self._get("kam_salesman", f"/kam_management/xlsx/pareto?company_ids={company}").status_code, 403
        )
        self.assertEqual(self._get("kam_manager", "/kam_management/xlsx/pareto?company_ids=x").status_code, 400)
        self.assertEqual(self._get("kam_manager", "/kam_management/xlsx/unknown").status_code, 404)

    def test_rpc(self):
        """The same rules when the reports are rendered by code as the user."""
        Report = self.env["ir.actions.report"].with_user(self.kam)
        with self.assertRaises(AccessError):
            Report._render_qweb_pdf("kam_management.action_report_kam_account_review", self.exotic.ids)
        with self.assertRaises(AccessError):
            Report._render_qweb_html("kam_management.action_report_kam_account_review", self.exotic.ids)
        html, _kind = Report._render_qweb_html("kam_management.action_report_kam_account_review", self.anchor.ids)
        self.assertIn("Anchor Industries", html.decode() if isinstance(html, bytes) else html)
        with self.assertRaises(AccessError):
            self.env["kam.pareto.xlsx"].with_user(self.kam)._generate(self.company, managers=self.other_kam)
        with self.assertRaises(AccessError):
            self.env["kam.portfolio.xlsx"].with_user(self.salesman)._generate(self.company)

    def test_dialog(self):
        """The dialog prints what the user may print; a KAM's KAMs are themselves."""
        Wizard = self.env["kam.report.wizard"].with_user(self.kam)
        wizard = Wizard.create({"report_kind": "account_review", "company_ids": self.company.ids})
        self.assertEqual(wizard.manager_ids, self.kam)
        action = wizard.action_print()
        self.assertEqual(action["type"], "ir.actions.report")
        self.assertEqual(action["data"]["account_keys"], [[self.company.id, self.anchor.id]])
        wizard.report_kind = "pareto_xlsx"
        self.assertTrue(wizard.action_print()["url"].startswith("/kam_management/xlsx/pareto?"))
        wizard.write({"report_kind": "account_review", "partner_ids": [(6, 0, self.exotic.ids)]})
        with self.assertRaises(AccessError):
            wizard.action_print()
        from_list = Wizard.with_context(active_model="kam.account.plan", active_ids=self.plan.ids).create({})
        self.assertEqual(from_list.partner_ids, self.anchor)
        self.assertEqual(from_list.report_kind, "account_review")
