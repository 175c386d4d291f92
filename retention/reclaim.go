package retention

import (
	"cmp"
	"slices"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

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

// frees is Frees of the versions gone, by id. The blobs are counted from
// sorted slices rather than sets: at 100,000 versions a map of every blob
// is several times the size of its keys, at the run's busiest moment.
func (p *Plan) frees(gone []bool) int64 {
	keptBlobs, goneBlobs := 0, 0
	for id, m := range p.graph.All() {
		if gone[id] {
			goneBlobs += len(m.Blobs)
		} else {
			keptBlobs += len(m.Blobs)
		}
	}
	held := make([]uint64, 0, keptBlobs) // keys named by a version that stays
	freed := make([]manifest.Blob, 0, goneBlobs)
	var total int64
	for id, m := range p.graph.All() {
		if !gone[id] {
			for _, b := range m.Blobs {
				held = append(held, b.Key)
			}
			continue
		}
		total += m.Size
		freed = append(freed, m.Blobs...)
	}
	slices.Sort(held)
	// Stable, so that of two blobs sharing a key the first named counts.
	slices.SortStableFunc(freed, func(a, b manifest.Blob) int { return cmp.Compare(a.Key, b.Key) })
	for i, b := range freed {
		if i > 0 && freed[i-1].Key == b.Key {
			continue
		}
		if _, stays := slices.BinarySearch(held, b.Key); !stays {
			total += b.Size
		}
	}
	return total
}
