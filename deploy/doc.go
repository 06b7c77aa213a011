// Package deploy checks skill6pub's packaging without a container engine:
// the Dockerfile, docker-compose.yml, .env.example and the Kubernetes
// manifests in deploy/kubernetes. Its tests parse those files and hold them
// to the service they package: every variable they give the publisher is
// one it reads (config.Variables), and that configuration loads; ports,
// volumes, probe paths and the state directory line up across the files;
// services wait for a healthy Kafka; containers run as non-root.
//
// The package has no code of its own: the files it checks live at the
// repository root and under deploy/kubernetes.
package deploy
