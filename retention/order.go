package retention

// Wave is the pending deletions that no other pending deletion points at,
// in plan order.
func (p *Plan) Wave(pending []Decision, inPlan map[string]bool) []Decision {
	if p.graph == nil {
		return pending
	}
	var out []Decision
	for _, d := range pending {
		top := true
		for _, e := range p.graph.In(d.Digest) {
			if e.From != d.Digest && inPlan[e.From] {
				top = false
				break
			}
		}
		if top {
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
	for _, e := range p.graph.In(digest) {
		if e.From != digest && !gone[e.From] {
			return e.From
		}
	}
	return ""
}
