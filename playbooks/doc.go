// Package playbooks will load, validate and run YAML response playbooks
// (issue 7).
package playbooks
