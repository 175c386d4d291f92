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
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	actionscache "github.com/tonistiigi/go-actions-cache"
)

// MaxBlobSize caps the Actions cache blob, both as stored (compressed) and
// as decoded. A set of manifests that will not fit is not saved (Save
// returns ErrTooLarge); a stored blob that is bigger is not loaded.
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
// a new entry under key + "-" + a hash of its contents, and Load restores
// the newest entry whose key starts with key + "-". Save does nothing when
// every entry was already in what Load restored.
func Actions(c *actionscache.Cache, key string) Store {
	return &actionsStore{c: c, key: key}
}

type actionsStore struct {
	c   *actionscache.Cache
	key string

	mu       sync.Mutex
	loaded   map[string]bool // digests restored by Load (or written by Save)
	restored string          // key of the entry Load restored
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

func (s *actionsStore) Load(ctx context.Context) (map[string][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, ActionsTimeout)
	defer cancel()
	ent, err := s.c.Load(ctx, s.key+"-")
	if err != nil {
		return map[string][]byte{}, fmt.Errorf("looking up GitHub Actions cache %s: %w", s.key, err)
	}
	if ent == nil {
		return map[string][]byte{}, nil
	}
	var buf limitedBuffer
	buf.limit = MaxBlobSize
	if err := ent.WriteTo(ctx, &buf); err != nil {
		return map[string][]byte{}, fmt.Errorf("downloading GitHub Actions cache %s: %w", ent.Key, err)
	}
	entries, err := decodeBlob(buf.Bytes(), MaxBlobSize)
	if err != nil {
		return map[string][]byte{}, fmt.Errorf("reading GitHub Actions cache %s: %w", ent.Key, err)
	}
	loaded := make(map[string]bool, len(entries))
	for d := range entries {
		loaded[d] = true
	}
	s.mu.Lock()
	s.loaded, s.restored = loaded, ent.Key
	s.mu.Unlock()
	return entries, nil
}

func (s *actionsStore) Save(ctx context.Context, entries map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := false
	for d := range entries {
		if !s.loaded[d] {
			added = true
			break
		}
	}
	if !added {
		return nil
	}
	blob, kept, err := encodeBlob(entries, MaxBlobSize)
	if err != nil {
		return err
	}
	if len(kept) == 0 {
		return nil
	}
	sum := sha256.Sum256(blob)
	key := s.key + "-" + hex.EncodeToString(sum[:8])
	ctx, cancel := context.WithTimeout(ctx, ActionsTimeout)
	defer cancel()
	if err := s.c.Save(ctx, key, actionscache.NewBlob(blob)); err != nil {
		// The same contents were saved before (or are being saved right
		// now by a concurrent run): nothing to do.
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("saving GitHub Actions cache %s: %w", key, err)
		}
	}
	if s.loaded == nil {
		s.loaded = map[string]bool{}
	}
	for _, d := range kept {
		s.loaded[d] = true
	}
	return nil
}

// encodeBlob encodes the entries that verify, sorted by digest so equal
// sets give equal blobs. It returns the digests it kept.
func encodeBlob(entries map[string][]byte, limit int64) ([]byte, []string, error) {
	digests := make([]string, 0, len(entries))
	var size int64 = int64(len(blobMagic))
	for d, raw := range entries {
		if len(raw) > MaxEntrySize || !Verify(d, raw) {
			continue
		}
		digests = append(digests, d)
		size += int64(len(d)+len(raw)) + 2*binary.MaxVarintLen64
	}
	if size > limit {
		return nil, nil, fmt.Errorf("%w: %d manifests, about %d bytes, over the %d byte cap", ErrTooLarge, len(digests), size, limit)
	}
	slices.Sort(digests)
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	zw.Write([]byte(blobMagic))
	var n [binary.MaxVarintLen64]byte
	for _, d := range digests {
		raw := entries[d]
		zw.Write(n[:binary.PutUvarint(n[:], uint64(len(d)))])
		zw.Write([]byte(d))
		zw.Write(n[:binary.PutUvarint(n[:], uint64(len(raw)))])
		zw.Write(raw)
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	if int64(out.Len()) > limit {
		return nil, nil, fmt.Errorf("%w: %d bytes compressed, over the %d byte cap", ErrTooLarge, out.Len(), limit)
	}
	return out.Bytes(), digests, nil
}

// decodeBlob is the inverse of encodeBlob. It refuses to decode more than
// limit bytes. Entries are returned unverified: the Cache checks each one
// when it is read.
func decodeBlob(blob []byte, limit int64) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return nil, err
	}
	lr := &io.LimitedReader{R: zr, N: limit + 1}
	br := bufio.NewReader(lr)
	magic := make([]byte, len(blobMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != blobMagic {
		return nil, errors.New("not a ghcr-prune manifest cache (or an unknown version)")
	}
	out := map[string][]byte{}
	for {
		dlen, err := binary.ReadUvarint(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, corrupt(err, lr)
		}
		if dlen == 0 || dlen > 256 {
			return nil, errors.New("corrupt: bad digest length " + strconv.FormatUint(dlen, 10))
		}
		d := make([]byte, dlen)
		if _, err := io.ReadFull(br, d); err != nil {
			return nil, corrupt(err, lr)
		}
		rlen, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, corrupt(err, lr)
		}
		if rlen > MaxEntrySize {
			return nil, fmt.Errorf("corrupt: entry %s claims %d bytes", d, rlen)
		}
		raw := make([]byte, rlen)
		if _, err := io.ReadFull(br, raw); err != nil {
			return nil, corrupt(err, lr)
		}
		out[string(d)] = raw
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: more than %d bytes decoded", ErrTooLarge, limit)
	}
	return out, nil
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
		return nil, fmt.Errorf("GitHub Actions cache: %w", err)
	}
	return Actions(c, key), nil
}
