// Package actions will hold the Enforcer implementations (issue 4):
// nftables over netlink, SSH gateways and dry-run, each action with its
// inverse. Until then decisions are data and phantomsoc enforces nothing.
package actions
