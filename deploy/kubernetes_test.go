package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Kubernetes objects below model the fields the manifests use. A key
// they do not declare fails decodeStrict, which catches a misspelt field
// that kubectl would reject or, worse, drop: add the field here when a
// manifest needs it.

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type typeMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

type k8sConfigMap struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta        `yaml:"metadata"`
	Data     map[string]string `yaml:"data"`
}

type k8sSecret struct {
	typeMeta   `yaml:",inline"`
	Metadata   objectMeta        `yaml:"metadata"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
}

type k8sService struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		ClusterIP string            `yaml:"clusterIP"`
		Selector  map[string]string `yaml:"selector"`
		Ports     []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
			Protocol   string `yaml:"protocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sServiceMonitor struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Endpoints []struct {
			Port     string `yaml:"port"`
			Path     string `yaml:"path"`
			Interval string `yaml:"interval"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type k8sDeployment struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxSurge       *int `yaml:"maxSurge"`
				MaxUnavailable *int `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sPodDisruptionBudget struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		MinAvailable *int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	} `yaml:"spec"`
}

type podSpec struct {
	AutomountServiceAccountToken  *bool `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds int   `yaml:"terminationGracePeriodSeconds"`
	TopologySpreadConstraints     []struct {
		MaxSkew           int    `yaml:"maxSkew"`
		TopologyKey       string `yaml:"topologyKey"`
		WhenUnsatisfiable string `yaml:"whenUnsatisfiable"`
		LabelSelector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	SecurityContext struct {
		RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
		RunAsUser      *int  `yaml:"runAsUser"`
		RunAsGroup     *int  `yaml:"runAsGroup"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Volumes    []any       `yaml:"volumes"`
	Containers []container `yaml:"containers"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Args            []string `yaml:"args"`
	EnvFrom         []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			ResourceFieldRef *struct {
				Resource string `yaml:"resource"`
			} `yaml:"resourceFieldRef"`
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	TimeoutSeconds   int `yaml:"timeoutSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type kustomization struct {
	typeMeta  `yaml:",inline"`
	Namespace string `yaml:"namespace"`
	Labels    []struct {
		Pairs map[string]string `yaml:"pairs"`
	} `yaml:"labels"`
	Resources []string         `yaml:"resources"`
	Images    []kustomizeImage `yaml:"images"`
}

type kustomizeImage struct {
	Name    string `yaml:"name"`
	NewName string `yaml:"newName"`
	NewTag  string `yaml:"newTag"`
}

// manifests is every file of deploy/kubernetes, decoded.
type manifests struct {
	Kustomization  kustomization
	ConfigMap      k8sConfigMap
	SecretExample  k8sSecret
	Service        k8sService
	ServiceMonitor k8sServiceMonitor
	Deployment     k8sDeployment
	PDB            k8sPodDisruptionBudget
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	var m manifests
	for file, v := range map[string]any{
		"kustomization.yaml":  &m.Kustomization,
		"configmap.yaml":      &m.ConfigMap,
		"secret.example.yaml": &m.SecretExample,
		"service.yaml":        &m.Service,
		"servicemonitor.yaml": &m.ServiceMonitor,
		"deployment.yaml":     &m.Deployment,
		"pdb.yaml":            &m.PDB,
	} {
		decodeStrict(t, filepath.Join("deploy", "kubernetes", file), v)
	}
	for file, tm := range map[string]typeMeta{
		"kustomization.yaml":  m.Kustomization.typeMeta,
		"configmap.yaml":      m.ConfigMap.typeMeta,
		"secret.example.yaml": m.SecretExample.typeMeta,
		"service.yaml":        m.Service.typeMeta,
		"servicemonitor.yaml": m.ServiceMonitor.typeMeta,
		"deployment.yaml":     m.Deployment.typeMeta,
		"pdb.yaml":            m.PDB.typeMeta,
	} {
		want := map[string]typeMeta{
			"kustomization.yaml":  {"kustomize.config.k8s.io/v1beta1", "Kustomization"},
			"configmap.yaml":      {"v1", "ConfigMap"},
			"secret.example.yaml": {"v1", "Secret"},
			"service.yaml":        {"v1", "Service"},
			"servicemonitor.yaml": {"monitoring.coreos.com/v1", "ServiceMonitor"},
			"deployment.yaml":     {"apps/v1", "Deployment"},
			"pdb.yaml":            {"policy/v1", "PodDisruptionBudget"},
		}[file]
		if tm != want {
			t.Errorf("%s: %+v, want %+v", file, tm, want)
		}
	}
	if n := len(m.Deployment.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("deployment.yaml: %d containers, want the publisher alone", n)
	}
	return m
}

func (m manifests) publisher() container { return m.Deployment.Spec.Template.Spec.Containers[0] }

// environment is what the publisher's container sees: the ConfigMap, then
// the Secret (as secret.example.yaml fills it), then the container's own
// env, later ones winning as in Kubernetes.
func (m manifests) environment(t *testing.T) map[string]string {
	t.Helper()
	env := make(map[string]string)
	for _, from := range m.publisher().EnvFrom {
		switch {
		case from.ConfigMapRef != nil && from.ConfigMapRef.Name == m.ConfigMap.Metadata.Name:
			for k, v := range m.ConfigMap.Data {
				env[k] = v
			}
		case from.SecretRef != nil && from.SecretRef.Name == m.SecretExample.Metadata.Name:
			for k, v := range m.SecretExample.StringData {
				env[k] = v
			}
		default:
			t.Fatalf("envFrom %+v names neither configmap.yaml nor secret.example.yaml", from)
		}
	}
	for _, e := range m.publisher().Env {
		env[e.Name] = e.Value
	}
	return env
}

func TestKubernetesGivesThePublisherOnlyVariablesItReads(t *testing.T) {
	m := loadManifests(t)
	known := publisherVariables()
	check := func(where string, names []string) {
		for _, name := range names {
			if !known[name] {
				t.Errorf("%s: %s is not a variable of skill6pub (see skill6pub --help)", where, name)
			}
		}
	}
	check("configmap.yaml", sortedKeys(m.ConfigMap.Data))
	check("secret.example.yaml", sortedKeys(m.SecretExample.StringData))
	var envNames []string
	for _, e := range m.publisher().Env {
		if e.Name != "GOMEMLIMIT" { // the Go runtime's, see TestGoMemoryLimitFollowsTheContainerLimit
			envNames = append(envNames, e.Name)
		}
	}
	check("deployment.yaml env", envNames)
	loadConfig(t, m.environment(t))
}

func TestSecretHoldsTheToken(t *testing.T) {
	m := loadManifests(t)
	if _, ok := m.SecretExample.StringData["WOLKVOX_TOKEN"]; !ok {
		t.Error("secret.example.yaml has no WOLKVOX_TOKEN")
	}
	for _, secret := range []string{"WOLKVOX_TOKEN", "DNIS_HMAC_KEY", "KAFKA_SASL_PASSWORD"} {
		if _, ok := m.ConfigMap.Data[secret]; ok {
			t.Errorf("configmap.yaml holds %s; secrets go in the Secret", secret)
		}
		for _, e := range m.publisher().Env {
			if e.Name == secret {
				t.Errorf("deployment.yaml sets %s in plain text", secret)
			}
		}
	}
	readsSecret := false
	for _, from := range m.publisher().EnvFrom {
		readsSecret = readsSecret || from.SecretRef != nil && from.SecretRef.Name == m.SecretExample.Metadata.Name
	}
	if !readsSecret {
		t.Errorf("the publisher does not read the Secret %q", m.SecretExample.Metadata.Name)
	}
	// The example is documentation: re-applying the kustomization must not
	// overwrite the real Secret with placeholders.
	if slices.Contains(m.Kustomization.Resources, "secret.example.yaml") {
		t.Error("kustomization.yaml applies secret.example.yaml")
	}
	if m.SecretExample.Metadata.Namespace != m.Kustomization.Namespace {
		t.Errorf("secret.example.yaml is in namespace %q, the kustomization in %q", m.SecretExample.Metadata.Namespace, m.Kustomization.Namespace)
	}

	// The README's command creates that Secret, with the token, in that namespace.
	create := regexp.MustCompile(`kubectl -n (\S+) create secret generic (\S+)((?:\s*\\?\s*--from-literal=\S+)+)`)
	found := create.FindStringSubmatch(string(readFile(t, "README.md")))
	if found == nil {
		t.Fatal("README.md has no `kubectl -n NS create secret generic NAME --from-literal=...` step")
	}
	if found[1] != m.Kustomization.Namespace || found[2] != m.SecretExample.Metadata.Name {
		t.Errorf("the README creates secret %s/%s; the Deployment reads %s/%s", found[1], found[2], m.Kustomization.Namespace, m.SecretExample.Metadata.Name)
	}
	if !strings.Contains(found[3], "--from-literal=WOLKVOX_TOKEN=") {
		t.Errorf("the README's secret has no WOLKVOX_TOKEN: %s", found[0])
	}
}

func TestDeploymentRunsReplicasWithoutAVolume(t *testing.T) {
	m := loadManifests(t)
	d := m.Deployment.Spec
	pod := d.Template.Spec
	c := m.publisher()
	cfg := loadConfig(t, m.environment(t))

	// The state is in the state topic and one replica is elected: two
	// replicas, one standing by, and nothing on a volume.
	if cfg.Service.StateStore != "kafka" {
		t.Errorf("STATE_STORE=%s: replicas share their state through the state topic only (kafka)", cfg.Service.StateStore)
	}
	if d.Replicas == nil || *d.Replicas < 2 {
		t.Errorf("replicas %s, want at least 2: one active, one standing by", describeInt(d.Replicas))
	}
	if len(pod.Volumes) != 0 || len(c.VolumeMounts) != 0 {
		t.Errorf("volumes %v, mounts %v: the state is in Kafka, nothing on a volume", pod.Volumes, c.VolumeMounts)
	}
	if ru := d.Strategy.RollingUpdate; d.Strategy.Type != "RollingUpdate" || ru.MaxUnavailable == nil || *ru.MaxUnavailable != 0 {
		t.Errorf("strategy %+v: want RollingUpdate with maxUnavailable 0, so that a replica is always up to take over", d.Strategy)
	}
	pdb := m.PDB.Spec
	if pdb.MinAvailable == nil || *pdb.MinAvailable < 1 || d.Replicas != nil && *pdb.MinAvailable >= *d.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %s: want at least 1 and fewer than the %s replicas", describeInt(pdb.MinAvailable), describeInt(d.Replicas))
	}
	if !subset(pdb.Selector.MatchLabels, d.Template.Metadata.Labels) {
		t.Errorf("the PodDisruptionBudget selects %v, the pods have %v", pdb.Selector.MatchLabels, d.Template.Metadata.Labels)
	}
	instance := false
	for _, e := range c.Env {
		instance = instance || e.Name == "INSTANCE_ID" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name"
	}
	if !instance {
		t.Error("INSTANCE_ID is not the pod's name (fieldRef metadata.name): the state topic's saves would not say which pod wrote them")
	}

	uid := imageUID(t)
	sc := pod.SecurityContext
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != uid {
		t.Errorf("pod securityContext: want runAsNonRoot and runAsUser %d (the image's user)", uid)
	}
	if sc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod seccompProfile %q, want RuntimeDefault", sc.SeccompProfile.Type)
	}
	csc := c.SecurityContext
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Error("container: want readOnlyRootFilesystem (it writes nowhere: the state is in Kafka)")
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("container: want allowPrivilegeEscalation false")
	}
	if csc.RunAsNonRoot == nil || !*csc.RunAsNonRoot || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Error("container: want runAsNonRoot and every capability dropped")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the publisher does not talk to the Kubernetes API: want automountServiceAccountToken false")
	}
	for _, res := range []string{"cpu", "memory"} {
		if c.Resources.Requests[res] == "" || c.Resources.Limits[res] == "" {
			t.Errorf("resources: want a request and a limit for %s, got %+v", res, c.Resources)
		}
	}
	if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= cfg.Service.ShutdownTimeout {
		t.Errorf("terminationGracePeriodSeconds %s is not longer than SHUTDOWN_TIMEOUT %s", grace, cfg.Service.ShutdownTimeout)
	}
	if cmd := c.Args; !slices.Equal(cmd, []string{"run"}) {
		t.Errorf("args %v, want [run]", cmd)
	}
}

func TestProbesAndMetricsUseTheOpsPort(t *testing.T) {
	m := loadManifests(t)
	c := m.publisher()
	cfg := loadConfig(t, m.environment(t))
	port := listenPort(t, cfg.Service.HTTPAddr)

	var portName string
	for _, p := range c.Ports {
		if strconv.Itoa(p.ContainerPort) == port {
			portName = p.Name
		}
	}
	if portName == "" {
		t.Fatalf("HTTP_ADDR=%s, but the container declares no port %s (%+v)", cfg.Service.HTTPAddr, port, c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *probe
		path  string
	}{
		{"startupProbe", c.StartupProbe, "/healthz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe on %s", p.name, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != portName && p.probe.HTTPGet.Port != port {
			t.Errorf("%s: GET %s on port %s, want %s on %s", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port, p.path, portName)
		}
	}

	pod := m.Deployment.Spec.Template.Metadata
	if a := pod.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != port || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("pod annotations %v: want prometheus.io/scrape true, port %s, path /metrics", a, port)
	}

	svc := m.Service
	if svc.Spec.ClusterIP != "None" {
		t.Errorf("service %q: want a headless service, so that every replica is scraped", svc.Metadata.Name)
	}
	if !subset(svc.Spec.Selector, pod.Labels) || !subset(m.Deployment.Spec.Selector.MatchLabels, pod.Labels) {
		t.Errorf("selectors %v and %v do not select the pod's labels %v", svc.Spec.Selector, m.Deployment.Spec.Selector.MatchLabels, pod.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != portName {
		t.Fatalf("service ports %+v: want one, targeting %s", svc.Spec.Ports, portName)
	}
	sm := m.ServiceMonitor.Spec
	if !subset(sm.Selector.MatchLabels, svc.Metadata.Labels) {
		t.Errorf("the ServiceMonitor selects %v, the service has %v", sm.Selector.MatchLabels, svc.Metadata.Labels)
	}
	if len(sm.Endpoints) != 1 || sm.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v: want /metrics on port %s", sm.Endpoints, svc.Spec.Ports[0].Name)
	}
}

func describeInt(p *int) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(*p)
}

func subset(want, have map[string]string) bool {
	if len(want) == 0 {
		return false
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func TestKustomizationAppliesTheManifests(t *testing.T) {
	m := loadManifests(t)
	k := m.Kustomization
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(repoRoot, "deploy", "kubernetes", r)); err != nil {
			t.Errorf("kustomization resource: %v", err)
		}
	}
	for _, want := range []string{"configmap.yaml", "service.yaml", "deployment.yaml", "pdb.yaml"} {
		if !slices.Contains(k.Resources, want) {
			t.Errorf("kustomization.yaml does not apply %s", want)
		}
	}
	// The ServiceMonitor needs the Prometheus Operator's CRD: applying it
	// by default would fail on clusters without it.
	if slices.Contains(k.Resources, "servicemonitor.yaml") {
		t.Error("kustomization.yaml applies servicemonitor.yaml")
	}
	if k.Namespace == "" {
		t.Error("kustomization.yaml sets no namespace")
	}
	image := m.publisher().Image
	// One image, so that the README's sed of newName and newTag is exact.
	if len(k.Images) != 1 || k.Images[0].Name != image || k.Images[0].NewName == "" || k.Images[0].NewTag == "" || k.Images[0].NewTag == "latest" {
		t.Errorf("kustomization.yaml: want one images entry pinning %q, got %+v", image, k.Images)
	}
}

// The Go runtime does not read the container's memory limit: GOMEMLIMIT
// must come from it, so that the garbage collector works harder near the
// limit instead of the container being killed.
func TestGoMemoryLimitFollowsTheContainerLimit(t *testing.T) {
	m := loadManifests(t)
	for _, e := range m.publisher().Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil || e.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
			t.Errorf("GOMEMLIMIT is %q, want it from resourceFieldRef limits.memory", e.Value)
		}
		return
	}
	t.Error("deployment.yaml sets no GOMEMLIMIT")
}
