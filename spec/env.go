package spec

import "strings"

// ApplyEnv applies the environment operations in order to base (KEY=VALUE
// entries) and returns the program's environment.
func ApplyEnv(base []string, ops []EnvOp) []string {
	env := append([]string(nil), base...)
	for _, op := range ops {
		switch op.Kind {
		case EnvClear:
			env = env[:0]
		case EnvUnset:
			env = removeEnv(env, op.Name)
		case EnvSet:
			env = append(removeEnv(env, op.Name), op.Name+"="+op.Value)
		}
	}
	return env
}

func removeEnv(env []string, name string) []string {
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != name {
			out = append(out, kv)
		}
	}
	return out
}
