// Package spec describes one sandbox as plain data: the namespaces to create,
// the ordered filesystem operations that build its root, the ids, environment
// and process options, and the command to run.
//
// The package is pure: it parses argv into a Spec, validates it and encodes it
// as JSON for the stages inside the sandbox. It uses only the standard library
// and performs no system calls (a test enforces this), so that every rule about
// the command line can be tested as a table.
package spec

// Personality selects which command line the binary speaks.
type Personality string

const (
	// Sandbox is the native personality: friendlier defaults, single-argument
	// binds and an exit status that tells sandbox failures from the program's.
	Sandbox Personality = "sandbox"
	// Bwrap follows bubblewrap's command line and behaviour exactly.
	Bwrap Personality = "bwrap"
)

// OpKind names one filesystem operation.
type OpKind string

// The filesystem operations, named after the flags that create them.
const (
	OpBind       OpKind = "bind"
	OpROBind     OpKind = "ro-bind"
	OpDevBind    OpKind = "dev-bind"
	OpBindFD     OpKind = "bind-fd"
	OpROBindFD   OpKind = "ro-bind-fd"
	OpRemountRO  OpKind = "remount-ro"
	OpProc       OpKind = "proc"
	OpDev        OpKind = "dev"
	OpTmpfs      OpKind = "tmpfs"
	OpMqueue     OpKind = "mqueue"
	OpDir        OpKind = "dir"
	OpFile       OpKind = "file"
	OpBindData   OpKind = "bind-data"
	OpROBindData OpKind = "ro-bind-data"
	OpSymlink    OpKind = "symlink"
	OpChmod      OpKind = "chmod"
	OpOverlay    OpKind = "overlay"
	OpTmpOverlay OpKind = "tmp-overlay"
	OpROOverlay  OpKind = "ro-overlay"
	OpLockFile   OpKind = "lock-file"
)

// NoFD marks an unset file descriptor option.
const NoFD = -1

// Op is one filesystem operation, applied in argv order on the new root.
// Paths in Dest are inside the sandbox; paths in Source and Lower are on the
// host, except for OpSymlink, whose Source is the link target text.
type Op struct {
	Kind   OpKind `json:"kind"`
	Source string `json:"source,omitempty"`
	Dest   string `json:"dest,omitempty"`
	// FD is the descriptor an fd-based op reads from (--file, --bind-data,
	// --bind-fd); NoFD otherwise.
	FD int `json:"fd"`
	// Try makes a missing source skip the op instead of failing (-try forms).
	Try bool `json:"try,omitempty"`
	// Perms is the mode set by a preceding --perms, or -1 for the op's default.
	Perms int `json:"perms"`
	// Size is the tmpfs size in bytes set by a preceding --size, or 0.
	Size int64 `json:"size,omitempty"`
	// Lower lists the overlay's lower layers, top first (--overlay-src order
	// reversed as overlayfs wants it).
	Lower []string `json:"lower,omitempty"`
	// Work is the overlay work directory (--overlay).
	Work string `json:"work,omitempty"`
	// Default marks an op added by the sandbox personality's defaults.
	Default bool `json:"default,omitempty"`
	// Data is the content of a --bind-data-like op made by the sandbox
	// itself (FD is NoFD then), e.g. the user network's resolv.conf.
	Data []byte `json:"data,omitempty"`
}

// Namespaces says which namespaces are created.
type Namespaces struct {
	User      bool `json:"user"`
	UserTry   bool `json:"user_try,omitempty"`
	PID       bool `json:"pid"`
	Net       bool `json:"net"`
	IPC       bool `json:"ipc"`
	UTS       bool `json:"uts"`
	Cgroup    bool `json:"cgroup"`
	CgroupTry bool `json:"cgroup_try,omitempty"`
}

// EnvKind is the kind of one environment operation.
type EnvKind string

// The environment operations.
const (
	EnvSet   EnvKind = "set"
	EnvUnset EnvKind = "unset"
	EnvClear EnvKind = "clear"
)

// EnvOp is one of --setenv, --unsetenv or --clearenv, applied in argv order.
type EnvOp struct {
	Kind  EnvKind `json:"kind"`
	Name  string  `json:"name,omitempty"`
	Value string  `json:"value,omitempty"`
}

// CapOp is one --cap-add or --cap-drop, applied in argv order.
type CapOp struct {
	Add  bool   `json:"add"`
	Name string `json:"name"` // canonical CAP_* name or "ALL"
}

// IDMapMode chooses how ids are mapped into the user namespace.
type IDMapMode string

// The id mapping modes.
const (
	// IDMapAuto maps subordinate ranges when configured, else one id.
	IDMapAuto IDMapMode = "auto"
	// IDMapSingle maps one id, as bubblewrap does.
	IDMapSingle IDMapMode = "single"
	// IDMapRange requires subordinate ranges and fails without them.
	IDMapRange IDMapMode = "range"
)

// Spec is everything the stages need to build and run one sandbox.
type Spec struct {
	Personality Personality `json:"personality"`
	Namespaces  Namespaces  `json:"namespaces"`
	// UID and GID are the ids the program sees; -1 means the caller's own.
	UID      int       `json:"uid"`
	GID      int       `json:"gid"`
	IDMap    IDMapMode `json:"id_map"`
	Hostname string    `json:"hostname,omitempty"`
	// HostnameSet: --hostname was given (possibly empty).
	HostnameSet bool     `json:"hostname_set,omitempty"`
	Ops         []Op     `json:"ops"`
	Env         []EnvOp  `json:"env,omitempty"`
	Caps        []CapOp  `json:"caps,omitempty"`
	Chdir       string   `json:"chdir,omitempty"`
	Argv0       string   `json:"argv0,omitempty"`
	Command     []string `json:"command"`

	InfoFD        int `json:"info_fd"`
	JSONStatusFD  int `json:"json_status_fd"`
	BlockFD       int `json:"block_fd"`
	UsernsBlockFD int `json:"userns_block_fd"`
	SyncFD        int `json:"sync_fd"`

	NewSession    bool `json:"new_session,omitempty"`
	DieWithParent bool `json:"die_with_parent,omitempty"`
	AsPID1        bool `json:"as_pid_1,omitempty"`
	LevelPrefix   bool `json:"level_prefix,omitempty"`
	Verbose       bool `json:"verbose,omitempty"`
	NoDefaults    bool `json:"no_defaults,omitempty"`
	// ShareNet records --share-net, which the defaults honour.
	ShareNet bool `json:"share_net,omitempty"`
	// Net configures the network (sandbox personality).
	Net Net `json:"net"`
	// Limits are the resource limits (sandbox personality).
	Limits Limits `json:"limits"`
	// SeccompFDs are the caller's seccomp programs (--seccomp or
	// --add-seccomp-fd), applied after the default policy, in order.
	SeccompFDs []int `json:"seccomp_fds,omitempty"`
	// Allow names the groups of the default seccomp policy to loosen.
	Allow []string `json:"allow,omitempty"`
	// NoLandlock turns the Landlock layer off.
	NoLandlock bool `json:"no_landlock,omitempty"`
	// DisableUserns forbids creating user namespaces inside;
	// AssertUsernsDisabled fails unless that is impossible.
	DisableUserns        bool `json:"disable_userns,omitempty"`
	AssertUsernsDisabled bool `json:"assert_userns_disabled,omitempty"`
	// Warnings are printed before the sandbox starts (repeated options).
	Warnings []string `json:"-"`
}

// New returns an empty Spec for the personality, with every fd unset.
func New(p Personality) *Spec {
	return &Spec{
		Personality:   p,
		UID:           -1,
		GID:           -1,
		IDMap:         IDMapAuto,
		InfoFD:        NoFD,
		JSONStatusFD:  NoFD,
		BlockFD:       NoFD,
		UsernsBlockFD: NoFD,
		SyncFD:        NoFD,
	}
}

// Encode returns the Spec in its wire form for the stages (see wire.go:
// strings are kept byte for byte).
func (s *Spec) Encode() ([]byte, error) { return MarshalWire(s) }

// Decode parses a Spec written by Encode.
func Decode(b []byte) (*Spec, error) {
	s := &Spec{}
	if err := UnmarshalWire(b, s); err != nil {
		return nil, err
	}
	return s, nil
}

// UsesPIDInit reports whether a separate pid-1 reaper runs above the program:
// true with a new pid namespace unless the program asked to be pid 1.
func (s *Spec) UsesPIDInit() bool { return s.Namespaces.PID && !s.AsPID1 }
