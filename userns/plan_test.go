package userns

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	sub := []Range{{100000, 65536}}
	base := Want{InsideUID: 1000, InsideGID: 1000, OutsideUID: 1000, OutsideGID: 1000, User: "alice"}
	with := func(edit func(w *Want)) Want {
		w := base
		edit(&w)
		return w
	}
	single := Plan{Kind: KindSingle, UIDs: []Mapping{{1000, 1000, 1}}, GIDs: []Mapping{{1000, 1000, 1}}}
	ranged := Plan{
		Kind: KindRange,
		UIDs: []Mapping{{1000, 1000, 1}, {0, 100000, 1000}, {1001, 101000, 64536}},
		GIDs: []Mapping{{1000, 1000, 1}, {0, 100000, 1000}, {1001, 101000, 64536}},
	}
	tests := []struct {
		name    string
		want    Want
		wantKin Kind
		plan    *Plan  // exact plan, when given
		why     string // substring of Plan.Why ("" = empty)
		wantErr string // substring of the *ErrNoRanges message
	}{
		{
			name:    "ranges and helpers",
			want:    with(func(w *Want) { w.SubUIDs, w.SubGIDs, w.HaveHelpers = sub, sub, true }),
			wantKin: KindRange,
			plan:    &ranged,
		},
		{
			name: "ranges, inside root",
			want: with(func(w *Want) {
				w.InsideUID, w.InsideGID = 0, 0
				w.SubUIDs, w.SubGIDs, w.HaveHelpers = sub, []Range{{200000, 10}}, true
			}),
			wantKin: KindRange,
			plan: &Plan{
				Kind: KindRange,
				UIDs: []Mapping{{0, 1000, 1}, {1, 100000, 65536}},
				GIDs: []Mapping{{0, 1000, 1}, {1, 200000, 10}},
			},
		},
		{
			name:    "no subuid",
			want:    with(func(w *Want) { w.SubGIDs, w.HaveHelpers = sub, true }),
			wantKin: KindSingle,
			plan:    &single,
			why:     "no subordinate uid range for alice in /etc/subuid",
		},
		{
			name:    "no subgid",
			want:    with(func(w *Want) { w.SubUIDs, w.HaveHelpers = sub, true }),
			wantKin: KindSingle,
			plan:    &single,
			why:     "no subordinate gid range for alice in /etc/subgid",
		},
		{
			name:    "no helpers",
			want:    with(func(w *Want) { w.SubUIDs, w.SubGIDs = sub, sub }),
			wantKin: KindSingle,
			plan:    &single,
			why:     "newuidmap/newgidmap not found",
		},
		{
			name:    "single asked for",
			want:    with(func(w *Want) { w.SubUIDs, w.SubGIDs, w.HaveHelpers, w.Single = sub, sub, true, true }),
			wantKin: KindSingle,
			plan:    &single,
			why:     "--id-map single",
		},
		{
			name:    "single wins over require",
			want:    with(func(w *Want) { w.Single, w.Require = true, true }),
			wantKin: KindSingle,
			why:     "--id-map single",
		},
		{
			name: "single keeps the requested inside ids",
			want: with(func(w *Want) { w.Single, w.InsideUID, w.InsideGID = true, 0, 5 }),
			plan: &Plan{Kind: KindSingle, UIDs: []Mapping{{0, 1000, 1}}, GIDs: []Mapping{{5, 1000, 1}}},
			why:  "--id-map single",
		},
		{
			name:    "require without subuid",
			want:    with(func(w *Want) { w.Require, w.SubGIDs, w.HaveHelpers = true, sub, true }),
			wantErr: "no subordinate uid range for alice",
		},
		{
			name:    "require without subgid",
			want:    with(func(w *Want) { w.Require, w.SubUIDs, w.HaveHelpers = true, sub, true }),
			wantErr: "no subordinate gid range for alice",
		},
		{
			name:    "require without helpers",
			want:    with(func(w *Want) { w.Require, w.SubUIDs, w.SubGIDs = true, sub, sub }),
			wantErr: "newuidmap/newgidmap not found",
		},
		{
			name:    "require with everything",
			want:    with(func(w *Want) { w.Require, w.SubUIDs, w.SubGIDs, w.HaveHelpers = true, sub, sub, true }),
			wantKin: KindRange,
			plan:    &ranged,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Choose(tt.want)
			if tt.wantErr != "" {
				var nr *ErrNoRanges
				if !errors.As(err, &nr) {
					t.Fatalf("Choose error = %v (%T), want *ErrNoRanges", err, err)
				}
				if !strings.Contains(nr.Msg, tt.wantErr) || nr.Error() != nr.Msg {
					t.Errorf("ErrNoRanges.Msg = %q, want it to mention %q", nr.Msg, tt.wantErr)
				}
				if nr.Hint == "" {
					t.Errorf("ErrNoRanges for %q has no hint", tt.wantErr)
				}
				if !reflect.DeepEqual(got, Plan{}) {
					t.Errorf("Choose returned a plan with the error: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Choose: %v", err)
			}
			if tt.wantKin != "" && got.Kind != tt.wantKin {
				t.Errorf("Kind = %q, want %q", got.Kind, tt.wantKin)
			}
			if tt.plan != nil {
				g := got
				g.Why = ""
				if !reflect.DeepEqual(g, *tt.plan) {
					t.Errorf("Choose = %+v, want %+v", g, *tt.plan)
				}
			}
			if tt.why == "" && got.Why != "" {
				t.Errorf("Why = %q, want empty", got.Why)
			}
			if !strings.Contains(got.Why, tt.why) {
				t.Errorf("Why = %q, want it to mention %q", got.Why, tt.why)
			}
		})
	}
}

func TestChooseHintsNameTheUser(t *testing.T) {
	for _, w := range []Want{
		{User: "bob", Require: true},
		{User: "bob", Require: true, SubUIDs: []Range{{1, 1}}},
	} {
		_, err := Choose(w)
		var nr *ErrNoRanges
		if !errors.As(err, &nr) || !strings.Contains(nr.Msg, "bob") || !strings.Contains(nr.Hint, "bob") {
			t.Errorf("Choose(%+v) = %v, want message and hint naming bob", w, err)
		}
	}
}
