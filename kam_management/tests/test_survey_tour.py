from odoo.tests import HttpCase, tagged

from .survey_common import SurveyCommon


@tagged("post_install", "-at_install")
class TestSurveyTour(SurveyCommon, HttpCase):
    """The customer answers through the public link of their invitation, without logging in; the
    KAM's dashboard then shows the new score and the call back."""

    def test_customer_answers_and_the_kam_sees_it(self):
        answer = self.Answer._kam_invite(self.survey, self.company, self.bea)
        self.start_tour(answer.get_start_url(), "kam_survey_answer_tour")
        answer.invalidate_recordset()
        self.assertEqual(answer.state, "done")
        self.assertEqual(answer.kam_recommendation_score, 3)
        self.assertEqual(answer.kam_nps_category, "detractor")
        self.assertEqual(answer.kam_activity_id.user_id, self.kam)
        self.assertEqual(self._figures().kam_nps, -100.0)
        self.env["kam.kpi.snapshot"]._take_snapshots(self.company, self.day, alerts=False)
        self.start_tour("/odoo", "kam_survey_dashboard_tour", login="kam_manager")
