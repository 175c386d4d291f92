package prune

import "testing"

func TestPlanFileGolden(t *testing.T) {
	got, err := goldenReport(t).JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-applied.golden.json", got)
}

func TestPlanFileReadsBack(t *testing.T) {
	r := goldenReport(t)
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadPlanFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Packages) != 2 || f.Inputs["older-than"] != "3d" || f.DryRun {
		t.Fatalf("read back %+v", f.PlanHeader)
	}
	p := f.Packages[0]
	want := r.Packages[0].Plan
	if len(p.Delete) != len(want.Delete) || len(p.Keep) != len(want.Keep) || len(p.Untag) != len(want.Untag) || len(p.Broken) != len(want.Broken) {
		t.Errorf("read back %d/%d/%d/%d entries, want %d/%d/%d/%d", len(p.Delete), len(p.Keep), len(p.Untag), len(p.Broken),
			len(want.Delete), len(want.Keep), len(want.Untag), len(want.Broken))
	}
	if p.Delete[0].Outcome != r.Packages[0].Result.Deletions[0].Outcome || p.Delete[0].Digest != want.Delete[0].Digest {
		t.Errorf("first deletion read back as %+v", p.Delete[0])
	}
	if f.Packages[1].Error == "" {
		t.Error("the failed package's error is lost")
	}
}
