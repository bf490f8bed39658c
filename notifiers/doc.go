// Package notifiers will hold one Notifier per channel (issue 6): Slack,
// PagerDuty, email, webhooks, Teams/Mattermost and SMS.
package notifiers
