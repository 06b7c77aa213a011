package deploy

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/skill6pub/skill6pub/config"
)

// repoRoot is the repository root, seen from this package's directory
// (go test runs a package's tests in its own directory).
const repoRoot = ".."

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeStrict decodes one YAML document into v and fails on any key that v
// does not declare, so that a misspelt key (readinesProbe, depend_on) fails
// the test instead of being ignored as it would be by the real tools.
func decodeStrict(t *testing.T, rel string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, rel)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// publisherVariables is every environment variable the publisher reads.
func publisherVariables() map[string]bool {
	known := make(map[string]bool)
	for _, name := range config.Variables() {
		known[name] = true
	}
	return known
}

// commandFiles parses the non-test Go files of cmd/skill6pub.
func commandFiles(t *testing.T) []*ast.File {
	t.Helper()
	dir := filepath.Join(repoRoot, "cmd", "skill6pub")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// simulatorCommand is the function of cmd/skill6pub that reads the
// simulator's environment.
const simulatorCommand = "simulate"

var variableName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// simulatorVariables is every environment variable `skill6pub simulate`
// reads: the variable-shaped string arguments of the calls in its function
// (flag defaults such as f.str("addr", "SIM_ADDR", ...) and getenv calls).
func simulatorVariables(t *testing.T) map[string]bool {
	t.Helper()
	names := make(map[string]bool)
	for _, f := range commandFiles(t) {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name != simulatorCommand {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				for _, arg := range call.Args {
					if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil && variableName.MatchString(s) {
							names[s] = true
						}
					}
				}
				return true
			})
		}
	}
	if len(names) == 0 {
		t.Fatalf("no environment variable found in func %s of cmd/skill6pub: where does `skill6pub simulate` read its environment?", simulatorCommand)
	}
	return names
}

// loadConfig loads the publisher's configuration from exactly env, the way
// the service does in its container, and checks what can be checked
// without connecting anywhere.
func loadConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	for _, name := range config.Variables() {
		if old, ok := os.LookupEnv(name); ok {
			t.Setenv(name, old) // restores it after the test
			if err := os.Unsetenv(name); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, value := range env {
		t.Setenv(name, value)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatalf("the publisher rejects this configuration: %v", err)
	}
	if err := cfg.Schedule.Validate(); err != nil {
		t.Fatalf("the publisher rejects this schedule: %v", err)
	}
	return cfg
}

// interpolation is one ${NAME}, ${NAME:-default} or ${NAME-default} in a
// compose file.
type interpolation struct {
	Name       string
	Default    string
	HasDefault bool
}

var interpolationPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}`)

func interpolations(s string) []interpolation {
	var found []interpolation
	for _, m := range interpolationPattern.FindAllStringSubmatch(s, -1) {
		found = append(found, interpolation{Name: m[1], Default: m[3], HasDefault: m[2] != ""})
	}
	return found
}

// interpolate resolves s as compose does, with env standing for .env and
// the shell: ${X:-d} is d when X is unset or empty, ${X-d} only when unset.
func interpolate(s string, env map[string]string) string {
	return interpolationPattern.ReplaceAllStringFunc(s, func(ref string) string {
		m := interpolationPattern.FindStringSubmatch(ref)
		value, set := env[m[1]]
		switch {
		case m[2] == ":-" && value == "":
			return m[3]
		case m[2] == "-" && !set:
			return m[3]
		}
		return value
	})
}

// readDotEnv parses a .env file as compose does for the simple form used
// here: KEY=VALUE lines, # comments, no quoting.
func readDotEnv(t *testing.T, rel string) (map[string]string, []string) {
	t.Helper()
	values := make(map[string]string)
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, rel)))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			t.Fatalf("%s:%d: want KEY=VALUE, got %q", rel, line, text)
		}
		if _, dup := values[key]; dup {
			t.Errorf("%s:%d: %s is set twice", rel, line, key)
		}
		if strings.ContainsAny(value, `"'`) {
			t.Errorf("%s:%d: quotes are read differently by compose versions; leave %s unquoted", rel, line, key)
		}
		values[key] = value
		order = append(order, key)
	}
	return values, order
}

// listenPort is the port of a listen address such as ":8080".
func listenPort(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return port
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
