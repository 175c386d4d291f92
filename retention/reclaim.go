package retention

// Frees is what deleting the versions in deleted frees in the registry, in
// bytes: their manifests, and every blob (config or layer) they name that
// no other version of the package names, each counted once. It reads only
// the manifests the plan was made from: no blob is fetched to size it.
func (p *Plan) Frees(deleted map[string]bool) int64 {
	if p.graph == nil || len(deleted) == 0 {
		return 0
	}
	gone := make([]bool, p.graph.Len()) // by id
	for digest, del := range deleted {
		if id, ok := p.graph.ID(digest); ok && del {
			gone[id] = true
		}
	}
	return p.frees(gone)
}

// frees is Frees of the versions gone, by id.
func (p *Plan) frees(gone []bool) int64 {
	// Sized up front: at 100,000 versions, maps grown as they fill are
	// tens of MiB of garbage at the run's busiest moment.
	keptBlobs, goneBlobs := 0, 0
	for id, m := range p.graph.All() {
		if gone[id] {
			goneBlobs += len(m.Blobs)
		} else {
			keptBlobs += len(m.Blobs)
		}
	}
	held := make(map[uint64]struct{}, keptBlobs) // named by a version that stays
	for id, m := range p.graph.All() {
		if !gone[id] {
			for _, b := range m.Blobs {
				held[b.Key] = struct{}{}
			}
		}
	}
	freed := make(map[uint64]struct{}, goneBlobs)
	var total int64
	for id, m := range p.graph.All() {
		if !gone[id] {
			continue
		}
		total += m.Size
		for _, b := range m.Blobs {
			_, stays := held[b.Key]
			if _, counted := freed[b.Key]; !stays && !counted {
				freed[b.Key] = struct{}{}
				total += b.Size
			}
		}
	}
	return total
}
