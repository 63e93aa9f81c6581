/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// A director finds the key accounts in the Key Accounts app, opens one, sees its figures and
// history on the customer form, and locks its tier.
registry.category("web_tour.tours").add("kam_classification_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: ".o_app[data-menu-xmlid='kam_management.menu_kam_root']",
            content: "Open the Key Accounts app",
            run: "click",
        },
        {
            trigger: ".o_main_navbar [data-menu-xmlid='kam_management.menu_kam_classification']",
            content: "Open the key accounts",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Tour Anchor Customer') .o_field_badge:contains('A – Key account')",
            content: "The biggest customer is a key account",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Tour Small Customer'):contains('C')",
            content: "The smallest is tier C",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Tour Anchor Customer') td[name='partner_id']",
            content: "Open the key account",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='rank']:contains('1')",
            content: "It ranks first",
        },
        {
            trigger: ".o_form_view button[name='action_open_partner']",
            content: "Go to the customer",
            run: "click",
        },
        {
            trigger: ".o_form_view .ribbon:contains('Key account')",
            content: "The customer form shows the key-account ribbon",
        },
        {
            trigger: ".o_notebook a[name='key_account'], .o_notebook .nav-link:contains('Key Account')",
            content: "Open the Key Account tab",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='kam_revenue_12m']:contains('9,000.00')",
            content: "The revenue of the window is shown",
        },
        {
            trigger: ".o_field_widget[name='kam_tier_history_ids'] .o_data_row",
            content: "The tier history is listed",
        },
        {
            trigger: "button[name='action_kam_lock_tier']",
            content: "Lock the tier",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='reason'] input",
            content: "Say why",
            run: "edit Strategic account this year",
        },
        {
            trigger: ".modal button[name='action_apply']",
            content: "Confirm the lock",
            run: "click",
        },
        {
            trigger: ".o_form_view:not(:has(.modal)) .o_field_widget[name='kam_lock_reason']:contains('Strategic account this year')",
            content: "The lock and its reason are shown",
        },
    ],
});
