package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, COPY, ...
	Args string
}

// stage is the instructions from one FROM up to the next.
type stage struct {
	From         string
	Instructions []instruction
}

// dockerfile parses the repository's Dockerfile into its global ARGs and its
// stages. It handles what that file uses: comments, "\" continuations and
// one instruction per logical line.
func dockerfile(t *testing.T) (globalArgs []instruction, stages []stage) {
	t.Helper()
	var logical strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, "Dockerfile")))
	flush := func() {
		line := strings.TrimSpace(logical.String())
		logical.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		switch {
		case in.Cmd == "FROM":
			stages = append(stages, stage{From: in.Args})
		case len(stages) == 0:
			globalArgs = append(globalArgs, in)
		default:
			s := &stages[len(stages)-1]
			s.Instructions = append(s.Instructions, in)
		}
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			logical.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		logical.WriteString(line)
		flush()
	}
	flush()
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: want a build stage and a runtime stage, got %d stages", len(stages))
	}
	return globalArgs, stages
}

func (s stage) all(cmd string) []string {
	var args []string
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			args = append(args, in.Args)
		}
	}
	return args
}

// last is the argument of the stage's last cmd instruction ("" when none):
// the one that takes effect for USER, ENTRYPOINT and CMD.
func (s stage) last(cmd string) string {
	all := s.all(cmd)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

func execForm(t *testing.T, cmd, args string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("%s %s: want the exec form [\"...\"], so that signals reach the binary (%v)", cmd, args, err)
	}
	return argv
}

// dockerfileEnv is the environment the runtime image sets.
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	_, stages := dockerfile(t)
	env := make(map[string]string)
	for _, args := range stages[len(stages)-1].all("ENV") {
		for _, pair := range strings.Fields(args) {
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				t.Fatalf("ENV %s: use the KEY=VALUE form", args)
			}
			env[k] = v
		}
	}
	return env
}

var runtimeUser = regexp.MustCompile(`^(\d+)(?::(\d+))?$`)

// imageUID is the uid the runtime image runs as. It must be numeric, so
// that Kubernetes' runAsNonRoot can verify it without reading the image's
// /etc/passwd, and not root.
func imageUID(t *testing.T) int {
	t.Helper()
	_, stages := dockerfile(t)
	user := stages[len(stages)-1].last("USER")
	m := runtimeUser.FindStringSubmatch(user)
	if m == nil || m[1] == "0" || m[2] == "0" {
		t.Fatalf("runtime USER %q: want a numeric non-root uid:gid", user)
	}
	uid, _ := strconv.Atoi(m[1])
	return uid
}

func TestImageRunsTheBinaryAsANonRootUser(t *testing.T) {
	_, stages := dockerfile(t)
	runtime := stages[len(stages)-1]
	if !strings.HasPrefix(runtime.From, "gcr.io/distroless/static") || !strings.HasSuffix(runtime.From, ":nonroot") {
		t.Errorf("runtime stage FROM %s: want distroless static, nonroot variant", runtime.From)
	}
	uid := strconv.Itoa(imageUID(t))

	entrypoint := execForm(t, "ENTRYPOINT", runtime.last("ENTRYPOINT"))
	binary := entrypoint[0]
	copied := false
	for _, args := range runtime.all("COPY") {
		copied = copied || strings.HasSuffix(args, " "+binary)
	}
	if !copied {
		t.Errorf("ENTRYPOINT %s is not a file the runtime stage copies in", binary)
	}
	if cmd := execForm(t, "CMD", runtime.last("CMD")); !slices.Equal(cmd, []string{"run"}) {
		t.Errorf("CMD %v: the default command is the daemon, run", cmd)
	}

	// The state directory exists in the image, owned by the runtime user:
	// a fresh named volume mounted there copies that owner.
	stateDir := dockerfileEnv(t)["STATE_DIR"]
	if stateDir == "" {
		t.Fatal("the image sets no STATE_DIR")
	}
	owned := false
	for _, args := range runtime.all("COPY") {
		owned = owned || strings.Contains(args, "--chown="+uid+":") && strings.HasSuffix(args, " "+stateDir)
	}
	if !owned {
		t.Errorf("STATE_DIR %s is not created in the image owned by uid %s", stateDir, uid)
	}

	httpPort := listenPort(t, dockerfileEnv(t)["HTTP_ADDR"])
	if exposed := runtime.all("EXPOSE"); !slices.Contains(exposed, httpPort) {
		t.Errorf("EXPOSE %v does not include the ops port %s of HTTP_ADDR", exposed, httpPort)
	}
	for name := range dockerfileEnv(t) {
		if !publisherVariables()[name] {
			t.Errorf("the image sets %s, which skill6pub does not read", name)
		}
	}
}

func TestImageIsAStaticBinaryWithItsVersionStamped(t *testing.T) {
	globalArgs, stages := dockerfile(t)
	var build string
	for _, s := range stages[:len(stages)-1] {
		for _, run := range s.all("RUN") {
			if strings.Contains(run, "go build") {
				build = run
			}
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-X main.version=${VERSION}", "./cmd/skill6pub", "-trimpath"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build step lacks %q: %s", want, build)
		}
	}
	// -X on a symbol that does not exist is silently ignored by the linker.
	if !declaresStringVar(t, "version") {
		t.Error("package main of cmd/skill6pub declares no string variable version for -X main.version")
	}

	goMod := string(readFile(t, "go.mod"))
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "GO_VERSION=" + m[1]; !slices.ContainsFunc(globalArgs, func(in instruction) bool { return in.Cmd == "ARG" && in.Args == want }) {
		t.Errorf("Dockerfile: want ARG %s (the go line of go.mod), got %v", want, globalArgs)
	}
}

// declaresStringVar reports whether package main of cmd/skill6pub declares
// a package-level string variable called name.
func declaresStringVar(t *testing.T, name string) bool {
	t.Helper()
	for _, f := range commandFiles(t) {
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, ident := range vs.Names {
					if ident.Name != name {
						continue
					}
					// Either `var version string` or `var version = "dev"`.
					if typ, ok := vs.Type.(*ast.Ident); ok && typ.Name == "string" {
						return true
					}
					if i < len(vs.Values) && vs.Type == nil {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// dockerIgnored reports whether the .dockerignore patterns exclude rel from
// the build context: a pattern matches a path or one of its parent
// directories, "!" re-includes, and the last matching pattern wins.
func dockerIgnored(patterns []string, rel string) bool {
	ignored := false
	for _, p := range patterns {
		negate := strings.HasPrefix(p, "!")
		p = filepath.Clean(strings.TrimPrefix(p, "!"))
		for path := rel; path != "."; path = filepath.Dir(path) {
			if ok, _ := filepath.Match(p, path); ok {
				ignored = !negate
				break
			}
		}
	}
	return ignored
}

func TestDockerignoreKeepsTheSourcesAndDropsSecrets(t *testing.T) {
	var patterns []string
	for _, line := range strings.Split(string(readFile(t, ".dockerignore")), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			if strings.Contains(line, "**") {
				t.Fatalf(".dockerignore: %q: this test does not model **", line)
			}
			patterns = append(patterns, line)
		}
	}
	for _, secret := range []string{".env", ".git/config", "state/.lock", "state/12.state"} {
		if !dockerIgnored(patterns, secret) {
			t.Errorf(".dockerignore lets %s into the build context", secret)
		}
	}
	for _, rel := range buildInputs(t) {
		if dockerIgnored(patterns, rel) {
			t.Errorf(".dockerignore drops %s, which the build needs", rel)
		}
	}
}

// buildInputs is what `go build ./cmd/skill6pub` may read: go.mod, go.sum,
// every non-test Go file and every file they embed with //go:embed.
func buildInputs(t *testing.T) []string {
	t.Helper()
	inputs := []string{"go.mod", "go.sum"}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if d.IsDir() && rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		inputs = append(inputs, rel)
		src := string(readFile(t, rel))
		for _, line := range strings.Split(src, "\n") {
			embeds, ok := strings.CutPrefix(strings.TrimSpace(line), "//go:embed ")
			if !ok {
				continue
			}
			for _, pattern := range strings.Fields(embeds) {
				// A pattern that matches nothing fails go build itself.
				matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), pattern))
				for _, m := range matches {
					r, _ := filepath.Rel(repoRoot, m)
					inputs = append(inputs, r)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return inputs
}
