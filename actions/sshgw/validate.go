package sshgw

import "github.com/phantomsoc/phantomsoc/actions"

// checkElements checks every element before anything is rendered.
// actions.RenderBatch trusts its input (it quotes only the interface name and
// copies the set name verbatim), and the script goes to a root shell's nft,
// so this is the line nothing hostile crosses.
func checkElements(what string, elems []actions.Element) error {
	return actions.CheckElements(what, elems)
}
