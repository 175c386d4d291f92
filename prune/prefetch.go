package prune

import (
	"context"
	"errors"
	"sync"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// pagesKey carries, in a load's context, the function that takes each page
// of the listing as it arrives.
type pagesKey struct{}

// ListedPage hands page, just read, to the load that asked for the listing
// in ctx, so that it reads the page's manifests while later pages are still
// on their way instead of after the last. A Source that reads its listing a
// page at a time calls it with each page; pages may come in any order, and
// again when the listing is read again. What a load reads this way serves
// only the versions of the listing Versions then returns: a manifest is
// immutable by its digest, so reading one early changes nothing but when.
func ListedPage(ctx context.Context, page []retention.Version) {
	if f, ok := ctx.Value(pagesKey{}).(func([]retention.Version)); ok {
		f(page)
	}
}

// prefetch reads manifests of versions as their pages are listed, at the
// manifest concurrency. A version gone in between is left to load, which
// lists again; any other failure stops the reads at once and fails the load,
// as load itself does.
type prefetch struct {
	src      Source
	pkg      string
	known    map[string]*manifest.Manifest
	progress *Progress

	mu   sync.Mutex
	wake *sync.Cond
	// queue is what is left to read: the pages' own slices where every
	// version of a page is to be read, so that a listing is not copied
	// version by version into one growing queue.
	queue  [][]retention.Version
	queued map[string]bool
	got    map[string]*manifest.Manifest
	closed bool // no more digests come
	// early counts the manifests read before the listing ended, which the
	// progress counts once it shows the reading (counting).
	early    int
	counting bool
	stopped  bool // a read failed for a reason other than a gone version: read nothing more
	err      error
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func startPrefetch(ctx context.Context, src Source, pkg string, known map[string]*manifest.Manifest) (*prefetch, context.Context) {
	p := &prefetch{src: src, pkg: pkg, known: known, progress: ProgressFrom(ctx),
		queued: map[string]bool{}, got: map[string]*manifest.Manifest{}}
	p.wake = sync.NewCond(&p.mu)
	work, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	for range ManifestConcurrency {
		p.wg.Add(1)
		go p.work(work)
	}
	return p, context.WithValue(ctx, pagesKey{}, p.add)
}

// add queues the page's digests not known or queued already.
func (p *prefetch) add(page []retention.Version) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	take := make([]bool, len(page))
	n := 0
	for i, v := range page {
		if _, ok := p.known[v.Digest]; ok || p.queued[v.Digest] {
			continue
		}
		p.queued[v.Digest] = true
		take[i] = true
		n++
	}
	switch n {
	case 0:
		return
	case len(page):
		p.queue = append(p.queue, page)
	default:
		fresh := make([]retention.Version, 0, n)
		for i, v := range page {
			if take[i] {
				fresh = append(fresh, v)
			}
		}
		p.queue = append(p.queue, fresh)
	}
	p.wake.Broadcast()
}

func (p *prefetch) work(ctx context.Context) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed && !p.stopped {
			p.wake.Wait()
		}
		if p.stopped || len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		v := p.queue[0][0]
		if p.queue[0] = p.queue[0][1:]; len(p.queue[0]) == 0 {
			// Cleared, or the queue's array would keep every page read
			// alive: megabytes at 100,000 versions.
			p.queue[0] = nil
			p.queue = p.queue[1:]
		}
		p.mu.Unlock()

		m, err := fetchManifest(ctx, p.src, p.pkg, v)
		p.mu.Lock()
		switch {
		case err == nil:
			p.got[v.Digest] = m
			if p.counting {
				p.progress.readOne()
			} else {
				p.early++
			}
		case !errors.Is(err, ErrGone) && !p.stopped:
			p.stopped, p.err = true, err
			p.cancel()
			p.wake.Broadcast()
		}
		p.mu.Unlock()
	}
}

// finish reads what is left of versions' manifests, waits for the reads,
// and returns known with every manifest read, or the first failure. Reads
// stop at once when listed is false (the listing failed).
func (p *prefetch) finish(versions []retention.Version, listed bool) (map[string]*manifest.Manifest, error) {
	defer p.cancel()
	p.mu.Lock()
	if listed {
		p.mu.Unlock()
		p.add(versions) // a Source that does not hand out its pages
		p.mu.Lock()
		p.progress.reading(p.pkg, len(p.queued))
		for range p.early {
			p.progress.readOne()
		}
		p.counting = true
	} else {
		p.stopped = true
	}
	p.closed = true
	p.wake.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
	p.queued = nil // megabytes at 100,000 versions, and no more digests come
	if !listed {
		return nil, nil
	}
	if p.err != nil {
		return nil, p.err
	}
	canon := digestsOf(versions)
	for d, m := range p.got {
		if _, ok := canon[d]; ok {
			shareDigests(canon, m)
		} else {
			delete(p.got, d)
		}
	}
	if len(p.known) == 0 {
		return p.got, nil // no copy of a map of 100,000 manifests
	}
	out := make(map[string]*manifest.Manifest, len(p.known)+len(p.got))
	for d, m := range p.known {
		out[d] = m
	}
	for d, m := range p.got {
		out[d] = m
	}
	return out, nil
}
