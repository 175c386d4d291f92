package retention

// Frees is what deleting the versions in deleted frees in the registry, in
// bytes: their manifests, and every blob (config or layer) they name that
// no other version of the package names, each counted once. It reads only
// the manifests the plan was made from: no blob is fetched to size it.
func (p *Plan) Frees(deleted map[string]bool) int64 {
	if p.graph == nil || len(deleted) == 0 {
		return 0
	}
	// Sized up front: at 100,000 versions, maps grown as they fill are
	// tens of MiB of garbage at the run's busiest moment.
	keptBlobs, goneBlobs := 0, 0
	for n := range p.graph.All() {
		if deleted[n.Digest] {
			goneBlobs += len(n.Manifest.Blobs)
		} else {
			keptBlobs += len(n.Manifest.Blobs)
		}
	}
	held := make(map[uint64]struct{}, keptBlobs) // named by a version that stays
	for n := range p.graph.All() {
		if !deleted[n.Digest] {
			for _, b := range n.Manifest.Blobs {
				held[b.Key] = struct{}{}
			}
		}
	}
	freed := make(map[uint64]struct{}, goneBlobs)
	var total int64
	for n := range p.graph.All() {
		if !deleted[n.Digest] {
			continue
		}
		total += n.Manifest.Size
		for _, b := range n.Manifest.Blobs {
			_, stays := held[b.Key]
			if _, counted := freed[b.Key]; !stays && !counted {
				freed[b.Key] = struct{}{}
				total += b.Size
			}
		}
	}
	return total
}

// deleting is the set of the plan's deletions.
func (p *Plan) deleting() map[string]bool {
	set := make(map[string]bool, len(p.Delete))
	for _, d := range p.Delete {
		set[d.Digest] = true
	}
	return set
}
