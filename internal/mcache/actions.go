package mcache

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	actionscache "github.com/tonistiigi/go-actions-cache"
)

// MaxBlobSize caps the Actions cache blob, both as stored (compressed) and
// as decoded. A set of manifests that will not fit is not saved (Save
// returns ErrTooLarge); a stored blob that is bigger is read no further
// (Load returns ErrTooLarge).
var MaxBlobSize int64 = 256 << 20

// ErrTooLarge is returned by an Actions store's Save when the encoded
// entries exceed MaxBlobSize.
var ErrTooLarge = errors.New("manifest cache is too large for one GitHub Actions cache entry")

// ActionsTimeout bounds each Load and Save of an Actions store, so an
// unresponsive cache service delays a run but never hangs it.
var ActionsTimeout = 3 * time.Minute

// blobMagic starts the decoded blob: a version line, then two sections,
// each ended by a uvarint 0. The manifests: uvarint(len(digest)) digest
// uvarint(len(raw)) raw, sorted by digest. The package listings:
// uvarint(len(package)) package uvarint(len(listing)) listing (as
// WriteListing writes it), sorted by package. Nothing follows the second
// section. The whole stream is gzip-compressed.
const blobMagic = "ghcr-prune manifest cache v2\n"

// blobMagicV1 starts a blob of manifests alone, to the end of the stream.
// Its manifests are read, so that an entry an earlier release saved spares
// the downloads all the same.
const blobMagicV1 = "ghcr-prune manifest cache v1\n"

// Actions returns a Store that keeps the whole set of manifests as one blob
// in the GitHub Actions cache, with owner's package listings (see
// Listings). Cache entries are immutable, so Save writes a new entry under
// key + "-" + a hash of what it holds, and Load restores the newest entry
// whose key starts with key + "-". Save does nothing when every manifest
// was already in what Load restored and every listing kept is one restored.
// Neither holds the decoded blob: Load decodes as it downloads, and Save
// encodes into a temporary file.
func Actions(c *actionscache.Cache, key, owner string) ListingStore {
	return &actionsStore{c: c, key: key, listings: newListingSet(owner, "GitHub Actions cache key "+key)}
}

// ListingStore is a Store that keeps package listings with the manifests.
type ListingStore interface {
	Store
	// Listings are the package listings Load restored and Save saves.
	Listings() *ListingSet
}

type actionsStore struct {
	c        *actionscache.Cache
	key      string
	listings *ListingSet

	mu       sync.Mutex
	loaded   map[dkey]struct{} // digests restored by Load (or written by Save)
	restored string            // key of the entry Load restored
}

func (s *actionsStore) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := "v1"
	if s.c != nil && s.c.IsV2 {
		v = "v2"
	}
	out := fmt.Sprintf("GitHub Actions cache key %s (cache service %s)", s.key, v)
	if s.restored != "" {
		out += ", restored " + s.restored
	}
	return out
}

func (s *actionsStore) Listings() *ListingSet { return s.listings }

// Load decodes the blob as it downloads, seeding c with each entry and the
// listings with each listing: neither the compressed nor the decoded blob
// is held. Its errors name no URL's query (see withoutQueries).
func (s *actionsStore) Load(ctx context.Context, c *Cache) error {
	return withoutQueries(s.load(ctx, c.Seed))
}

func (s *actionsStore) load(ctx context.Context, put func(digest string, raw []byte)) error {
	ctx, cancel := context.WithTimeout(ctx, ActionsTimeout)
	defer cancel()
	ent, err := s.c.Load(ctx, s.key+"-")
	if err != nil {
		return fmt.Errorf("looking up GitHub Actions cache %s: %w", s.key, err)
	}
	if ent == nil {
		return nil
	}
	dl := ent.Download(ctx)
	defer dl.Close()
	src := &downloadReader{r: dl, limit: MaxBlobSize}
	loaded := map[dkey]struct{}{}
	err = decodeBlob(bufio.NewReaderSize(src, 64<<10), MaxBlobSize, func(d string, raw []byte) {
		if k, ok := parseDigest(d); ok {
			loaded[k] = struct{}{}
		}
		put(d, raw)
	}, s.listings.restore)
	if src.err != nil {
		return fmt.Errorf("downloading GitHub Actions cache %s: %w", ent.Key, src.err)
	}
	if err != nil {
		return fmt.Errorf("reading GitHub Actions cache %s: %w", ent.Key, err)
	}
	s.mu.Lock()
	s.loaded, s.restored = loaded, ent.Key
	s.mu.Unlock()
	return nil
}

// downloadReader reads a download front to back, refusing more than limit
// bytes. It keeps the error the download gave, to tell it from a corrupt
// blob.
type downloadReader struct {
	r     io.ReaderAt
	off   int64
	limit int64
	err   error
}

func (d *downloadReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.ReadAt(p, d.off)
	d.off += int64(n)
	if d.off > d.limit {
		d.err = fmt.Errorf("%w: stored entry exceeds %d bytes", ErrTooLarge, d.limit)
		return 0, d.err
	}
	if err == io.EOF {
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	}
	if err != nil {
		d.err = err
	}
	return n, err
}

// Save stores the entries this run used (c.Used) and the listings it read
// or kept as one new cache entry, unless Load restored them all: the
// manifests of versions that are gone fall out, and so do those of
// packages this run did not look at, and their listings. Its errors name
// no URL's query (see withoutQueries).
func (s *actionsStore) Save(ctx context.Context, c *Cache) error {
	return withoutQueries(s.save(ctx, c.Used()))
}

func (s *actionsStore) save(ctx context.Context, entries iter.Seq2[string, []byte]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.added(entries) && !s.listings.changed() {
		return nil
	}
	blob := newBlobFile()
	defer blob.Close()
	kept, listings, err := encodeBlob(blob, entries, s.listings.all(), MaxBlobSize)
	if err != nil {
		return err
	}
	if len(kept) == 0 && listings == 0 {
		return nil
	}
	if err := blob.finish(); err != nil {
		return err
	}
	key := s.entryKey(kept)
	ctx, cancel := context.WithTimeout(ctx, ActionsTimeout)
	defer cancel()
	if err := s.c.Save(ctx, key, blob); err != nil {
		// The same contents were saved before (or are being saved right
		// now by a concurrent run): nothing to do.
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("saving GitHub Actions cache %s: %w", key, err)
		}
	}
	if s.loaded == nil {
		s.loaded = map[dkey]struct{}{}
	}
	for _, k := range kept {
		s.loaded[k] = struct{}{}
	}
	s.listings.saved()
	return nil
}

// added reports whether entries holds a manifest Load did not restore.
func (s *actionsStore) added(entries iter.Seq2[string, []byte]) bool {
	for d := range entries {
		if k, ok := parseDigest(d); !ok {
			continue // never kept
		} else if _, ok := s.loaded[k]; !ok {
			return true
		}
	}
	return false
}

// entryKey names the entry of the manifests kept (each named by its own
// hash, whatever order they came in) and the listings, in this format.
func (s *actionsStore) entryKey(kept []dkey) string {
	slices.SortFunc(kept, func(a, b dkey) int { return bytes.Compare(a[:], b[:]) })
	sum := sha256.New()
	io.WriteString(sum, blobMagic)
	for _, k := range kept {
		sum.Write(k[:])
	}
	s.listings.sum(sum)
	return s.key + "-" + hex.EncodeToString(sum.Sum(nil)[:8])
}

// blobFile holds the compressed blob for upload: an unlinked temporary file,
// or memory when none can be created. Writes past MaxBlobSize fail with
// ErrTooLarge.
type blobFile struct {
	f    *os.File
	name string // set where an open file cannot be removed
	w    *bufio.Writer
	mem  limitedBuffer
	size int64
}

func newBlobFile() *blobFile {
	b := &blobFile{mem: limitedBuffer{limit: MaxBlobSize}}
	f, err := os.CreateTemp("", "ghcr-prune-cache-blob-*")
	if err != nil {
		return b // in memory, then
	}
	if os.Remove(f.Name()) != nil {
		b.name = f.Name()
	}
	b.f, b.w = f, bufio.NewWriterSize(f, 64<<10)
	return b
}

func (b *blobFile) Write(p []byte) (int, error) {
	if b.size+int64(len(p)) > MaxBlobSize {
		return 0, fmt.Errorf("%w: more than %d bytes compressed", ErrTooLarge, MaxBlobSize)
	}
	var n int
	var err error
	if b.w != nil {
		n, err = b.w.Write(p)
	} else {
		n, err = b.mem.Write(p)
	}
	b.size += int64(n)
	return n, err
}

// finish flushes what was written, ready to be read back.
func (b *blobFile) finish() error {
	if b.w == nil {
		return nil
	}
	if err := b.w.Flush(); err != nil {
		return fmt.Errorf("writing the GitHub Actions cache blob: %w", err)
	}
	return nil
}

func (b *blobFile) ReadAt(p []byte, off int64) (int, error) {
	if b.f != nil {
		return b.f.ReadAt(p, off)
	}
	return bytes.NewReader(b.mem.Bytes()).ReadAt(p, off)
}

func (b *blobFile) Size() int64 { return b.size }

// Close releases the blob; it is safe to call more than once.
func (b *blobFile) Close() error {
	var err error
	if b.f != nil {
		err = b.f.Close()
		if b.name != "" {
			os.Remove(b.name)
		}
		b.f, b.w = nil, nil
	}
	b.mem.Reset()
	return err
}

// encodeBlob writes the gzip-compressed blob of the entries that verify and
// of the listings to w, one at a time, in the order entries and listings
// give them (digest and package order give equal sets equal blobs). It
// returns the digests it kept and the number of listings, and ErrTooLarge
// once the decoded blob would exceed limit.
func encodeBlob(w io.Writer, entries, listings iter.Seq2[string, []byte], limit int64) (kept []dkey, nlistings int, err error) {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	e := &blobEncoder{zw: zw, size: int64(len(blobMagic)), limit: limit}
	tooLarge := func() error {
		return fmt.Errorf("%w: %d manifests and %d package listings and more, about %d bytes, over the %d byte cap", ErrTooLarge, len(kept), nlistings, e.size, limit)
	}
	e.write([]byte(blobMagic))
	for d, raw := range entries {
		k, ok := parseDigest(d)
		if !ok || len(raw) > MaxEntrySize || !k.verify(raw) {
			continue
		}
		if !e.frame(d, raw) {
			return nil, 0, cmp.Or(e.err, tooLarge())
		}
		kept = append(kept, k)
	}
	e.end()
	last := ""
	for pkg, raw := range listings {
		switch {
		case pkg == "" || len(pkg) > maxPackageName || len(raw) > maxListingSize:
			continue
		case pkg <= last:
			return nil, 0, fmt.Errorf("writing the GitHub Actions cache blob: the listing of %s is out of order", pkg)
		case nlistings == maxKeptListings || !e.frame(pkg, raw):
			return nil, 0, cmp.Or(e.err, tooLarge())
		}
		nlistings++
		last = pkg
	}
	e.end()
	if e.err != nil {
		return nil, 0, e.err
	}
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	return kept, nlistings, nil
}

// blobEncoder writes the frames of a decoded blob through gzip, counting
// their size against a limit. After a write error it writes nothing more.
type blobEncoder struct {
	zw    *gzip.Writer
	size  int64
	limit int64
	n     [binary.MaxVarintLen64]byte
	err   error
}

func (e *blobEncoder) write(p []byte) {
	if e.err == nil {
		_, e.err = e.zw.Write(p)
	}
}

func (e *blobEncoder) uvarint(v uint64) { e.write(e.n[:binary.PutUvarint(e.n[:], v)]) }

// frame writes name and body, each after its length. It is false after a
// write error, or when the blob would grow past the limit.
func (e *blobEncoder) frame(name string, body []byte) bool {
	e.size += int64(len(name)+len(body)) + 2*binary.MaxVarintLen64
	if e.size > e.limit {
		return false
	}
	e.uvarint(uint64(len(name)))
	e.write([]byte(name))
	e.uvarint(uint64(len(body)))
	e.write(body)
	return e.err == nil
}

// end ends a section.
func (e *blobEncoder) end() {
	e.size++
	e.uvarint(0)
}

// decodeBlob is the inverse of encodeBlob: it reads the compressed blob from
// r, hands each entry to put and each listing to listing as it is decoded
// (listing must read all of body, or return an error), and refuses to
// decode more than limit bytes. Nothing is checked beyond the frames: the
// Cache verifies each entry when it is read, and ListingSet each listing.
// A blob of blobMagicV1 yields its entries and no listings.
func decodeBlob(r io.Reader, limit int64, put func(digest string, raw []byte), listing func(pkg string, body io.Reader) error) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	lr := &io.LimitedReader{R: zr, N: limit + 1}
	br := bufio.NewReader(lr)
	magic := make([]byte, len(blobMagic))
	if _, err := io.ReadFull(br, magic); err != nil || (string(magic) != blobMagic && string(magic) != blobMagicV1) {
		return errors.New("not a ghcr-prune manifest cache (or an unknown version)")
	}
	v1 := string(magic) == blobMagicV1
	if err := decodeManifests(br, lr, v1, put); err != nil {
		return err
	}
	if !v1 {
		if err := decodeListings(br, lr, listing); err != nil {
			return err
		}
		if _, err := br.ReadByte(); err == nil {
			return errors.New("corrupt: data after the listings")
		} else if err != io.EOF {
			return corrupt(err, lr)
		}
	}
	if lr.N <= 0 {
		return fmt.Errorf("%w: more than %d bytes decoded", ErrTooLarge, limit)
	}
	return nil
}

// decodeManifests reads the manifest section: to the end of the stream in a
// v1 blob, to its end mark otherwise.
func decodeManifests(br *bufio.Reader, lr *io.LimitedReader, v1 bool, put func(digest string, raw []byte)) error {
	for {
		dlen, err := binary.ReadUvarint(br)
		if v1 && err == io.EOF {
			return nil
		}
		if err != nil {
			return corrupt(err, lr)
		}
		if dlen == 0 && !v1 {
			return nil
		}
		if dlen == 0 || dlen > 256 {
			return errors.New("corrupt: bad digest length " + strconv.FormatUint(dlen, 10))
		}
		d := make([]byte, dlen)
		if _, err := io.ReadFull(br, d); err != nil {
			return corrupt(err, lr)
		}
		rlen, err := binary.ReadUvarint(br)
		if err != nil {
			return corrupt(err, lr)
		}
		if rlen > MaxEntrySize {
			return fmt.Errorf("corrupt: entry %s claims %d bytes", d, rlen)
		}
		raw := make([]byte, rlen)
		if _, err := io.ReadFull(br, raw); err != nil {
			return corrupt(err, lr)
		}
		put(string(d), raw)
	}
}

// decodeListings reads the listing section, to its end mark. Each listing
// is handed on as a reader of its bytes, so that a length the stream does
// not back allocates nothing.
func decodeListings(br *bufio.Reader, lr *io.LimitedReader, listing func(pkg string, body io.Reader) error) error {
	last := ""
	for n := 0; ; n++ {
		plen, err := binary.ReadUvarint(br)
		switch {
		case err != nil:
			return corrupt(err, lr)
		case plen == 0:
			return nil
		case plen > maxPackageName:
			return fmt.Errorf("corrupt: bad package name length %d", plen)
		case n == maxKeptListings:
			return fmt.Errorf("corrupt: more than %d package listings", maxKeptListings)
		}
		name := make([]byte, plen)
		if _, err := io.ReadFull(br, name); err != nil {
			return corrupt(err, lr)
		}
		pkg := string(name)
		if n > 0 && pkg <= last {
			return fmt.Errorf("corrupt: the listing of %q is out of order", pkg)
		}
		size, err := binary.ReadUvarint(br)
		if err != nil {
			return corrupt(err, lr)
		}
		if size > maxListingSize {
			return fmt.Errorf("corrupt: the listing of %q claims %d bytes", pkg, size)
		}
		body := &frameReader{r: br, n: int64(size)}
		err = listing(pkg, body)
		if body.err == nil && body.n > 0 {
			io.Copy(io.Discard, body)
		}
		if body.err != nil {
			return corrupt(body.err, lr)
		}
		if err != nil {
			return err
		}
		last = pkg
	}
}

// frameReader reads the n bytes of one frame. It keeps the error the
// stream gave, an end before the n bytes included, to tell a broken blob
// from an error of whoever reads the frame.
type frameReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *frameReader) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	if err == io.EOF && f.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	f.err = err
	return n, err
}

func corrupt(err error, lr *io.LimitedReader) error {
	if lr.N <= 0 {
		return ErrTooLarge
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("corrupt: %w", err)
}

// limitedBuffer is a bytes.Buffer that refuses to grow past limit.
type limitedBuffer struct {
	bytes.Buffer
	limit int64
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if int64(b.Len()+len(p)) > b.limit {
		return 0, fmt.Errorf("%w: stored entry exceeds %d bytes", ErrTooLarge, b.limit)
	}
	return b.Buffer.Write(p)
}

// ActionsFromEnv returns the Actions store of key, with owner's listings,
// configured the way actionscache.TryEnv configures itself, but reading the
// environment through getenv: ACTIONS_RUNTIME_TOKEN (absent: nil, nil — no
// cache service), ACTIONS_CACHE_SERVICE_V2 and
// ACTIONS_CACHE_API_FORCE_VERSION to choose the protocol, and
// ACTIONS_RESULTS_URL (v2) or ACTIONS_CACHE_URL (v1) for the service. The encrypted test token TryEnv also accepts
// (GHCACHE_TOKEN_ENC) is not supported.
func ActionsFromEnv(getenv func(string) string, key, owner string) (ListingStore, error) {
	token := getenv("ACTIONS_RUNTIME_TOKEN")
	if token == "" {
		return nil, nil
	}
	var v2 bool
	if b, err := strconv.ParseBool(getenv("ACTIONS_CACHE_SERVICE_V2")); err == nil {
		v2 = b
	}
	switch v := getenv("ACTIONS_CACHE_API_FORCE_VERSION"); v {
	case "":
	case "v1":
		v2 = false
	case "v2":
		v2 = true
	default:
		return nil, fmt.Errorf("invalid ACTIONS_CACHE_API_FORCE_VERSION %q", v)
	}
	urlVar := "ACTIONS_CACHE_URL"
	if v2 {
		urlVar = "ACTIONS_RESULTS_URL"
	}
	url := getenv(urlVar)
	if url == "" {
		return nil, fmt.Errorf("ACTIONS_RUNTIME_TOKEN is set but %s is not", urlVar)
	}
	c, err := actionscache.New(token, url, v2, actionscache.Opt{
		UserAgent: "ghcr-prune",
		Timeout:   ActionsTimeout,
	})
	if err != nil {
		return nil, withoutQueries(fmt.Errorf("GitHub Actions cache: %w", err))
	}
	return Actions(c, key, owner), nil
}
