package mcache

import "strings"

// withoutQueries is err with the query and fragment of every http(s) URL in
// its message left out. The Actions cache service hands out signed URLs
// (Azure SAS URLs: the signature is in the query), go-actions-cache and
// net/http put the URL they failed on in their errors, and a signed URL
// lets anyone who reads the log fetch or overwrite the cache entry for as
// long as it lasts. The error still unwraps to err, for errors.Is.
func withoutQueries(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if stripped := stripQueries(msg); stripped != msg {
		return &strippedError{msg: stripped, err: err}
	}
	return err
}

type strippedError struct {
	msg string
	err error
}

func (e *strippedError) Error() string { return e.msg }
func (e *strippedError) Unwrap() error { return e.err }

// stripQueries drops, from every http:// or https:// URL in s (the scheme
// in any case), everything from its first "?" or "#" to its end. A URL
// ends at white space or at a character that quotes or brackets it in
// prose and Go's error messages: " ' ` < >.
func stripQueries(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		n := schemeLen(s[i:])
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := i + n
		for end < len(s) && !endsURL(s[end]) {
			end++
		}
		u := s[i:end]
		if q := strings.IndexAny(u, "?#"); q >= 0 {
			u = u[:q]
		}
		b.WriteString(u)
		i = end
	}
	return b.String()
}

// schemeLen is the length of the "http://" or "https://" s starts with, in
// any case, or 0.
func schemeLen(s string) int {
	for _, scheme := range []string{"http://", "https://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return len(scheme)
		}
	}
	return 0
}

func endsURL(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}
