package deploy

import (
	"regexp"
	"strings"
	"testing"
)

// The README's commands name images, topics and ports that the compose file
// defines; they must not drift apart.
func TestReadmeSectionsMatchTheComposeFile(t *testing.T) {
	readme := string(readFile(t, "README.md"))
	compose := loadCompose(t)
	for _, heading := range []string{"## Run with Docker", "## Run on Kubernetes"} {
		if !strings.Contains(readme, "\n"+heading+"\n") && !strings.HasPrefix(readme, heading+"\n") {
			t.Errorf("README.md has no %q section", heading)
		}
	}
	if image := compose.Services[kafkaService].Image; !strings.Contains(readme, image) {
		t.Errorf("the README does not name the Kafka image the compose file runs, %s", image)
	}
	topic := compose.Services[publisherService].resolvedEnvironment(nil)["KAFKA_TOPIC"]
	for _, m := range regexp.MustCompile(`--topic (\S+)`).FindAllStringSubmatch(readme, -1) {
		if m[1] != topic && m[1] != topic+".state" {
			t.Errorf("the README reads topic %s; the publisher writes %s (and its state to %s.state)", m[1], topic, topic)
		}
	}
	hostPorts := make(map[string]string) // host port -> service
	for _, name := range sortedKeys(compose.Services) {
		for _, binding := range compose.Services[name].containerPorts(t) {
			hostPorts[binding[strings.LastIndex(binding, ":")+1:]] = name
		}
	}
	for _, m := range regexp.MustCompile(`http://localhost:(\d+)(/\S*)?`).FindAllStringSubmatch(readme, -1) {
		service, ok := hostPorts[m[1]]
		switch {
		case !ok:
			t.Errorf("the README opens %s, a port no service publishes", m[0])
		case strings.HasSuffix(m[2], "z") || m[2] == "/metrics":
			if service != publisherService && service != publisherService+"-2" {
				t.Errorf("the README asks %s of %s, not of the publisher", m[2], service)
			}
		}
	}
	for _, m := range regexp.MustCompile(`docker compose (?:logs -f|up -d|exec) ([a-z0-9-]+)`).FindAllStringSubmatch(readme, -1) {
		if _, ok := compose.Services[m[1]]; !ok {
			t.Errorf("the README names service %q, which docker-compose.yml does not have", m[1])
		}
	}
}
