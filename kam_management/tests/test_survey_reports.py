import io

import openpyxl
from lxml import html as lxml_html

from odoo.tests import tagged

from .reports_common import norm
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

    def _review_html(self):
        Report = self.env["ir.actions.report"].with_user(self.director)
        html, _kind = Report._render_qweb_html("kam_management.action_report_kam_account_review", self.account.ids)
        return lxml_html.fromstring(html.decode())

    @staticmethod
    def _labelled(tree, label):
        """The text of the paragraph where ``label`` is printed in bold, from the label on."""
        found = [
            norm(strong.getparent().text_content())
            for strong in tree.iter("strong")
            if norm(strong.text_content()) == label
        ]
        return [text[text.index(label) :] for text in found]

    def test_review_pdf_says_whose_score_is_whose(self):
        """The printed review labels the KAM's own score as the KAM's assessment and the customer's
        as the survey's, each next to its own value."""
        self.env["kam.account.review"].create({"plan_id": self.plan.id, "date": self.day, "satisfaction_score": 8.0})
        tree = self._review_html()
        kam = self._labelled(tree, "KAM's assessment (review)")
        self.assertEqual(len(kam), 1, "the KAM's score is printed once, labelled")
        self.assertTrue(kam[0].startswith("KAM's assessment (review): 8.0/10"), kam[0])
        customer = self._labelled(tree, "Customer satisfaction (survey)")
        self.assertEqual(len(customer), 1, "the customer's score is printed once, labelled")
        # Answers of the last 12 months on the 1–5 service question: 5, 4 and 2, that is 10, 7.5
        # and 2.5 on 0–10; the answer of 400 days ago is out of the window.
        self.assertAlmostEqual(self._figures().kam_survey_satisfaction, 20.0 / 3, places=6)
        self.assertTrue(customer[0].startswith("Customer satisfaction (survey): 6.7/10"), customer[0])
        self.assertFalse(self._labelled(tree, "Satisfaction"), "no score left without saying whose it is")
