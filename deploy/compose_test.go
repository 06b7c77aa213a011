package deploy

import (
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
)

// composeFile is the part of the compose specification docker-compose.yml
// uses. A key it does not declare fails decodeStrict: add the field here
// when the compose file needs a new key.
type composeFile struct {
	Services   map[string]composeService `yaml:"services"`
	Volumes    map[string]any            `yaml:"volumes"`
	Extensions map[string]any            `yaml:",inline"` // x-* blocks reused through YAML anchors
}

type composeService struct {
	Image           string                      `yaml:"image"`
	Build           *composeBuild               `yaml:"build"`
	Hostname        string                      `yaml:"hostname"`
	Command         []string                    `yaml:"command"`
	Profiles        []string                    `yaml:"profiles"`
	DependsOn       map[string]composeDependsOn `yaml:"depends_on"`
	Ports           []string                    `yaml:"ports"`
	Environment     map[string]string           `yaml:"environment"`
	Volumes         []string                    `yaml:"volumes"`
	Healthcheck     *composeHealthcheck         `yaml:"healthcheck"`
	StopGracePeriod string                      `yaml:"stop_grace_period"`
	ReadOnly        bool                        `yaml:"read_only"`
	CapDrop         []string                    `yaml:"cap_drop"`
	SecurityOpt     []string                    `yaml:"security_opt"`
	Restart         string                      `yaml:"restart"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

type composeDependsOn struct {
	Condition string `yaml:"condition"`
}

type composeHealthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

// The services docker-compose.yml must have.
const (
	kafkaService     = "kafka"
	simulatorService = "simulator"
	publisherService = "publisher"
)

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	decodeStrict(t, "docker-compose.yml", &c)
	for _, name := range []string{kafkaService, simulatorService, publisherService} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("docker-compose.yml has no %q service", name)
		}
	}
	return c
}

// resolvedEnvironment is a service's environment after interpolation, with
// dotEnv standing for the .env file (nil: no .env, every default applies).
func (s composeService) resolvedEnvironment(dotEnv map[string]string) map[string]string {
	env := make(map[string]string, len(s.Environment))
	for k, v := range s.Environment {
		env[k] = interpolate(v, dotEnv)
	}
	return env
}

// containerPorts maps each published container port to its host binding.
func (s composeService) containerPorts(t *testing.T) map[string]string {
	t.Helper()
	ports := make(map[string]string)
	for _, p := range s.Ports {
		parts := strings.Split(strings.TrimSuffix(p, "/tcp"), ":")
		if len(parts) != 3 {
			t.Fatalf("port %q: want HOST_IP:HOST_PORT:CONTAINER_PORT", p)
		}
		ports[parts[2]] = net.JoinHostPort(parts[0], parts[1])
	}
	return ports
}

func TestComposeGivesThePublisherOnlyVariablesItReads(t *testing.T) {
	known := publisherVariables()
	publisher := loadCompose(t).Services[publisherService]
	for _, name := range sortedKeys(publisher.Environment) {
		if !known[name] {
			t.Errorf("publisher: %s is not a variable of skill6pub (see skill6pub --help)", name)
		}
		for _, ref := range interpolations(publisher.Environment[name]) {
			// The name a user sets in .env is the name the service reads.
			if ref.Name != name {
				t.Errorf("publisher: %s is read from ${%s}; use the same name", name, ref.Name)
			}
		}
	}
}

func TestComposeGivesTheSimulatorOnlyVariablesItReads(t *testing.T) {
	known := simulatorVariables(t)
	simulator := loadCompose(t).Services[simulatorService]
	for _, name := range sortedKeys(simulator.Environment) {
		if !known[name] {
			t.Errorf("simulator: %s is not read by skill6pub simulate (it reads %v)", name, sortedKeys(known))
		}
		for _, ref := range interpolations(simulator.Environment[name]) {
			if ref.Name != name {
				t.Errorf("simulator: %s is read from ${%s}; use the same name", name, ref.Name)
			}
		}
	}
}

// The stack must start without a .env file, and with the one a user makes
// from .env.example.
func TestComposePublisherConfigurationLoads(t *testing.T) {
	publisher := loadCompose(t).Services[publisherService]
	dotEnv, _ := readDotEnv(t, ".env.example")
	for _, tc := range []struct {
		name   string
		dotEnv map[string]string
	}{
		{"without .env", nil},
		{"with .env.example as .env", dotEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConfig(t, publisher.resolvedEnvironment(tc.dotEnv))
			if !cfg.Kafka.CreateTopics || cfg.Kafka.TopicReplication != 1 {
				t.Errorf("one broker: want KAFKA_CREATE_TOPICS=true and KAFKA_TOPIC_REPLICATION_FACTOR=1, got %v and %d",
					cfg.Kafka.CreateTopics, cfg.Kafka.TopicReplication)
			}
			if cfg.Wolkvox.Token.IsZero() {
				t.Error("the publisher gets no WOLKVOX_TOKEN")
			}
		})
	}
}

// .env.example documents every variable the compose file reads, with the
// value the stack uses when it is unset, and nothing the compose file
// ignores (setting it in .env would do nothing).
func TestEnvExampleDocumentsEveryComposeVariable(t *testing.T) {
	compose := loadCompose(t)
	example, order := readDotEnv(t, ".env.example")

	defaults := make(map[string]string)
	for _, name := range sortedKeys(compose.Services) {
		s := compose.Services[name]
		for _, key := range sortedKeys(s.Environment) {
			for _, ref := range interpolations(s.Environment[key]) {
				if !ref.HasDefault {
					t.Errorf("%s: ${%s} has no default, so the stack needs a .env file to start", name, ref.Name)
				}
				if d, seen := defaults[ref.Name]; seen && d != ref.Default {
					t.Errorf("${%s} has two defaults: %q and %q", ref.Name, d, ref.Default)
				}
				defaults[ref.Name] = ref.Default
			}
		}
	}
	for _, name := range sortedKeys(defaults) {
		value, ok := example[name]
		switch {
		case !ok:
			t.Errorf(".env.example does not document %s, which docker-compose.yml reads", name)
		case value != defaults[name]:
			t.Errorf(".env.example: %s=%s, but the stack's default is %q", name, value, defaults[name])
		}
	}
	known := publisherVariables()
	for name := range simulatorVariables(t) {
		known[name] = true
	}
	for _, name := range order {
		if _, read := defaults[name]; !read {
			t.Errorf(".env.example sets %s, which docker-compose.yml never reads", name)
		}
		if !known[name] {
			t.Errorf(".env.example sets %s, which neither skill6pub nor its simulator reads", name)
		}
	}
}

func TestComposePublisherTalksToTheSimulatorByDefault(t *testing.T) {
	compose := loadCompose(t)
	simEnv := compose.Services[simulatorService].resolvedEnvironment(nil)
	cfg := loadConfig(t, compose.Services[publisherService].resolvedEnvironment(nil))

	u, err := url.Parse(cfg.Wolkvox.BaseURL)
	if err != nil || u.Scheme != "http" {
		t.Fatalf("WOLKVOX_BASE_URL=%q: want the simulator's http URL (%v)", cfg.Wolkvox.BaseURL, err)
	}
	if u.Path != fetch.Path {
		t.Errorf("WOLKVOX_BASE_URL path %s, want the API's %s", u.Path, fetch.Path)
	}
	simPort := listenPort(t, simEnv["SIM_ADDR"])
	if want := net.JoinHostPort(simulatorService, simPort); u.Host != want {
		t.Errorf("WOLKVOX_BASE_URL points at %s; the simulator listens at %s", u.Host, want)
	}
	if host, _, _ := net.SplitHostPort(simEnv["SIM_ADDR"]); host != "" && host != "0.0.0.0" {
		t.Errorf("SIM_ADDR=%s: the simulator must listen on every interface to be reached from other containers", simEnv["SIM_ADDR"])
	}
	if got, want := cfg.Wolkvox.Token.Reveal(), simEnv["SIM_TOKEN"]; got != want {
		t.Error("the publisher's default WOLKVOX_TOKEN is not the simulator's SIM_TOKEN: every call would be refused")
	}
	if simEnv["WOLKVOX_TIMEZONE"] != cfg.Wolkvox.TimeZone {
		t.Errorf("the simulator reads dates in %q, the publisher sends them in %q", simEnv["WOLKVOX_TIMEZONE"], cfg.Wolkvox.TimeZone)
	}
	if _, ok := compose.Services[simulatorService].containerPorts(t)[simPort]; !ok {
		t.Errorf("the simulator's port %s is not published to the host", simPort)
	}
	if _, ok := compose.Services[publisherService].DependsOn[simulatorService]; !ok {
		t.Error("the publisher does not depend on the simulator")
	}
}

// Every service that talks to Kafka waits until the broker answers.
func TestComposeServicesWaitForHealthyKafka(t *testing.T) {
	compose := loadCompose(t)
	for _, name := range sortedKeys(compose.Services) {
		if name == kafkaService {
			continue
		}
		s := compose.Services[name]
		usesKafka := false
		for _, v := range s.resolvedEnvironment(nil) {
			usesKafka = usesKafka || strings.Contains(v, kafkaService+":")
		}
		if !usesKafka {
			continue
		}
		if got := s.DependsOn[kafkaService].Condition; got != "service_healthy" {
			t.Errorf("%s uses Kafka but depends on it with condition %q, want service_healthy", name, got)
		}
	}
	if !slices.Contains(sortedKeys(compose.Services[publisherService].DependsOn), kafkaService) {
		t.Error("the publisher does not depend on kafka")
	}
}

// listeners parses a Kafka listener list ("NAME://host:port,...") into
// listener name -> host:port.
func listeners(t *testing.T, list string) map[string]string {
	t.Helper()
	byName := make(map[string]string)
	for _, l := range strings.Split(list, ",") {
		name, addr, ok := strings.Cut(l, "://")
		if !ok {
			t.Fatalf("listener %q: want NAME://host:port", l)
		}
		byName[name] = addr
	}
	return byName
}

var apacheKafkaTag = regexp.MustCompile(`^apache/kafka:(\d+)\.(\d+)\.(\d+)$`)

func TestComposeKafkaIsASingleKRaftNodeReachableFromHostAndContainers(t *testing.T) {
	compose := loadCompose(t)
	kafka := compose.Services[kafkaService]
	env := kafka.resolvedEnvironment(nil)

	m := apacheKafkaTag.FindStringSubmatch(kafka.Image)
	if m == nil {
		t.Fatalf("kafka image %q: want the official apache/kafka image pinned to a release (apache/kafka:X.Y.Z)", kafka.Image)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major < 3 || major == 3 && minor < 9 {
		t.Errorf("kafka image %s: want 3.9 or newer", kafka.Image)
	}
	if roles := strings.Split(env["KAFKA_PROCESS_ROLES"], ","); !slices.Contains(roles, "broker") || !slices.Contains(roles, "controller") {
		t.Errorf("KAFKA_PROCESS_ROLES=%q: a single KRaft node is broker and controller", env["KAFKA_PROCESS_ROLES"])
	}
	for name := range env {
		if strings.Contains(name, "ZOOKEEPER") {
			t.Errorf("%s: KRaft mode has no ZooKeeper", name)
		}
	}

	bound := listeners(t, env["KAFKA_LISTENERS"])
	advertised := listeners(t, env["KAFKA_ADVERTISED_LISTENERS"])
	published := kafka.containerPorts(t)
	var fromHost, fromContainers []string
	for name, addr := range advertised {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("advertised listener %s: %v", name, err)
		}
		if _, bport, _ := net.SplitHostPort(bound[name]); bport != port {
			t.Errorf("listener %s is advertised on port %s but bound on %q", name, port, bound[name])
		}
		switch host {
		case "localhost", "127.0.0.1":
			if hostBinding, ok := published[port]; !ok || !strings.HasSuffix(hostBinding, ":"+port) {
				t.Errorf("listener %s advertises %s, but port %s is published as %q", name, addr, port, hostBinding)
			}
			fromHost = append(fromHost, addr)
		case kafkaService:
			fromContainers = append(fromContainers, addr)
		}
	}
	if len(fromHost) == 0 || len(fromContainers) == 0 {
		t.Fatalf("KAFKA_ADVERTISED_LISTENERS=%q: want one listener for the host (localhost) and one for containers (%s)",
			env["KAFKA_ADVERTISED_LISTENERS"], kafkaService)
	}

	cfg := loadConfig(t, compose.Services[publisherService].resolvedEnvironment(nil))
	for _, broker := range cfg.Kafka.Brokers {
		if !slices.Contains(fromContainers, broker) {
			t.Errorf("KAFKA_BROKERS has %s; the broker advertises %v to containers", broker, fromContainers)
		}
	}
	for _, name := range sortedKeys(compose.Services) {
		for key, value := range compose.Services[name].resolvedEnvironment(nil) {
			for _, addr := range strings.Split(value, ",") {
				if name != kafkaService && strings.HasPrefix(addr, kafkaService+":") && !slices.Contains(fromContainers, addr) {
					t.Errorf("%s: %s=%s; the broker advertises %v to containers", name, key, value, fromContainers)
				}
			}
		}
	}

	// The healthcheck runs a script of the image against a listener of the
	// broker itself.
	hc := kafka.Healthcheck
	if hc == nil || len(hc.Test) < 2 || hc.Test[0] != "CMD" || !strings.HasPrefix(hc.Test[1], "/opt/kafka/bin/") {
		t.Fatalf("kafka healthcheck %+v: want [CMD, /opt/kafka/bin/<script>, ...]", hc)
	}
	i := slices.Index(hc.Test, "--bootstrap-server")
	if i < 0 || i+1 == len(hc.Test) {
		t.Fatalf("kafka healthcheck %v: no --bootstrap-server", hc.Test)
	}
	_, port, err := net.SplitHostPort(hc.Test[i+1])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := advertised[listenerOnPort(bound, port)]; !ok {
		t.Errorf("kafka healthcheck asks port %s, which no advertised listener binds (%v)", port, bound)
	}
	for _, d := range []string{hc.Interval, hc.Timeout, hc.StartPeriod} {
		if _, err := time.ParseDuration(d); err != nil {
			t.Errorf("kafka healthcheck: %v", err)
		}
	}

	// The log directory is a named volume, so topics survive `docker compose down`.
	if !mountsNamedVolume(compose, kafka, env["KAFKA_LOG_DIRS"]) {
		t.Errorf("KAFKA_LOG_DIRS=%q is not on a named volume", env["KAFKA_LOG_DIRS"])
	}
}

func listenerOnPort(bound map[string]string, port string) string {
	for name, addr := range bound {
		if _, p, _ := net.SplitHostPort(addr); p == port {
			return name
		}
	}
	return ""
}

// mountsNamedVolume reports whether s mounts a volume declared at the top
// level of the compose file at path.
func mountsNamedVolume(c composeFile, s composeService, path string) bool {
	for _, v := range s.Volumes {
		source, target, _ := strings.Cut(v, ":")
		if _, declared := c.Volumes[source]; declared && target == path {
			return true
		}
	}
	return false
}

func TestComposePublisherPortsVolumesAndShutdownLineUp(t *testing.T) {
	compose := loadCompose(t)
	publisher := compose.Services[publisherService]
	cfg := loadConfig(t, publisher.resolvedEnvironment(nil))

	if _, ok := publisher.containerPorts(t)[listenPort(t, cfg.Service.HTTPAddr)]; !ok {
		t.Errorf("HTTP_ADDR=%s, but that port is not published (%v)", cfg.Service.HTTPAddr, publisher.Ports)
	}
	// Two replicas share their state through the state topic only: no
	// volume, and the second is the first with its own host port.
	if cfg.Service.StateStore != "kafka" || len(publisher.Volumes) != 0 {
		t.Errorf("STATE_STORE=%s, volumes %v: want the state topic (kafka) and nothing on a volume", cfg.Service.StateStore, publisher.Volumes)
	}
	second, ok := compose.Services[publisherService+"-2"]
	if !ok {
		t.Fatalf("no second publisher (%s-2): the compose file runs two replicas", publisherService)
	}
	if !maps.Equal(second.Environment, publisher.Environment) || !slices.Equal(second.Command, publisher.Command) || second.Image != publisher.Image {
		t.Errorf("%s-2 is not configured as %s", publisherService, publisherService)
	}
	if _, clash := second.containerPorts(t)[listenPort(t, cfg.Service.HTTPAddr)]; !clash || slices.Equal(second.Ports, publisher.Ports) {
		t.Errorf("%s-2 ports %v: want its ops server on a host port of its own", publisherService, second.Ports)
	}
	grace, err := time.ParseDuration(publisher.StopGracePeriod)
	if err != nil {
		t.Fatalf("publisher stop_grace_period: %v", err)
	}
	if grace <= cfg.Service.ShutdownTimeout {
		t.Errorf("stop_grace_period %s is not longer than SHUTDOWN_TIMEOUT %s: docker kills the publisher mid-flush", grace, cfg.Service.ShutdownTimeout)
	}
	if publisher.Build == nil || publisher.Build.Context != "." || publisher.Build.Dockerfile != "Dockerfile" {
		t.Errorf("publisher build %+v: want the repository's Dockerfile", publisher.Build)
	}
}

func TestComposeContainersAreLockedDown(t *testing.T) {
	compose := loadCompose(t)
	for _, name := range []string{publisherService, simulatorService} {
		s := compose.Services[name]
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: want read_only, cap_drop ALL and no-new-privileges", name)
		}
	}
	for _, name := range sortedKeys(compose.Services) {
		for container, host := range compose.Services[name].containerPorts(t) {
			// Kafka here has no authentication: keep every port off the network.
			if h, _, _ := net.SplitHostPort(host); h != "127.0.0.1" {
				t.Errorf("%s publishes %s on %s; bind it to 127.0.0.1", name, container, host)
			}
		}
	}
}

var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+:[A-Za-z0-9._-]+$`)

func TestComposeImagesArePinnedAndTheUIIsOptional(t *testing.T) {
	compose := loadCompose(t)
	for _, name := range sortedKeys(compose.Services) {
		s := compose.Services[name]
		if s.Build != nil {
			continue // built from this repository
		}
		if !pinnedImage.MatchString(s.Image) || strings.HasSuffix(s.Image, ":latest") || strings.HasSuffix(s.Image, ":main") {
			t.Errorf("%s: image %q is not pinned to a release", name, s.Image)
		}
	}
	var optional []string
	for _, name := range sortedKeys(compose.Services) {
		if len(compose.Services[name].Profiles) > 0 {
			optional = append(optional, name)
		}
	}
	if len(optional) != 1 || !strings.Contains(compose.Services[optional[0]].Image, "kafka-ui") {
		t.Errorf("services under a profile: %v; want only the Kafka UI (the rest starts with a plain `up`)", optional)
	}
	for name := range compose.Extensions {
		if !strings.HasPrefix(name, "x-") {
			t.Errorf("docker-compose.yml: unknown top-level key %q", name)
		}
	}
}
