package userns

import "fmt"

// Kind says how ids were mapped.
type Kind string

// The mapping kinds, as reported by --verbose and the JSON status.
const (
	// KindSingle maps one uid and one gid, as bubblewrap does.
	KindSingle Kind = "single"
	// KindRange maps the caller's id plus its subordinate ranges.
	KindRange Kind = "subordinate-range"
)

// Plan is the id mapping chosen for one sandbox.
type Plan struct {
	Kind Kind
	UIDs []Mapping
	GIDs []Mapping
	// Why says why the single-id fallback was used, when it was.
	Why string
}

// Want is what the caller asks for.
type Want struct {
	InsideUID, InsideGID   uint32
	OutsideUID, OutsideGID uint32
	// Ranges are the caller's subordinate ranges (nil when none).
	SubUIDs, SubGIDs []Range
	// HaveHelpers: newuidmap and newgidmap are installed.
	HaveHelpers bool
	// Single forces one id; Require fails when ranges are unavailable.
	Single, Require bool
	// User names the caller in messages.
	User string
}

// ErrNoRanges is returned by Choose when ranges were required but cannot be used.
type ErrNoRanges struct{ Msg, Hint string }

func (e *ErrNoRanges) Error() string { return e.Msg }

// Choose picks the mapping: ranges when configured and the helpers exist,
// else one id. It is pure so the rules are table-tested.
func Choose(w Want) (Plan, error) {
	single := Plan{
		Kind: KindSingle,
		UIDs: []Mapping{{Inside: w.InsideUID, Outside: w.OutsideUID, Count: 1}},
		GIDs: []Mapping{{Inside: w.InsideGID, Outside: w.OutsideGID, Count: 1}},
	}
	if w.Single {
		single.Why = "asked for (--id-map single)"
		return single, nil
	}
	var why, hint string
	switch {
	case len(w.SubUIDs) == 0:
		why = fmt.Sprintf("no subordinate uid range for %s in /etc/subuid", w.User)
		hint = fmt.Sprintf("add one as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s", w.User)
	case len(w.SubGIDs) == 0:
		why = fmt.Sprintf("no subordinate gid range for %s in /etc/subgid", w.User)
		hint = fmt.Sprintf("add one as root: usermod --add-subgids 100000-165535 %s", w.User)
	case !w.HaveHelpers:
		why = "newuidmap/newgidmap not found"
		hint = "install them (Debian, Ubuntu: apt install uidmap; Fedora: dnf install shadow-utils)"
	}
	if why != "" {
		if w.Require {
			return Plan{}, &ErrNoRanges{Msg: "cannot map subordinate ids: " + why, Hint: hint}
		}
		single.Why = why
		return single, nil
	}
	return Plan{
		Kind: KindRange,
		UIDs: Layout(w.InsideUID, w.OutsideUID, w.SubUIDs),
		GIDs: Layout(w.InsideGID, w.OutsideGID, w.SubGIDs),
	}, nil
}
