import io

import openpyxl

from odoo.tests import tagged

from .survey_common import SurveyCommon


@tagged("post_install", "-at_install")
class TestSurveyReports(SurveyCommon):
    """The Key Account Review and the Portfolio workbook print the figures the partner form shows."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._answer(cls.bea, 10, days_ago=20, service=5)
        cls._answer(cls.otto, 10, days_ago=20, service=4)
        cls._answer(cls.bea, 3, days_ago=400, service=1)  # a year earlier: NPS -100
        comment = cls.env.ref("kam_management.survey_key_account_relationship_q_comment")
        answer = cls._answer(cls.otto, 5, days_ago=2, service=2)
        cls.env["survey.user_input.line"].sudo().create(
            {
                "user_input_id": answer.id,
                "question_id": comment.id,
                "answer_type": "text_box",
                "value_text_box": "Deliveries were late twice.",
            }
        )
        cls.env["kam.kpi.snapshot"]._take_snapshots(cls.company, cls.day, alerts=False)

    def test_partner_snapshot_pdf_and_workbook_agree(self):
        partner = self._figures()
        self.assertAlmostEqual(partner.kam_nps, 100.0 / 3, places=6, msg="2 promoters, 1 detractor")
        snapshot = self.env["kam.kpi.snapshot"].search([("partner_id", "=", self.account.id), ("date", "=", self.day)])
        self.assertAlmostEqual(snapshot.customer_nps, partner.kam_nps, places=6)

        values = (
            self.env["report.kam_management.report_kam_account_review"]
            .with_user(self.director)
            ._get_report_values(self.account.ids, data={})
        )
        voice = values["docs"][0]["voice"]
        self.assertEqual(voice["nps"], "33")
        self.assertEqual(voice["answers"], partner.kam_survey_answer_count)
        self.assertIn("133", voice["trend"], "from −100 a year earlier to 33")
        self.assertEqual(voice["verbatims"][0]["text"], "Deliveries were late twice.")
        self.assertEqual(voice["verbatims"][0]["score"], 5)

        _name, content = self.env["kam.portfolio.xlsx"].with_user(self.director)._generate(self.company)
        sheet = openpyxl.load_workbook(io.BytesIO(content))["KPI snapshots"]
        header = [cell.value for cell in sheet[1]]
        rows = [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[4] == "Survey Account"]
        self.assertEqual(len(rows), 1)
        row = dict(zip(header, rows[0], strict=True))
        self.assertAlmostEqual(row["NPS (12 months)"], partner.kam_nps, places=6)
        self.assertAlmostEqual(row["Customer satisfaction (0–10)"], partner.kam_survey_satisfaction, places=6)
        self.assertEqual(row["Survey answers (12 months)"], 3)
