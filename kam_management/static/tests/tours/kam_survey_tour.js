/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// The customer's contact opens the personal link of their invitation, without logging in,
// and answers the relationship survey as a detractor.
registry.category("web_tour.tours").add("kam_survey_answer_tour", {
    steps: () => [
        {
            trigger: "button.btn:contains('Start')",
            content: "Start the survey from the personal link",
            run: "click",
        },
        {
            trigger: "div.js_question-wrapper:contains('recommend us') label:has(input[value='3'])",
            content: "Answer 3 out of 10 to the recommendation question",
            run: "click",
        },
        {
            trigger: "div.js_question-wrapper:contains('responsive') label:has(input[value='2'])",
            content: "Rate the account manager's responsiveness 2 out of 5",
            run: "click",
        },
        {
            trigger: "div.js_question-wrapper:contains('do better') textarea",
            content: "Say what to do better",
            run: "edit Deliveries were late and nobody called us.",
        },
        {
            trigger: "button[value='finish']",
            content: "Submit the answers",
            run: "click",
        },
        {
            trigger: ".o_survey_finished, h1:contains('Thank you')",
            content: "The survey thanks the customer",
        },
    ],
});

// The account's Key Account Manager then finds the new score and the call back on the dashboard.
registry.category("web_tour.tours").add("kam_survey_dashboard_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: ".o_app[data-menu-xmlid='kam_management.menu_kam_root']",
            content: "Open the Key Accounts app",
            run: "click",
        },
        {
            trigger: ".o_main_navbar [data-menu-xmlid='kam_management.menu_kam_dashboard']",
            content: "Open the dashboard",
            run: "click",
        },
        {
            trigger: ".o_kanban_record:contains('Survey Account') div[name='nps']:contains('-100')",
            content: "The card shows the customer's NPS",
        },
        {
            trigger: ".o_kanban_record:contains('Survey Account') div[name='detractors']:contains('1')",
            content: "The card shows the detractor to call back",
        },
    ],
});
