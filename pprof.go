package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// GHCR_PRUNE_PPROF names a directory that receives profiles of this
// process, for measuring it as a runner runs it: CPU profiles a second at a
// time (cpu-N.pprof; go tool pprof merges them), and a heap profile written
// whenever the heap in use reaches a new high (heap.pprof), so that it shows
// the peak rather than the end, and one whenever the live heap the last
// collection found does (live.pprof, its size in live-peak.txt): the heap in
// use is mostly garbage at its peak. A debugging aid, not an input.
func init() {
	dir := os.Getenv("GHCR_PRUNE_PPROF")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "GHCR_PRUNE_PPROF:", err)
		return
	}
	go profileCPU(dir)
	go profileHeapPeak(dir)
}

func profileCPU(dir string) {
	for i := 0; ; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%04d.pprof", i)))
		if err != nil {
			return
		}
		if pprof.StartCPUProfile(f) != nil {
			f.Close()
			return
		}
		time.Sleep(time.Second)
		pprof.StopCPUProfile()
		f.Close()
	}
}

func profileHeapPeak(dir string) {
	var peak, peakSys, peakLive uint64
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for {
		time.Sleep(50 * time.Millisecond)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if metrics.Read(live); live[0].Value.Uint64() > peakLive+peakLive/50 {
			peakLive = live[0].Value.Uint64()
			if f, err := os.Create(filepath.Join(dir, "live.pprof")); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
			os.WriteFile(filepath.Join(dir, "live-peak.txt"), []byte(fmt.Sprintf("live %.1f MiB NumGC %d\n", float64(peakLive)/(1<<20), ms.NumGC)), 0o644)
		}
		if ms.Sys > peakSys {
			peakSys = ms.Sys
			status, _ := os.ReadFile("/proc/self/status")
			os.WriteFile(filepath.Join(dir, "sys-peak.txt"), []byte(fmt.Sprintf("Sys %d MiB HeapSys %d MiB StackSys %d MiB HeapInuse %d MiB NumGC %d\n%s", ms.Sys>>20, ms.HeapSys>>20, ms.StackSys>>20, ms.HeapInuse>>20, ms.NumGC, status)), 0o644)
		}
		if ms.HeapInuse <= peak+peak/20 {
			continue
		}
		peak = ms.HeapInuse
		tmp := filepath.Join(dir, "heap.pprof.tmp")
		f, err := os.Create(tmp)
		if err != nil {
			return
		}
		err = pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
		if err == nil {
			os.Rename(tmp, filepath.Join(dir, "heap.pprof"))
			os.WriteFile(filepath.Join(dir, "heap-peak.txt"), []byte(fmt.Sprintf("HeapInuse %d MiB Sys %d MiB\n", ms.HeapInuse>>20, ms.Sys>>20)), 0o644)
		}
	}
}
