package mcache

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// A pack is one file holding many manifests, the whole of a Dir store:
//
//	header: packMagic, then the number of records (uint32)
//	record: digest (32 bytes), size (uint32), last-used day (uint16),
//	        two zero bytes, then size bytes of manifest
//
// Integers are big-endian and records are in strictly increasing digest
// order, so equal sets give equal files. Records carry their own sizes, so
// a pack is written front to back in one pass, and a truncated one still
// yields every record before the cut.
const (
	packMagic      = "ghcr-prune manifest pack v1\n"
	packHeaderLen  = int64(len(packMagic) + 4)
	packRecordLen  = sha256.Size + 8
	maxPackSize    = 1 << 30 // about 700,000 manifests of a typical 1.5 KB
	maxPackEntries = 1 << 20
)

// ErrPackTooLarge is returned by a Dir store's Save when the entries to keep
// exceed the pack's caps (a gibibyte, about a million manifests).
var ErrPackTooLarge = errors.New("manifest cache is too large for one pack file")

// day is a date as days since 1970-01-01 UTC: a last-used date needs to be
// right only to the day, against a month of UnusedFor.
type day uint16

func dayOf(t time.Time) day {
	return day(min(max(t.Unix()/86400, 0), 1<<16-1))
}

// days is d in whole days, for UnusedFor and touchAfter.
func days(d time.Duration) int { return int(d / (24 * time.Hour)) }

// packScanner reads the records of a pack front to back, checking each
// against the format and the caps before anything is allocated for it. Its
// records' offsets are into the ReaderAt it reads.
type packScanner struct {
	br    *bufio.Reader
	off   int64 // offset of the next byte br returns
	size  int64
	count int // records the header announces
	read  int // records returned so far
	last  dkey
	err   error // why scanning stopped before the end, if it did
}

// scanPack reads the header of the pack r of size bytes.
func scanPack(r io.ReaderAt, size int64) (*packScanner, error) {
	if size > maxPackSize {
		return nil, fmt.Errorf("%w: %d bytes, over the %d byte cap", ErrPackTooLarge, size, maxPackSize)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 256<<10)
	var h [packHeaderLen]byte
	if _, err := io.ReadFull(br, h[:]); err != nil || string(h[:len(packMagic)]) != packMagic {
		return nil, errors.New("not a ghcr-prune manifest pack (or an unknown version)")
	}
	count := binary.BigEndian.Uint32(h[len(packMagic):])
	if count > maxPackEntries {
		return nil, fmt.Errorf("corrupt: %d entries, over the %d cap", count, maxPackEntries)
	}
	return &packScanner{br: br, off: packHeaderLen, size: size, count: int(count)}, nil
}

// capacity is how many records the pack can hold at most, for a slice of
// them sized once: the count the header says, unless the file is too short
// for that many.
func (p *packScanner) capacity() int {
	return int(min(int64(p.count), (p.size-packHeaderLen)/packRecordLen))
}

// next returns the next record. It is false at the end of the records, and
// at the first one that breaks the format (then err says why): an entry
// after a broken one cannot be found.
func (p *packScanner) next() (packed, bool) {
	if p.err != nil || p.read == p.count {
		return packed{}, false
	}
	var h [packRecordLen]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return p.fail(fmt.Errorf("truncated: %d of %d entries", p.read, p.count))
	}
	var k dkey
	copy(k[:], h[:sha256.Size])
	n := binary.BigEndian.Uint32(h[sha256.Size:])
	d := day(binary.BigEndian.Uint16(h[sha256.Size+4:]))
	p.off += packRecordLen
	switch {
	case binary.BigEndian.Uint16(h[sha256.Size+6:]) != 0:
		return p.fail(fmt.Errorf("corrupt: entry %d has nonzero padding", p.read))
	case n > MaxEntrySize:
		return p.fail(fmt.Errorf("corrupt: entry %s claims %d bytes", k, n))
	case p.read > 0 && k.compare(p.last) <= 0:
		return p.fail(fmt.Errorf("corrupt: entry %s is out of order", k))
	case int64(n) > p.size-p.off:
		return p.fail(fmt.Errorf("truncated: %d of %d entries", p.read, p.count))
	}
	if _, err := p.br.Discard(int(n)); err != nil {
		return p.fail(fmt.Errorf("reading entry %s: %w", k, err))
	}
	rec := packed{k: k, e: entry{off: p.off, n: n, day: d}}
	p.off += int64(n)
	p.read++
	p.last = k
	return rec, true
}

func (p *packScanner) fail(err error) (packed, bool) {
	p.err = err
	return packed{}, false
}

// end is nil when every record the header announced was read and nothing
// follows them.
func (p *packScanner) end() error {
	switch {
	case p.err != nil:
		return p.err
	case p.read < p.count:
		return fmt.Errorf("%d of %d entries read", p.read, p.count)
	case p.off != p.size:
		return fmt.Errorf("corrupt: %d bytes after the last entry", p.size-p.off)
	}
	return nil
}

// packFile is where a pack is written: front to back, then its count is
// written into the header.
type packFile interface {
	io.Writer
	io.WriterAt
}

// packWriter writes a pack, holding it to the format and the caps.
type packWriter struct {
	f     packFile
	bw    *bufio.Writer
	count int
	size  int64
	last  dkey
}

func newPackWriter(f packFile) (*packWriter, error) {
	w := &packWriter{f: f, bw: bufio.NewWriterSize(f, 256<<10), size: packHeaderLen}
	var h [packHeaderLen]byte
	copy(h[:], packMagic)
	_, err := w.bw.Write(h[:])
	return w, err
}

// add writes one record; raw has been verified against k, and k comes
// after every key added before.
func (w *packWriter) add(k dkey, d day, raw []byte) error {
	switch {
	case w.count > 0 && k.compare(w.last) <= 0:
		return fmt.Errorf("writing the manifest pack: %s out of order", k)
	case len(raw) > MaxEntrySize:
		return fmt.Errorf("writing the manifest pack: %s is %d bytes", k, len(raw))
	case w.count == maxPackEntries || w.size+packRecordLen+int64(len(raw)) > maxPackSize:
		return fmt.Errorf("%w: %d manifests and more, over the caps of %d entries or %d bytes", ErrPackTooLarge, w.count, maxPackEntries, maxPackSize)
	}
	var h [packRecordLen]byte
	copy(h[:], k[:])
	binary.BigEndian.PutUint32(h[sha256.Size:], uint32(len(raw)))
	binary.BigEndian.PutUint16(h[sha256.Size+4:], uint16(d))
	if _, err := w.bw.Write(h[:]); err != nil {
		return err
	}
	if _, err := w.bw.Write(raw); err != nil {
		return err
	}
	w.count++
	w.size += packRecordLen + int64(len(raw))
	w.last = k
	return nil
}

// finish flushes the records and writes their count into the header.
func (w *packWriter) finish() error {
	if err := w.bw.Flush(); err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(w.count))
	_, err := w.f.WriteAt(n[:], int64(len(packMagic)))
	return err
}
