// Package playbooks loads, validates and runs YAML response playbooks
// (issue 7): triggers that pick alerts, and ordered steps that assess,
// notify, remediate, collect evidence, wait, escalate, manage the incident
// and roll back. Every load error names file:line:column and the field;
// expressions (expr-lang) are compiled against a typed environment at load.
// The Executor runs a playbook against the small interfaces declared in
// deps.go on an injected Clock, so a replay gives the same trace for the
// same input. README.md describes the format.
package playbooks
