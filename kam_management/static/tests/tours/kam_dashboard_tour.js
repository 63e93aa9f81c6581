/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// A Key Account Manager opens the Key Accounts dashboard, finds the account at risk on its
// card, reads its KPIs and why its health is low, looks at its evolution and schedules the
// contact the dashboard suggests.
registry.category("web_tour.tours").add("kam_dashboard_tour", {
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
            trigger: ".o_kanban_view .o_kanban_record:contains('Anchor Account') .o_kam_health:contains('75')",
            content: "Each key account has a card with its health score",
        },
        {
            trigger: ".o_kanban_view:not(:has(.o_kanban_record:contains('Third Account')))",
            content: "Only the KAM's own accounts are shown",
        },
        {
            trigger: ".o_kanban_view .o_kanban_record:contains('Second Account') div[name='contact'].text-danger",
            content: "The account not contacted for too long stands out",
        },
        {
            trigger: ".o_kanban_view .o_kanban_record:contains('Second Account') .o_kam_health",
            content: "Open the account at risk",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='health_band']:contains('At risk')",
            content: "Its KPIs: the health band",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='overdue_amount']:contains('2,000')",
            content: "Its KPIs: the overdue receivables",
        },
        {
            trigger: ".o_form_view .o_kam_health_explanation:contains('Overdue receivables')",
            content: "Why the score is low",
        },
        {
            trigger: ".o_form_view button[name='action_open_evolution']",
            content: "See its evolution",
            run: "click",
        },
        {
            trigger: ".o_graph_view .o_graph_renderer canvas",
            content: "The evolution graph, day by day",
        },
        {
            trigger: ".o_control_panel .breadcrumb-item:not(.active) a:contains('Second Account')",
            content: "Back to the account",
            run: "click",
        },
        {
            trigger: ".o_form_view button.btn-primary[name='action_schedule_contact']",
            content: "Schedule the suggested contact",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='activity_type_id'] input:value('Key account contact')",
            content: "The contact is proposed",
        },
        {
            trigger: ".modal button[name='action_schedule_activities']",
            content: "Schedule it",
            run: "click",
        },
        {
            trigger: ".o_form_view:not(:has(.modal))",
            content: "Back on the account",
        },
    ],
});
