// Package tui will hold the bubbletea console (issue 5). It talks to the
// engine only through a Console interface, so it can host the engine
// in-process or attach to a daemon through package control.
package tui
