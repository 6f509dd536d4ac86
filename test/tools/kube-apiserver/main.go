// Command kube-apiserver is the upstream API server, built from the k8s.io/kubernetes module
// so the integration tests run against the real thing (no Docker, no downloaded binaries).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
