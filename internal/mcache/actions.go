package mcache

import (
	"bufio"
	"bytes"
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

// blobMagic starts the decoded blob: a version line, then for each entry
// uvarint(len(digest)) digest uvarint(len(raw)) raw, sorted by digest. The
// whole stream is gzip-compressed.
const blobMagic = "ghcr-prune manifest cache v1\n"

// Actions returns a Store that keeps the whole set of manifests as one blob
// in the GitHub Actions cache. Cache entries are immutable, so Save writes
// a new entry under key + "-" + a hash of the digests it holds, and Load
// restores the newest entry whose key starts with key + "-". Save does
// nothing when every entry was already in what Load restored. Neither holds
// the decoded blob: Load decodes as it downloads, and Save encodes into a
// temporary file.
func Actions(c *actionscache.Cache, key string) Store {
	return &actionsStore{c: c, key: key}
}

type actionsStore struct {
	c   *actionscache.Cache
	key string

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

// Load decodes the blob as it downloads, seeding c with each entry: neither
// the compressed nor the decoded blob is held. Its errors name no URL's
// query (see withoutQueries).
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
	})
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

// Save stores the entries this run used (c.Used) as one new cache entry,
// unless Load restored them all: the manifests of versions that are gone
// fall out, and so do those of packages this run did not look at. Its
// errors name no URL's query (see withoutQueries).
func (s *actionsStore) Save(ctx context.Context, c *Cache) error {
	return withoutQueries(s.save(ctx, c.Used()))
}

func (s *actionsStore) save(ctx context.Context, entries iter.Seq2[string, []byte]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := false
	for d := range entries {
		if k, ok := parseDigest(d); !ok {
			continue // never kept
		} else if _, ok := s.loaded[k]; !ok {
			added = true
			break
		}
	}
	if !added {
		return nil
	}
	blob := newBlobFile()
	defer blob.Close()
	kept, err := encodeBlob(blob, entries, MaxBlobSize)
	if err != nil {
		return err
	}
	if len(kept) == 0 {
		return nil
	}
	if err := blob.finish(); err != nil {
		return err
	}
	// The key names the set of manifests (each named by its own hash),
	// whatever order entries came in.
	slices.SortFunc(kept, func(a, b dkey) int { return bytes.Compare(a[:], b[:]) })
	sum := sha256.New()
	for _, k := range kept {
		sum.Write(k[:])
	}
	key := s.key + "-" + hex.EncodeToString(sum.Sum(nil)[:8])
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
	return nil
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

// encodeBlob writes the gzip-compressed blob of the entries that verify to
// w, one entry at a time, in the order entries gives them (digest order
// gives equal sets equal blobs). It returns the digests it kept, and
// ErrTooLarge once the decoded blob would exceed limit.
func encodeBlob(w io.Writer, entries iter.Seq2[string, []byte], limit int64) ([]dkey, error) {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	var (
		kept []dkey
		size = int64(len(blobMagic))
		n    [binary.MaxVarintLen64]byte
		err  error
	)
	write := func(p []byte) {
		if err == nil {
			_, err = zw.Write(p)
		}
	}
	write([]byte(blobMagic))
	for d, raw := range entries {
		k, ok := parseDigest(d)
		if !ok || len(raw) > MaxEntrySize || !k.verify(raw) {
			continue
		}
		size += int64(len(d)+len(raw)) + 2*binary.MaxVarintLen64
		if size > limit {
			return nil, fmt.Errorf("%w: %d manifests and more, about %d bytes, over the %d byte cap", ErrTooLarge, len(kept), size, limit)
		}
		write(n[:binary.PutUvarint(n[:], uint64(len(d)))])
		write([]byte(d))
		write(n[:binary.PutUvarint(n[:], uint64(len(raw)))])
		write(raw)
		if err != nil {
			return nil, err
		}
		kept = append(kept, k)
	}
	if err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return kept, nil
}

// decodeBlob is the inverse of encodeBlob: it reads the compressed blob from
// r and hands each entry to put as it is decoded. It refuses to decode more
// than limit bytes. Entries are handed on unverified: the Cache checks each
// one when it is read.
func decodeBlob(r io.Reader, limit int64, put func(digest string, raw []byte)) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	lr := &io.LimitedReader{R: zr, N: limit + 1}
	br := bufio.NewReader(lr)
	magic := make([]byte, len(blobMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != blobMagic {
		return errors.New("not a ghcr-prune manifest cache (or an unknown version)")
	}
	for {
		dlen, err := binary.ReadUvarint(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return corrupt(err, lr)
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
	if lr.N <= 0 {
		return fmt.Errorf("%w: more than %d bytes decoded", ErrTooLarge, limit)
	}
	return nil
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

// ActionsFromEnv returns an Actions store configured the way
// actionscache.TryEnv configures itself, but reading the environment
// through getenv: ACTIONS_RUNTIME_TOKEN (absent: nil, nil — no cache
// service), ACTIONS_CACHE_SERVICE_V2 and ACTIONS_CACHE_API_FORCE_VERSION to
// choose the protocol, and ACTIONS_RESULTS_URL (v2) or ACTIONS_CACHE_URL
// (v1) for the service. The encrypted test token TryEnv also accepts
// (GHCACHE_TOKEN_ENC) is not supported.
func ActionsFromEnv(getenv func(string) string, key string) (Store, error) {
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
	return Actions(c, key), nil
}
