package fakeghcr

import (
	"net/http"
	"time"
)

// versionDeleted records a version that a REST DELETE deleted, at the wall
// clock because that is the clock clients pace their deletions by; setup
// requests (see SeedTransport) are not counted. Callers hold s.mu.
func (s *Server) versionDeleted(r *http.Request) {
	if r.Header.Get(seedHeader) != "" {
		return
	}
	now := time.Now()
	if s.stats.VersionsDeleted == 0 {
		s.stats.FirstDelete = now
	}
	s.stats.LastDelete = now
	s.stats.VersionsDeleted++
}

// secondaryRefused counts an answer WithSecondaryLimit refused, setup
// requests excepted. Callers hold s.mu.
func (s *Server) secondaryRefused(r *http.Request) {
	if r.Header.Get(seedHeader) == "" {
		s.stats.SecondaryLimited++
	}
}

// DeletesPerMinute is the pace of the deletions counted in st, from the
// first to the last: VersionsDeleted-1 intervals over that span. It is 0
// when fewer than two versions were deleted.
func (st Stats) DeletesPerMinute() float64 {
	span := st.LastDelete.Sub(st.FirstDelete)
	if st.VersionsDeleted < 2 || span <= 0 {
		return 0
	}
	return float64(st.VersionsDeleted-1) / span.Minutes()
}
