/** @odoo-module **/

import { registry } from "@web/core/registry";

// A Key Account Manager opens their draft plan from the plans' kanban, reads the
// objectives' status, adds a step to the action plan (scheduled as their to-do)
// and activates the plan.
registry.category("web_tour.tours").add("kam_account_plan_tour", {
    url: "/odoo/action-kam_management.kam_account_plan_action",
    steps: () => [
        {
            trigger: ".o_kanban_group:contains('Draft') .o_kanban_record:contains('Tour Plan Account')",
            content: "The draft plan is in the Draft column",
            run: "click",
        },
        {
            trigger: ".o_breadcrumb:contains('Tour Plan Account')",
            content: "The plan of the account is open",
        },
        {
            trigger: ".o_notebook .nav-link:contains('Objectives')",
            content: "Open the objectives",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='objective_ids'] .o_data_row:contains('Revenue') .badge:contains('On track')",
            content: "Revenue is on track",
        },
        {
            trigger: ".o_field_widget[name='objective_ids'] .o_data_row:contains('Manual measure') .badge:contains('Off track')",
            content: "The manual measure is off track",
        },
        {
            trigger: ".o_notebook .nav-link:contains('Action plan')",
            content: "Open the action plan",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='action_ids'] .o_field_x2many_list_row_add a",
            content: "Add a step",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='action_ids'] .o_selected_row .o_field_widget[name='name'] input",
            content: "Name the step",
            run: "edit Call the buyer",
        },
        {
            trigger: ".o_form_button_save",
            content: "Save the plan",
            run: "click",
        },
        {
            trigger: ".o_form_saved .o_field_widget[name='action_ids'] .o_data_row:contains('Call the buyer')",
            content: "The step is saved",
        },
        {
            trigger: ".o-mail-Chatter .o-mail-Activity:contains('Call the buyer')",
            content: "The step is scheduled as an activity of the plan",
        },
        {
            trigger: ".o_form_view button[name='action_activate']",
            content: "Activate the plan",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Active')",
            content: "The plan is active",
        },
        {
            trigger: ".o_notebook .nav-link:contains('Stakeholders')",
            content: "Open the stakeholder map",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='stakeholder_ids'] .o_data_row:contains('Tour Buyer')",
            content: "The buyer is on the map",
        },
    ],
});
