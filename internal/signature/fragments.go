package signature

import (
	"fmt"
)

// parts are the elements of one ParentPrescription that the signature covers
// or that verification needs (../shared/spec/hl7v3.md §7.2).
type parts struct {
	pp            int32 // ParentPrescription
	presc         int32 // pertinentInformation1/pertinentPrescription
	id            int32 // pertinentPrescription/id[1]: the prescription UUID
	author        int32
	time          int32 // author/time: the signing time
	agentPerson   int32 // author/AgentPerson
	recordTarget  int32
	lineItems     []int32 // pertinentInformation2/pertinentLineItem, in message order
	signatureText int32   // author/signatureText, or none
}

// formatError is a prescription whose shape makes the signed fragments
// impossible to rebuild.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

func formatErrorf(format string, args ...any) error {
	return &formatError{fmt.Sprintf(format, args...)}
}

// one returns the single HL7 child of i named local.
func (t *tree) one(i int32, local, where string) (int32, error) {
	cs := t.hl7Children(i, local)
	switch len(cs) {
	case 1:
		return cs[0], nil
	case 0:
		return none, formatErrorf("%s has no %s", where, local)
	default:
		return none, formatErrorf("%s has %d %s elements, expected one", where, len(cs), local)
	}
}

// locate finds the signed parts of the ParentPrescription at pp.
func locate(t *tree, pp int32) (p parts, err error) {
	p = parts{pp: pp, presc: none, id: none, author: none, time: none, agentPerson: none, recordTarget: none, signatureText: none}
	if p.recordTarget, err = t.one(pp, "recordTarget", "ParentPrescription"); err != nil {
		return p, err
	}
	pi1, err := t.one(pp, "pertinentInformation1", "ParentPrescription")
	if err != nil {
		return p, err
	}
	if p.presc, err = t.one(pi1, "pertinentPrescription", "pertinentInformation1"); err != nil {
		return p, err
	}
	if p.id = t.hl7Child(p.presc, "id"); p.id == none {
		return p, formatErrorf("pertinentPrescription has no id")
	}
	if p.author, err = t.one(p.presc, "author", "pertinentPrescription"); err != nil {
		return p, err
	}
	if p.time, err = t.one(p.author, "time", "author"); err != nil {
		return p, err
	}
	if p.agentPerson, err = t.one(p.author, "AgentPerson", "author"); err != nil {
		return p, err
	}
	switch st := t.hl7Children(p.author, "signatureText"); len(st) {
	case 0:
	case 1:
		p.signatureText = st[0]
	default:
		return p, formatErrorf("author has %d signatureText elements, expected at most one", len(st))
	}
	for _, pi2 := range t.hl7Children(p.presc, "pertinentInformation2") {
		li, err := t.one(pi2, "pertinentLineItem", "pertinentInformation2")
		if err != nil {
			return p, err
		}
		p.lineItems = append(p.lineItems, li)
	}
	return p, nil
}

// fragments appends the canonical FragmentsToBeHashed document to buf: the
// bytes whose digest is the Reference's DigestValue.
func (p *parts) fragments(t *tree, buf []byte) []byte {
	c := canonicaliser{t: t, epsMode: true, buf: buf}
	c.buf = append(c.buf, "<FragmentsToBeHashed><Fragment>"...)
	c.writeElement(p.time, 2)
	c.writeElement(p.id, 2)
	c.buf = append(c.buf, "</Fragment><Fragment>"...)
	c.writeElement(p.agentPerson, 2)
	c.buf = append(c.buf, "</Fragment><Fragment>"...)
	c.writeElement(p.recordTarget, 2)
	c.buf = append(c.buf, "</Fragment>"...)
	for _, li := range p.lineItems {
		c.buf = append(c.buf, "<Fragment>"...)
		c.filter = lineItemFilter(li)
		c.writeElement(li, 2)
		c.filter = nil
		c.buf = append(c.buf, "</Fragment>"...)
	}
	c.buf = append(c.buf, "</FragmentsToBeHashed>"...)
	return c.buf
}

// lineItemFilter writes a line item the way the EPS signs it
// (getLineItemWithoutStatus, getLineItemWithoutRepeatNumberLow): without its
// item status (pertinentInformation4), which changes as it is dispensed, and
// with repeatNumber reduced to its high bound (the issue number in low
// changes with each repeat-dispensing issue; the rebuilt element keeps no
// attributes either).
func lineItemFilter(root int32) func(c *canonicaliser, i int32, depth int) bool {
	return func(c *canonicaliser, i int32, depth int) bool {
		t := c.t
		n := &t.nodes[i]
		if n.parent != root || n.kind != elemNode || !isHL7(n.name.Space) {
			return false
		}
		switch n.name.Local {
		case "pertinentInformation4":
			return true // dropped
		case "repeatNumber":
			c.startTag(i, depth, false)
			for _, h := range t.hl7Children(i, "high") {
				c.writeElement(h, depth+1)
			}
			c.popNS(depth)
			c.endTag(i)
			return true
		}
		return false
	}
}
