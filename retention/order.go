package retention

// Wave is the pending deletions that no other pending deletion points at,
// in plan order.
func (p *Plan) Wave(pending []Decision, inPlan map[string]bool) []Decision {
	if p.graph == nil {
		return pending
	}
	var out []Decision
	for _, d := range pending {
		if p.pointer(d.Digest, func(from string) bool { return inPlan[from] }) == "" {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return pending // a cycle: fall back to plan order and the blocker check
	}
	return out
}

// Blocker returns a version that points at digest and still exists.
func (p *Plan) Blocker(digest string, gone map[string]bool) string {
	if p.graph == nil {
		return ""
	}
	return p.pointer(digest, func(from string) bool { return !gone[from] })
}

// pointer is the first version other than digest itself that points at
// digest and counts.
func (p *Plan) pointer(digest string, counts func(from string) bool) string {
	id, ok := p.graph.ID(digest)
	if !ok {
		return ""
	}
	for _, e := range p.graph.In(id) {
		if from := p.graph.Digest(e.From); e.From != id && counts(from) {
			return from
		}
	}
	return ""
}
