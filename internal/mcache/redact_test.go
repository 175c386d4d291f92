package mcache

import "testing"

func TestStripQueries(t *testing.T) {
	for in, want := range map[string]string{
		"no url here": "no url here",
		"GET https://x.blob.core.windows.net/c/b?sv=1&sig=SECRET failed":              "GET https://x.blob.core.windows.net/c/b failed",
		`Get "http://127.0.0.1:1/v1download/1?sig=SECRET": dial tcp: refused`:         `Get "http://127.0.0.1:1/v1download/1": dial tcp: refused`,
		"HTTPS://Host/p#frag?x and http://a/b?c=d":                                    "HTTPS://Host/p and http://a/b",
		"invalid status response 403 Forbidden for http://h/d?sig=S, range: bytes=5-": "invalid status response 403 Forbidden for http://h/d range: bytes=5-", // the query runs to white space
		"<https://h/p?q=1>":    "<https://h/p>",
		"a ?query=not-a-url":   "a ?query=not-a-url",
		"https://":             "https://",
		"trailing http://h/p?": "trailing http://h/p",
	} {
		if got := stripQueries(in); got != want {
			t.Errorf("stripQueries(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}
